"""CSV import tests."""
