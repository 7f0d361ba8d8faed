"""sfacal.calendars."""
