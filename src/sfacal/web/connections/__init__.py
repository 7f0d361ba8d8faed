"""The screens of the SFA connections: JUST.SFA (J1–J3), push API tokens and write-back."""
