"""SFA source connections: JUST.SFA settings and user mapping (J1–J3), push API tokens."""
