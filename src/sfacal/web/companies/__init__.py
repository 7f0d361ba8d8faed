"""The company screens: basic settings with "save and test" (C1–C8), masters (C9), companies (U1)."""
