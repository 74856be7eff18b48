"""The one error the report writers raise for a problem the user can fix."""

from __future__ import annotations


class ReportError(ValueError):
    """A document cannot be built or written; ``str()`` says why, fit to show a nurse.

    The message names the problem (a missing folder, a folder where a file
    name was expected) but never quotes patient text: it may end up on screen.
    """


__all__ = ["ReportError"]
