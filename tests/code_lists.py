"""Every code list of domain/, for the tests that check their labels."""

from __future__ import annotations

import importlib
import pkgutil

from nursecase import domain
from nursecase.domain import codes


def all_code_lists() -> list[type[codes.Code]]:
    """Every code list defined anywhere in domain/ (each module imported first)."""
    for module in pkgutil.walk_packages(domain.__path__, "nursecase.domain."):
        importlib.import_module(module.name)
    found, waiting = [], list(codes.Code.__subclasses__())
    while waiting:
        code_list = waiting.pop()
        found.append(code_list)
        waiting.extend(code_list.__subclasses__())
    return found
