"""Employees: an SFA user and how their schedules are mirrored (E1–E6, P1–P4)."""
