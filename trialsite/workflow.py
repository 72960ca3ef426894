"""What happens around a write to a clinical record: declared here, once, in order.

The core cannot import the apps above it, so each app registers its part in its
``AppConfig.ready()`` (README "Architecture"):

* **guards** run before a record is saved (``ClinicalRecord.save``) and before an edit page
  opens (``trialsite.access``): monitoring refuses locked data, whatever the path;
* **after a write**, the service that wrote calls ``record_changed(*records, user=...)``
  where the write happens; it runs the registered steps in the order of ``Step``;
* **edit-form annotators** add what other apps show on an edit form of saved data
  (monitoring's query badges, a locked form read-only);
* **alert handlers** follow an alert raised by a write (a serious adverse event: the
  notifications app queues its e-mails), in the transaction that records the alert.

Nothing here is a signal: a step runs because a service called ``record_changed``, in the
transaction of the write, so a failing step fails the write.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date, datetime
from enum import IntEnum
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils import timezone


class Step(IntEnum):
    """The steps after a write, in the order they run."""

    COURSE = 1  # dosing: the stored course follows the facts it is built from
    CRF = 2  # crf: a visit's form completeness, an adverse event's state follow their records
    VERIFICATION = 3  # monitoring: a verified value that changed loses its verification
    SIGN_OFF = 4  # monitoring: a sign-off over the changed data is recorded as void
    QUERY_ANSWER = 5  # monitoring: a correction made in answer to a query answers it
    EDIT_CHECKS = 6  # monitoring: the automatic edit checks open or close their queries


# Called as step(records, user=..., today=..., now=..., course=...) with the records just
# written; ``today`` is the clinical date of the write (the writing service's own "today");
# ``course`` is whatever the writing service already built for the participant (dosing
# hands its course on, so the write builds it once), else None.
AfterWrite = Callable[..., None]
Guard = Callable[[Any], None]
FormAnnotator = Callable[[Any], None]

_steps: dict[Step, AfterWrite] = {}
_guards: list[Guard] = []
_annotators: list[FormAnnotator] = []
_alert_handlers: list[Callable[[Any], None]] = []


def register_step(step: Step, function: AfterWrite) -> None:
    """Register the function of ``step`` (once: an app's ``ready()``)."""
    if _steps.get(step, function) is not function:
        raise RuntimeError(f"after-write step {step.name} is registered twice")
    _steps[step] = function


def register_guard(function: Guard) -> None:
    if function not in _guards:
        _guards.append(function)


def register_form_annotator(function: FormAnnotator) -> None:
    if function not in _annotators:
        _annotators.append(function)


def register_alert_handler(function: Callable[[Any], None]) -> None:
    if function not in _alert_handlers:
        _alert_handlers.append(function)


def alert_raised(alert: Any) -> None:
    """Called by the service that raised ``alert``, inside its transaction: if a handler
    fails, the write fails (an alert is never recorded without what follows it)."""
    for function in _alert_handlers:
        function(alert)


def guard(record: Any) -> None:
    """Raise (PermissionDenied) when ``record`` may not be written now."""
    for function in _guards:
        function(record)


def refused(record: Any) -> bool:
    """Whether ``guard`` refuses writing ``record`` now (e.g. it is locked)."""
    try:
        guard(record)
    except PermissionDenied:
        return True
    return False


def annotate_form(form: Any) -> None:
    for function in _annotators:
        function(form)


def record_changed(
    *records: Any,
    user: Any,
    today: date | None = None,
    now: datetime | None = None,
    course: Any = None,
) -> None:
    """Run the after-write steps, in order, for ``records``, just written by ``user``.

    Called by the service that wrote, inside its transaction, after its saves.
    """
    now = now or timezone.now()
    today = today or timezone.localdate(now)
    with transaction.atomic(savepoint=False):
        for record in records:
            _announced(record)
        for step in sorted(_steps):
            _steps[step](records, user=user, today=today, now=now, course=course)


# --- The check that no write skips the steps ------------------------------------------------
# With WORKFLOW_CHECK (test settings) every clinical save made by the application's code is
# noted, and record_changed clears it; tests/conftest.py fails a test that leaves one
# unannounced.  A test's own set-up shortcuts (a bare ``save()`` in tests/) are not noted:
# they are not a write path of the app.  Bulk loads say so with ``unannounced()``.

_pending = threading.local()
_NOT_THE_CALLER = ("trialsite/models.py", "trialsite/workflow.py")


def _saved_by_the_app() -> bool:
    """Whether the code that called save() is the application's (not a test's)."""
    root = str(settings.BASE_DIR) + "/"
    frame = sys._getframe(2)
    while frame is not None:
        path = frame.f_code.co_filename
        if path.startswith(root) and not path.startswith(root + ".venv/"):
            relative = path[len(root) :]
            if not relative.startswith(_NOT_THE_CALLER):
                return not relative.startswith("tests/")
        frame = frame.f_back
    return False


def _noted() -> dict[tuple[type, int], Any]:
    if not hasattr(_pending, "records"):
        _pending.records = {}
        _pending.quiet = 0
    return _pending.records


def note_saved(record: Any) -> None:
    """Called by ``ClinicalRecord.save`` after the row is written."""
    if not getattr(settings, "WORKFLOW_CHECK", False) or getattr(_pending, "quiet", 0):
        return
    if _saved_by_the_app():
        _noted()[(type(record), record.pk)] = record


def _announced(record: Any) -> None:
    _noted().pop((type(record), record.pk), None)


def unannounced_saves() -> list[Any]:
    """Clinical records saved since the last call without ``record_changed`` (and forget)."""
    records = list(_noted().values())
    _noted().clear()
    return records


@contextmanager
def unannounced() -> Iterator[None]:
    """Saves inside this block need no ``record_changed`` (bulk loads, demo bookkeeping)."""
    _noted()
    _pending.quiet += 1
    try:
        yield
    finally:
        _pending.quiet -= 1
