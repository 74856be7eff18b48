"""Running service calls off the UI thread.

Every database call from a screen goes through ``run_in_background``: the
call runs in a thread worker, and its result (or its failure) comes back to
the UI thread as a callback. The UI thread never waits on SQL. A failure the
services describe (a ValidationError naming the field, a stale edit) is shown
as it is; anything unexpected shows its kind only, never data, and is logged
without values.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, TypeVar

from textual.dom import DOMNode
from textual.worker import get_current_worker

from nursecase.domain.validation import ValidationError
from nursecase.services.errors import ServiceError

Result = TypeVar("Result")
logger = logging.getLogger("nursecase.ui")


def user_message(error: BaseException) -> str:
    """What to tell the nurse about a failed call."""
    if isinstance(error, ValidationError | ServiceError):
        return str(error)
    return f"Something went wrong ({type(error).__name__}); nothing was saved. Please try again."


def run_in_background(
    node: DOMNode,
    call: Callable[[], Result],
    on_success: Callable[[Result], Any],
    on_failure: Callable[[BaseException], Any] | None = None,
    *,
    group: str = "services",
    exclusive: bool = False,
) -> None:
    """Run ``call`` in a thread; deliver its result on the UI thread.

    With ``exclusive``, a newer call of the same group cancels the older one:
    the older call still runs to its end in its thread (a query cannot be
    interrupted), but its result is dropped, so a slow earlier read never
    paints over the answer of a later one.
    """
    app = node.app

    def work() -> None:
        worker = get_current_worker()
        try:
            result = call()
        except Exception as error:  # shown to the user, never re-raised into Textual
            if not isinstance(error, ValidationError | ServiceError):
                # The type only: messages and tracebacks can carry patient data.
                logger.error("service call failed: %s", type(error).__name__)
            if not worker.is_cancelled:
                app.call_from_thread(_fail, error)
            return
        if not worker.is_cancelled:
            app.call_from_thread(on_success, result)

    def _fail(error: BaseException) -> None:
        if on_failure is not None:
            on_failure(error)
        else:
            app.notify(user_message(error), severity="error", timeout=8)

    node.run_worker(work, thread=True, group=group, exclusive=exclusive, exit_on_error=False)
