"""sfacal.web."""
