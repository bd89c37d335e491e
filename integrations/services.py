"""integrations' public API for other apps: writing read files in the formats the import
parses. A head-end simulator, the demo, benchmarks and tests produce files with these, so what
they write is exactly what integrations/<format>/parser reads back.

write_cmep_intervals(blocks, *, sender, receiver, created_at, tz, purpose, commodity, explicit_times) -> str
    CMEP interval records (MEPMD01) for mdm.records.IntervalBlock values.
write_cmep_registers(reads, *, sender, receiver, created_at, tz, purpose, commodity) -> str
    CMEP register records for mdm.records.ParsedRegisterRead values.
write_csv(*, blocks, registers, tz) -> str
    The Utilis CSV read layout: one row per interval, then one per register read.
write_lockbox_csv(items: LockboxItem...) -> str
    The Utilis CSV remittance (lockbox) layout, read back by billing's remittance import.
write_bai2_lockbox(items: LockboxItem..., *, as_of, file_id, account, sender, receiver) -> str
    A BAI2 file of the items as credit details, read back by integrations/bai2_lockbox.
write_greenbutton(feed) -> bytes, espi_schema(directory)
    Green Button Download My Data (NAESB ESPI Atom XML) from greenbutton.Feed values, and a
    validator built from the ESPI schema files.

Parsing goes the other way through mdm.importing (the format registry), never from here."""
from integrations.bai2_lockbox.writer import write_bai2_lockbox
from integrations.cmep.writer import write_cmep_intervals, write_cmep_registers
from integrations.csv_reads.writer import write_csv
from integrations.lockbox_csv.writer import LockboxItem, write_lockbox_csv
from integrations.greenbutton import (
    BillingSummary as GreenButtonBillingSummary,
)
from integrations.greenbutton import Feed as GreenButtonFeed
from integrations.greenbutton import Interval as GreenButtonInterval
from integrations.greenbutton import Reading as GreenButtonReading
from integrations.greenbutton import UsagePoint as GreenButtonUsagePoint
from integrations.greenbutton import espi_schema, resource_uuid, write_greenbutton

__all__ = [
    "LockboxItem", "write_bai2_lockbox", "write_cmep_intervals", "write_cmep_registers", "write_csv", "write_lockbox_csv",
    "GreenButtonBillingSummary", "GreenButtonFeed", "GreenButtonInterval", "GreenButtonReading",
    "GreenButtonUsagePoint", "espi_schema", "resource_uuid", "write_greenbutton",
]
