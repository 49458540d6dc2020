"""The ingest pipeline: fetch -> parse -> store -> publish. No web imports here."""
