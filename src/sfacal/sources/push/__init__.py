"""sfacal.sources.push."""
