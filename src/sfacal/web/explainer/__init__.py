"""The explainer screens: why a schedule is (or is not) in a calendar (:mod:`.views`)."""
