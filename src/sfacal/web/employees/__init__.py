"""Employees and their sync settings (E1–E6, P1–P4)."""
