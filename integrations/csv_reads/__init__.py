"""The Utilis CSV read layout (one row per interval or register read): parser and writer.
Layout: docs/import-formats.md."""
