"""sfacal.sources.csv."""
