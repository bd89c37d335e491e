"""The scan line printed on the bill's remittance stub (docs/payments.md "Scan line"), read back
from lockbox files as the customer reference.

Layout: 21 digits = the account number's digits, zero-padded to 10; the amount due in cents,
zero-padded to 10 (a credit balance prints 0); one check digit, Luhn (mod 10, weights 2,1 from
the right) over the 20 digits before it. Printed in groups "0001000001 0000012500 7"; spaces
and dashes are ignored when read."""
from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal

ACCOUNT_DIGITS = 10
AMOUNT_DIGITS = 10
LENGTH = ACCOUNT_DIGITS + AMOUNT_DIGITS + 1


def luhn_check_digit(digits: str) -> str:
    """The digit that makes `digits` + it pass the Luhn check."""
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2 == 0:  # the rightmost payload digit is doubled (the check digit will sit right of it)
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return str((10 - total % 10) % 10)


def scan_line(*, account_number: str, amount_due: Decimal) -> str:
    """The stub's scan line, grouped for printing. Raises ValueError for an account number of
    more than 10 digits (it could not be read back)."""
    account = re.sub(r"\D", "", account_number)
    if not account or len(account) > ACCOUNT_DIGITS:
        raise ValueError(f"Account number {account_number!r} does not fit a scan line.")
    cents = max(int((amount_due * 100).to_integral_value()), 0)
    payload = account.zfill(ACCOUNT_DIGITS) + str(min(cents, 10**AMOUNT_DIGITS - 1)).zfill(AMOUNT_DIGITS)
    return f"{payload[:ACCOUNT_DIGITS]} {payload[ACCOUNT_DIGITS:]} {luhn_check_digit(payload)}"


@dataclass(frozen=True)
class ScanLine:
    account_digits: str  # leading zeros removed
    amount_due: Decimal
    check_digit: str
    expected: str

    @property
    def valid(self) -> bool:
        return self.check_digit == self.expected


def scan_line_read(text: str) -> ScanLine | None:
    """The scan line `text` is (spaces and dashes ignored), valid or not; None when it is not
    21 digits (then it is an account number as written)."""
    compact = re.sub(r"[\s-]", "", text or "")
    if len(compact) != LENGTH or not compact.isdigit():
        return None
    payload = compact[:-1]
    return ScanLine(account_digits=payload[:ACCOUNT_DIGITS].lstrip("0"),
                    amount_due=Decimal(int(payload[ACCOUNT_DIGITS:])).scaleb(-2),
                    check_digit=compact[-1], expected=luhn_check_digit(payload))
