"""Analytics: every run and post recorded in the metadata database, exported to Parquet, read with DuckDB."""
