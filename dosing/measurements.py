"""A measurement entered once and carried forward: the latest still valid on a date.

Weight and height are typed at baseline vitals and are needed again by the prescription
and the infusion's vitals; Schirmer and salivary flow measured at screening stand for the
baseline ones.  ``latest_valid_measurement`` is the one place that decides which value a
later form offers (prefilled, editable, shown with its date and source).

The measurements live in three apps: screening (eligibility, below this one), the
prescriptions (here) and the visit CRFs (crf, above).  The CRF layer cannot be imported
from here, so it registers its reader in its ``AppConfig.ready()``
(``register_measurement_source``), the hook pattern of ``trialsite.workflow``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from django.utils import formats
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from dosing.models import Prescription
from enrollment.models import Participant
from trialsite.protocol import MEASUREMENT_VALID_DAYS

WEIGHT, HEIGHT, SCHIRMER, SALIVARY_FLOW = "weight", "height", "schirmer", "salivary_flow"

UNITS = {
    WEIGHT: "kg",
    HEIGHT: "cm",
    SCHIRMER: gettext_lazy("mm/5 min"),
    SALIVARY_FLOW: gettext_lazy("mL/15 min"),
}


@dataclass(frozen=True)
class Measurement:
    """One measured value, its unit, the day it was measured and where it was entered."""

    measure: str
    value: Decimal
    measured_on: date
    source: str  # what a person reads: "baseline vitals", "screening"

    @property
    def unit(self) -> str:
        return str(UNITS[self.measure])

    @property
    def note(self) -> str:
        """ "from baseline vitals, 3 Mar 2026": shown beside the prefilled value."""
        return _("from %(source)s, %(date)s") % {
            "source": self.source,
            "date": formats.date_format(self.measured_on, "DATE_FORMAT"),
        }


# A source: (participant, measure, first valid day, last valid day) -> candidates.
Source = Callable[[Participant, str, date, date], list[Measurement]]
_sources: list[Source] = []


def register_measurement_source(source: Source) -> None:
    """Add a reader of measurements stored in a higher layer (once: an app's ``ready()``)."""
    if source not in _sources:
        _sources.append(source)


def valid_days(measure: str) -> int:
    return MEASUREMENT_VALID_DAYS[measure]


def latest_valid_measurement(
    participant: Participant, measure: str, on_date: date
) -> Measurement | None:
    """The latest ``measure`` taken ``on_date`` or within its validity window before it
    (``trialsite.protocol.MEASUREMENT_VALID_DAYS``); None when there is none."""
    first = on_date - timedelta(days=valid_days(measure))
    candidates: list[Measurement] = []
    for source in (_prescriptions, _screening, *_sources):
        candidates.extend(source(participant, measure, first, on_date))
    # The latest day wins; on one day, the source read last (the CRF's own record) wins.
    return max(reversed(candidates), key=lambda m: m.measured_on, default=None)


def latest_weight_and_height(
    participant: Participant, on_date: date
) -> tuple[Measurement | None, Measurement | None]:
    return (
        latest_valid_measurement(participant, WEIGHT, on_date),
        latest_valid_measurement(participant, HEIGHT, on_date),
    )


def _prescriptions(participant: Participant, measure: str, first: date, last: date):
    if measure not in (WEIGHT, HEIGHT):
        return []
    field = "weight_kg" if measure == WEIGHT else "height_cm"
    rows = (
        Prescription.objects.active()
        .filter(participant=participant, anthropometry_measured_on__range=(first, last))
        .values_list(field, "anthropometry_measured_on")
    )
    return [Measurement(measure, value, on, _("a prescription")) for value, on in rows]


def _screening(participant: Participant, measure: str, first: date, last: date):
    if measure not in (SCHIRMER, SALIVARY_FLOW):
        return []
    screening = participant.screening
    if not first <= screening.screening_date <= last:
        return []
    field = "schirmer_mm_5min" if measure == SCHIRMER else "unstimulated_saliva_ml_15min"
    value = getattr(screening, field)
    if value is None:
        return []
    return [Measurement(measure, value, screening.screening_date, _("screening"))]
