"""sfacal.sources."""
