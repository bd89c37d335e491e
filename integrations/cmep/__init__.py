"""CMEP (California Metering Exchange Protocol) MEPMD01 metering data records: parser and
writer. Layout, code mappings and conventions: docs/import-formats.md."""
