"""Push API tests."""
