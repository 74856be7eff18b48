"""Textual screens: one module (and one .tcss) per screen. No SQL here: screens call services."""
