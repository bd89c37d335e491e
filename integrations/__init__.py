"""Outside protocols, one folder each (see `integrations.registry` for the list).

Read parsers turn a partner's file into `mdm.records` values and never touch the database;
`mdm` owns staging, deduplication against stored data and the quarantine."""
