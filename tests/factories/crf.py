"""CRF data built through the real forms and services.

Visits are the dosing app's records; the rules about when a visit may be recorded are
dosing's (and tested there), so ``make_visit`` writes the row directly, audited, as the
dosing service would leave it.  Everything else goes through ``crf.forms`` and
``crf.services``, exactly as a POST would.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import factory
from django.utils import timezone

from crf import forms, services
from crf.essdai import DOMAIN_CODES
from crf.models import AdverseEvent, ConcomitantMedication, VisitCrf
from crf.selectors import visit_labs
from demo.participants import enrol_candidate
from dosing.models import LabResult, Visit, VisitKind
from enrollment.models import Participant
from tests.factories.eligibility import ServiceFactory
from tests.factories.enrollment import ParticipantFactory
from tests.factories.trialsite import PASSWORD
from trialsite import protocol, workflow
from trialsite.audit import audit_context
from trialsite.models import Site, User

VISIT_OFFSETS = {"BASELINE": 0, "W12": 84, "W28": 196}


def today() -> date:
    return timezone.localdate()


def make_participant(
    *, site: Site, coordinator: User, investigator: User, day_0: date | None = None
) -> Participant:
    """An enrolled participant (real eligibility, consent and enrolment services)."""
    return enrol_candidate(
        site=site,
        coordinator=coordinator,
        investigator=investigator,
        investigator_password=PASSWORD,
        day_0=day_0 or today() - timedelta(days=200),
    )


def make_visit(
    participant: Participant, code: str = "BASELINE", on: date | None = None, user=None
) -> Visit:
    if on is None:
        on = participant.planned_day_0 + timedelta(days=VISIT_OFFSETS.get(code, 0))
    if code in VISIT_OFFSETS:
        kind = VisitKind.BASELINE if code == protocol.BASELINE_VISIT_CODE else VisitKind.ASSESSMENT
    elif code.startswith(("RTX", "BEL")):
        kind = VisitKind.INFUSION
    else:
        kind = VisitKind.UNSCHEDULED
    with audit_context(user, "test visit"):
        visit = Visit.objects.create(
            participant=participant,
            visit_code=code,
            kind=kind,
            visit_date=on,
            created_by=user,
            updated_by=user,
        )
        workflow.record_changed(visit, user=user)
    return visit


def essdai_data(**levels: int) -> dict[str, str]:
    """POST data of an ESSDAI form: every domain 0 unless given."""
    return {code: str(levels.get(code, 0)) for code in DOMAIN_CODES}


def _saved(form: Any) -> Any:
    assert form.is_valid(), form.errors.as_json()
    return form


def save_crf(visit: Visit, kind: str, user: User, data: dict[str, Any]) -> VisitCrf:
    form = forms.VISIT_FORMS[kind](data=data, visit=visit, today=today())
    return services.visit_crf_save(form=_saved(form), user=user)


def save_essdai(visit: Visit, user: User, **levels: int) -> VisitCrf:
    return save_crf(visit, "essdai", user, essdai_data(**levels))


def save_esspri(visit: Visit, user: User, dryness: int, fatigue: int, pain: int) -> VisitCrf:
    return save_crf(visit, "esspri", user, {"dryness": dryness, "fatigue": fatigue, "pain": pain})


def save_vitals(visit: Visit, user: User, weight: str = "40.0", height: str = "150.0") -> VisitCrf:
    data = {
        "weight_kg": weight,
        "height_cm": height,
        "temperature_c": "36.8",
        "heart_rate_bpm": "90",
        "respiratory_rate": "",
        "systolic_mmhg": "105",
        "diastolic_mmhg": "65",
    }
    return save_crf(visit, "vitals", user, data)


def lab_data(visit: Visit, taken_on: date | None = None, **values: str) -> dict[str, str]:
    """POST data of the labs form: ``igg="12.5"`` or ``igg=("1250", "mg/dL")``."""
    data = {
        "taken_on": (taken_on or visit.visit_date).isoformat(),
        "fingerprint": forms.labs_fingerprint(visit_labs(visit).values()),
    }
    for analyte, value in values.items():
        entered, unit = value if isinstance(value, tuple) else (value, "")
        data[f"{analyte}_value"] = entered
        data[f"{analyte}_unit"] = unit
    return data


def save_labs(visit: Visit, user: User, **values: str) -> list[LabResult]:
    form = forms.VisitLabsForm(
        data=lab_data(visit, **values), visit=visit, existing=visit_labs(visit), today=today()
    )
    return services.visit_labs_save(form=_saved(form), user=user)


NORMAL_PANEL = {
    "wbc": "6.0",
    "neutrophils": "3.0",
    "lymphocytes": "2.0",
    "monocytes": "0.5",
    "eosinophils": "0.2",
    "basophils": "0.03",
    "haemoglobin": "130",
    "platelets": "250",
    "igg": "12",
    "iga": "1.5",
    "igm": "1.0",
    "c3": "1.1",
    "c4": "0.2",
    "beta2_microglobulin": "1.5",
    "esr": "10",
    "crp": "2",
    "rf": "10",
    "creatinine": "45",
}


def fill_full_set(
    visit: Visit,
    user: User,
    *,
    essdai: dict[str, int] | None = None,
    esspri: tuple[int, int, int] = (5, 5, 5),
    physician_global: str = "5",
    schirmer: str = "5",
    saliva: str = "1.0",
    labs: dict[str, str] | None = None,
    weight: str = "40.0",
) -> None:
    """Every form of an assessment visit except the B-cell result (dosing's)."""
    save_vitals(visit, user, weight=weight)
    save_essdai(visit, user, **(essdai or {}))
    save_esspri(visit, user, *esspri)
    save_crf(visit, "physician_global", user, {"score": physician_global})
    save_crf(
        visit,
        "glands",
        user,
        {"schirmer_mm_5min": schirmer, "unstimulated_saliva_ml_15min": saliva},
    )
    save_labs(visit, user, **{**NORMAL_PANEL, **(labs or {})})
    save_crf(
        visit, "safety_review", user, {"new_adverse_events": "False", "medication_changes": "False"}
    )


def ae_data(**overrides: Any) -> dict[str, Any]:
    onset = today() - timedelta(days=5)
    data = {
        "term": "Pneumonia",
        "onset_date": onset.isoformat(),
        "end_date": "",
        "grade": "3",
        "serious": "True",
        "serious_criteria": ["hospitalisation"],
        "related_rituximab": "possible",
        "related_belimumab": "not_applicable",
        "action_taken": "dose_delayed",
        "outcome": "recovering",
        "description": "",
    }
    data.update(overrides)
    return data


def record_ae(
    participant: Participant, user: User, instance: AdverseEvent | None = None, **overrides: Any
) -> AdverseEvent:
    data = ae_data(**overrides)
    if instance is not None:
        data.setdefault("version", instance.version)
    form = forms.AdverseEventForm(data=data, instance=instance, today=today())
    return services.adverse_event_save(form=_saved(form), user=user, participant=participant)


def record_con_med(participant: Participant, user: User, **overrides: Any) -> ConcomitantMedication:
    data = {
        "drug": "prednisone",
        "dose": "10",
        "dose_unit": "mg",
        "route": "oral",
        "frequency": "qd",
        "start_date": (participant.planned_day_0 - timedelta(days=30)).isoformat(),
        "stop_date": "",
        "indication": "disease activity",
    }
    data.update(overrides)
    form = forms.ConMedForm(data=data, today=today())
    return services.con_med_save(form=_saved(form), user=user, participant=participant)


# --- factory-boy factories ---------------------------------------------------------------


class _CrfLogFactory(ServiceFactory):
    """A log entry (adverse event, medication) entered through its form and service by the
    coordinator who enrolled the participant (or ``user``)."""

    class Meta:
        abstract = True

    class Params:
        user = None

    participant = factory.SubFactory(ParticipantFactory)
    created_by = factory.SelfAttribute("user")

    @staticmethod
    def _form_value(value: Any) -> Any:
        if isinstance(value, date):
            return value.isoformat()
        if isinstance(value, bool | int | Decimal):
            return str(value)
        return "" if value is None else value


class AdverseEventFactory(_CrfLogFactory):
    """A serious pneumonia unless told otherwise (``record_ae``: the SAE alert goes out)."""

    class Meta:
        model = AdverseEvent

    term = "Pneumonia"
    onset_date = factory.LazyFunction(lambda: today() - timedelta(days=5))
    grade = 3
    serious = True
    serious_criteria = factory.LazyFunction(lambda: ["hospitalisation"])

    @classmethod
    def _create(cls, model_class, *, participant, created_by=None, **values) -> AdverseEvent:
        data = {name: cls._form_value(value) for name, value in values.items()}
        return record_ae(participant, created_by or participant.enrolled_by, **data)


class ConcomitantMedicationFactory(_CrfLogFactory):
    """Oral prednisone 10 mg daily from a month before Day 0 unless told (``record_con_med``)."""

    class Meta:
        model = ConcomitantMedication

    drug = "prednisone"
    dose = Decimal("10")
    start_date = factory.LazyAttribute(lambda o: o.participant.planned_day_0 - timedelta(days=30))

    @classmethod
    def _create(
        cls, model_class, *, participant, created_by=None, **values
    ) -> ConcomitantMedication:
        data = {name: cls._form_value(value) for name, value in values.items()}
        return record_con_med(participant, created_by or participant.enrolled_by, **data)
