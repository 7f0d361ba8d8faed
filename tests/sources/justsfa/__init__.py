"""Tests of the JUST.SFA source (J1–J4, T1)."""
