"""The Utilis CSV remittance (lockbox) layout: docs/payments.md "Lockbox CSV layout".
`register()` (IntegrationsConfig.ready) puts its parser into billing's remittance registry."""
from __future__ import annotations

from billing.services import RemittanceFormat, register_remittance_format
from integrations.lockbox_csv.parser import parse_lockbox_csv


def register() -> None:
    register_remittance_format(RemittanceFormat(key="lockbox-csv", title="Utilis CSV remittance (lockbox) layout",
                                                parser=parse_lockbox_csv, file_suffixes=(".csv",)))
