"""The query being answered by a correction, for the duration of one request.

``monitoring.views.query_correct`` runs the record's normal edit view inside
``correcting(query)``: the edit form's reason for change is prefilled "Query #n: …"
(``monitoring.annotate``) and the save of the queried record answers the query in the
same transaction (``monitoring.hooks``, a step of ``trialsite.workflow.record_changed``).
Outside that view nothing is set, so no other save is affected.  A ``ContextVar`` (not a
global): each request and thread has its own.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from monitoring.models import DataQuery


@dataclass
class Correction:
    query: DataQuery
    forms: list[Any] = field(default_factory=list)  # edit forms built in this request
    answered: bool = False

    @property
    def reason(self) -> str:
        """The reason for change given in the edit form (what the answer says)."""
        for form in self.forms:
            if getattr(form, "is_bound", False) and hasattr(form, "cleaned_data"):
                reason = getattr(form, "reason", "")
                if reason:
                    return reason
        return ""


_current: ContextVar[Correction | None] = ContextVar("monitoring_correction", default=None)


@contextlib.contextmanager
def correcting(query: DataQuery) -> Iterator[Correction]:
    correction = Correction(query=query)
    token = _current.set(correction)
    try:
        yield correction
    finally:
        _current.reset(token)


def current() -> Correction | None:
    return _current.get()
