"""Write a BAI2 lockbox file of credit details (benches, tests, the demo): one group (as-of
date = the paid date of every item) and one account, a type 115 (lockbox deposit) or, for EFT
items, 165 (preauthorised ACH credit) detail per item, and the control totals and record
counts the parser checks."""
from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from integrations.lockbox_csv.writer import LockboxItem


def _cents(item: LockboxItem) -> int:
    return int((item.amount * 100).to_integral_value())


def write_bai2_lockbox(items: Iterable[LockboxItem], *, as_of: dt.date, file_id: str = "1",
                       account: str = "0012345678", sender: str = "BANKCA", receiver: str = "UTILIS") -> str:
    """The items as a BAI2 file. The customer reference of each detail is its account number
    (or scan line); the bank reference its item reference; the text its payer name."""
    day = as_of.strftime("%y%m%d")
    details = []
    total = 0
    for item in items:
        cents = _cents(item)
        total += cents
        code = "165" if item.tender_type == "eft" else "115"
        details.append(f"16,{code},{cents},Z,{item.item_reference},{item.account_number},{item.payer_name}/")
    account_records = [f"03,{account},CAD/", *details, f"49,{total},{len(details) + 2}/"]
    group = [f"02,{receiver},{sender},1,{day},0600,CAD,2/", *account_records,
             f"98,{total},1,{len(account_records) + 2}/"]
    records = [f"01,{sender},{receiver},{day},0600,{file_id},80,,2/", *group, f"99,{total},1,{len(group) + 2}/"]
    return "\n".join(records) + "\n"
