"""Companies: a company, its sync settings (C1–C9), masters, memberships and roles, the audit trail."""
