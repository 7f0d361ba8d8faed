"""sfacal.web.accounts."""
