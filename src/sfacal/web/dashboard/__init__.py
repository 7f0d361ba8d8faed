"""sfacal.web.dashboard."""
