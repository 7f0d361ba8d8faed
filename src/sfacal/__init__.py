"""sfacal: mirror SFA schedules into Microsoft 365 calendars."""

__version__ = "0.1.0"
