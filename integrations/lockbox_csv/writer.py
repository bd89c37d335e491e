"""Write the Utilis CSV remittance layout (the demo's lockbox file, tests, benches)."""
from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from integrations.lockbox_csv.layout import COLUMNS


@dataclass(frozen=True)
class LockboxItem:
    account_number: str
    amount: Decimal
    paid_date: dt.date
    item_reference: str
    tender_type: str = "cheque"
    payer_name: str = ""


def write_lockbox_csv(items: Iterable[LockboxItem]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    for item in items:
        writer.writerow([item.account_number, f"{item.amount:.2f}", item.paid_date.isoformat(), item.item_reference,
                         item.tender_type, item.payer_name])
    return out.getvalue()
