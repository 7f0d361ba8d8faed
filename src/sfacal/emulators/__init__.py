"""sfacal.emulators."""
