"""Statements built once per shape and reused with other values.

Building an SQLAlchemy statement costs more Python than running it on a page
of rows. The hot reads (the caseload's page, probe and count on every search
keystroke; the flags of the patients listed) run the same statements again
and again with other values, so they take those values as bound parameters
and are kept here by their shape: everything else the statement depends on.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Any


class StatementCache:
    """Statements kept by shape; when ``most`` are kept, the next new shape starts afresh.

    Starting afresh rather than evicting one by one keeps this trivial: the
    shapes in use are few (a search's, a day's) and rebuilt on their next use.
    """

    def __init__(self, most: int) -> None:
        self.most = most
        self._statements: dict[Hashable, Any] = {}

    def get(self, key: Hashable, build: Callable[[], Any]) -> Any:
        """The statement ``build()`` makes, made once per ``key``."""
        statement = self._statements.get(key)
        if statement is None:
            if len(self._statements) >= self.most:
                self._statements.clear()
            statement = self._statements[key] = build()
        return statement
