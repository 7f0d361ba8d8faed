"""Companies: company settings (C1–C9), masters, memberships and the audit trail."""
