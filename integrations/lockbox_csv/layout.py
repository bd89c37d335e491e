"""The columns of the Utilis CSV remittance layout, in order (the header line names them)."""
from __future__ import annotations

COLUMNS = ("account_number", "amount", "paid_date", "item_reference", "tender_type", "payer_name")
TENDERS = {"cheque": "cheque", "check": "cheque", "eft": "eft"}
DEFAULT_TENDER = "cheque"
MAX_REFERENCE = 100
