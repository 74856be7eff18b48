"""Errors the services raise; each message is fit to show a nurse as it is."""

from __future__ import annotations

from datetime import datetime

from nursecase.domain.validation import ValidationError


class ServiceError(Exception):
    """A request the services refused; ``str(error)`` is the user-facing message."""


class NotFoundError(ServiceError):
    """The record asked for does not exist (or no longer exists)."""

    def __init__(self, entity: str, entity_id: object) -> None:
        super().__init__(f"{entity} {entity_id} was not found; it may have been removed")
        self.entity = entity
        self.entity_id = entity_id


class StaleEditError(ServiceError):
    """Someone saved the record after this copy was read: reload before saving."""

    def __init__(self, entity: str, changed_by: str | None, changed_at: datetime | None) -> None:
        who = changed_by or "another user"
        when = changed_at.strftime("%Y-%m-%d %H:%M") if changed_at else "a moment ago"
        super().__init__(f"This {entity} was changed by {who} at {when}; reload it and try again")
        self.entity = entity
        self.changed_by = changed_by
        self.changed_at = changed_at


class NoNurseError(ServiceError):
    """An action that needs a signed-in nurse was attempted without one."""

    def __init__(self) -> None:
        super().__init__("no nurse is signed in; choose a nurse first (--nurse USERNAME)")


__all__ = ["NoNurseError", "NotFoundError", "ServiceError", "StaleEditError", "ValidationError"]
