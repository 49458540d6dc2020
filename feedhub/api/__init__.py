"""HTTP layer: thin Litestar controllers over the catalog and article queries."""
