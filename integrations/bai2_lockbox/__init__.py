"""BAI2 lockbox / cash-management files (docs/payments.md "BAI2 lockbox files"), read with the
`bai2` package. `register()` (IntegrationsConfig.ready) puts the parser into billing's
remittance registry."""
from __future__ import annotations

from billing.services import RemittanceFormat, register_remittance_format
from integrations.bai2_lockbox.parser import parse_bai2


def register() -> None:
    register_remittance_format(RemittanceFormat(key="bai2", title="BAI2 lockbox / cash-management file",
                                                parser=parse_bai2, file_suffixes=(".bai", ".bai2", ".txt")))
