"""sfacal.web.logs."""
