"""Reusable widgets shared by the screens (the virtual caseload table, badges, sparklines)."""
