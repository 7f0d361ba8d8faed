"""The audit trail screen: who changed which setting, when, from what to what (:mod:`.views`)."""
