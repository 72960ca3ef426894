"""The navigation's search box: a subject ID or a screening number, at the user's sites.

One match goes straight to the record; several (or none) give a short list. Every
query goes through the access layer, so a record at another site is never found.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from django.db.models import QuerySet

from eligibility.models import Screening
from enrollment.models import Participant
from trialsite import access
from trialsite.models import User

# Enough characters to mean something: "S" alone would match every screening.
MIN_QUERY_LENGTH = 2


@dataclass(frozen=True)
class SearchResult:
    query: str
    participants: QuerySet[Participant]
    # Screenings not already listed through their participant.
    screenings: QuerySet[Screening]

    @property
    def only_match(self) -> Participant | Screening | None:
        """The one record the query designates, if exactly one does."""
        found = list(self.participants[:2]) + list(self.screenings[:2])
        return found[0] if len(found) == 1 else None

    @property
    def records(self) -> Sequence[Participant | Screening]:
        """Participants then screenings, as one list a Paginator can page through."""
        return _Chained(self.participants, self.screenings)


class _Chained(Sequence):
    """Two querysets read as one sequence: counted, then sliced page by page."""

    def __init__(self, first: QuerySet, second: QuerySet) -> None:
        self.first, self.second = first, second
        self._first_count: int | None = None

    def _split(self) -> int:
        if self._first_count is None:
            self._first_count = self.first.count()
        return self._first_count

    def __len__(self) -> int:
        return self._split() + self.second.count()

    def __getitem__(self, index):
        if not isinstance(index, slice):
            return self[index : index + 1][0]
        start, stop = index.start or 0, len(self) if index.stop is None else index.stop
        split = self._split()
        head = list(self.first[start : min(stop, split)]) if start < split else []
        tail_start, tail_stop = max(start - split, 0), max(stop - split, 0)
        tail = list(self.second[tail_start:tail_stop]) if tail_stop > tail_start else []
        return head + tail


def find_records(user: User, query: str) -> SearchResult:
    """Participants whose subject ID and screenings whose number contain ``query``.

    An exact subject ID or screening number wins over partial matches, so typing
    ``PUMCH-001`` opens that participant even though ``PUMCH-0010`` exists.
    """
    query = query.strip()
    participants = access.scoped(Participant.objects.select_related("site", "screening"), user)
    screenings = access.scoped(Screening.objects.select_related("site"), user)
    if len(query) < MIN_QUERY_LENGTH:
        return SearchResult(query, participants.none(), screenings.none())
    exact_participants = participants.filter(subject_id__iexact=query)
    exact_screenings = screenings.filter(number__iexact=query)
    if exact_participants.exists() or exact_screenings.exists():
        participants, screenings = exact_participants, exact_screenings
    else:
        participants = participants.filter(subject_id__icontains=query)
        screenings = screenings.filter(number__icontains=query).exclude(
            participant__in=participants
        )
    return SearchResult(
        query,
        participants.order_by("site__code", "sequence"),
        screenings.order_by("site__code", "number"),
    )
