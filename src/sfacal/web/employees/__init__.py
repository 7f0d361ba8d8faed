"""The employee screens (E1–E6), the personal sync settings (P1–P4) and the mirrored events."""
