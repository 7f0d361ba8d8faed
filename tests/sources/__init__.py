"""Tests of the SFA sources."""
