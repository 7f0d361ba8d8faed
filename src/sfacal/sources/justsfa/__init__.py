"""sfacal.sources.justsfa."""
