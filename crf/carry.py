"""What the CRFs carry forward: their measurements, read by ``dosing.measurements``, and
the offers made from earlier entries (ongoing prior therapies as concomitant medication).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from django.db.models import Exists, OuterRef
from django.utils.translation import gettext as _

from crf.models import ConcomitantMedication, GlandFunction, Vitals
from dosing.measurements import HEIGHT, SALIVARY_FLOW, SCHIRMER, WEIGHT, Measurement
from eligibility.models import PriorTherapy
from enrollment.models import Participant
from trialsite.protocol import BASELINE_VISIT_CODE

# Which CRF field holds which measure.
_FIELDS = {
    WEIGHT: (Vitals, "weight_kg"),
    HEIGHT: (Vitals, "height_cm"),
    SCHIRMER: (GlandFunction, "schirmer_mm_5min"),
    SALIVARY_FLOW: (GlandFunction, "unstimulated_saliva_ml_15min"),
}


def _source(model, visit_code: str) -> str:
    if model is Vitals:
        if visit_code == BASELINE_VISIT_CODE:
            return _("baseline vitals")
        return _("vitals at %(visit)s") % {"visit": visit_code}
    if visit_code == BASELINE_VISIT_CODE:
        return _("baseline Schirmer and salivary flow")
    return _("Schirmer and salivary flow at %(visit)s") % {"visit": visit_code}


def crf_measurements(
    participant: Participant, measure: str, first: date, last: date
) -> list[Measurement]:
    """The CRF values of ``measure`` measured between ``first`` and ``last`` (the visit
    date is the day of measurement); registered in ``CrfConfig.ready()``."""
    if measure not in _FIELDS:
        return []
    model, field = _FIELDS[measure]
    rows = (
        model.objects.active()
        .filter(
            visit__participant=participant,
            visit__visit_date__range=(first, last),
            **{f"{field}__isnull": False},
        )
        .values_list(field, "visit__visit_date", "visit__visit_code")
        .order_by("visit__visit_date", "pk")
    )
    return [Measurement(measure, value, on, _source(model, code)) for value, on, code in rows]


# --- Ongoing prior therapies, offered as concomitant medication ---------------------------


@dataclass(frozen=True)
class ConMedOffer:
    """A prior therapy still ongoing at screening, not yet among the con-meds."""

    therapy: PriorTherapy

    @property
    def drug(self) -> str:
        return self.therapy.drug_name

    @property
    def since(self) -> date:
        return self.therapy.start


def _same_drug(name: str) -> str:
    return " ".join(name.split()).casefold()


def ongoing_prior_therapy_offers(participant: Participant) -> list[ConMedOffer]:
    """Ongoing prior therapies (no stop date at screening) whose drug is not already a
    concomitant medication of the participant (recorded once: never offered twice).

    One query (the con-med page has a query budget): the recorded drugs are a subquery."""
    recorded = ConcomitantMedication.objects.active().filter(
        participant_id=participant.pk, drug__iexact=OuterRef("drug_name")
    )
    therapies = (
        PriorTherapy.objects.active()
        .filter(screening_id=participant.screening_id, stop__isnull=True)
        .exclude(Exists(recorded))
        .order_by("start", "pk")
    )
    offers, seen = [], set()
    for therapy in therapies:
        key = _same_drug(therapy.drug_name)
        if key not in seen:
            seen.add(key)
            offers.append(ConMedOffer(therapy))
    return offers


def offer_initial(participant: Participant, therapy_pk: str | None) -> dict | None:
    """The con-med form's initial values for the offered prior therapy ``therapy_pk``;
    None when it is not offered (unknown, stopped, or its drug already recorded).

    Prior therapy rows carry no dose, route or frequency: those are asked on the form,
    prefilled with the drug and its start date, so nothing clinical is guessed."""
    offer = next(
        (o for o in ongoing_prior_therapy_offers(participant) if str(o.therapy.pk) == therapy_pk),
        None,
    )
    if offer is None:
        return None
    return {
        "drug": offer.drug,
        "start_date": offer.since,
        "indication": _("Ongoing at screening (prior therapy)"),
    }
