"""Reads for screening: facts for the criteria, the signed payload, the screening log."""

from __future__ import annotations

from typing import Any

from django.db.models import Count, Prefetch, QuerySet

from eligibility import criteria
from eligibility.classification import (
    SEROLOGY_FIELDS,
    BiopsySite,
    Serology,
    SialographyStage,
    SjogrenFindings,
    SourceTest,
    serology_positive,
)
from eligibility.criteria import (
    BCellActivation,
    DrugClass,
    LabResult,
    PriorTherapy,
    ScreeningFacts,
    SystemicInvolvement,
)
from eligibility.models import PriorTherapy as PriorTherapyRow
from eligibility.models import Screening, ScreeningLab, ScreeningStatus
from trialsite import access
from trialsite.models import User

_SJOGREN_FIELDS = [
    name for name in SjogrenFindings.__dataclass_fields__ if name not in {"not_performed"}
]
_FACT_FIELDS = [
    "other_trial",
    "other_trial_last_date",
    "chronic_infection_suppressive_therapy",
    "infection_hospitalisation",
    "infection_hospitalisation_last_date",
    "parenteral_antimicrobials",
    "parenteral_antimicrobials_last_date",
    "live_vaccine",
    "live_vaccine_date",
    "high_infection_risk",
    "primary_immunodeficiency",
    "malignancy_history",
    "severe_uncontrolled_other_disease",
    "other_disease_needing_systemic_corticosteroids",
    "guardian_agrees",
    "child_agrees",
    "hbsag",
    "hbsab",
    "hbcab",
    "hcv_ab",
    "hiv_ever",
    "active_tb",
    "esr_persistently_raised",
]


def with_rows(queryset: QuerySet[Screening]) -> QuerySet[Screening]:
    """Screenings with their current therapy rows and labs loaded in two queries."""
    return queryset.select_related("site").prefetch_related(
        Prefetch("prior_therapies", queryset=PriorTherapyRow.objects.active()),
        Prefetch("labs", queryset=ScreeningLab.objects.active()),
    )


def current_labs(screening: Screening) -> dict[str, ScreeningLab]:
    return {lab.analyte: lab for lab in screening.labs.all() if not lab.is_voided}


def current_therapies(screening: Screening) -> list[PriorTherapyRow]:
    return [row for row in screening.prior_therapies.all() if not row.is_voided]


def facts_for(screening: Screening) -> ScreeningFacts:
    """The plain values ``eligibility.criteria`` decides from."""
    items = {name: _fact(screening, name) for name in _SJOGREN_FIELDS}
    items["biopsy_site"] = BiopsySite(screening.biopsy_site) if screening.biopsy_site else None
    if screening.sialography_stage is not None:
        items["sialography_stage"] = SialographyStage(screening.sialography_stage)
    sjogren = SjogrenFindings(
        **items, not_performed=frozenset(SourceTest(t) for t in screening.tests_not_performed)
    )
    therapies = current_therapies(screening)
    if therapies:
        prior = tuple(
            PriorTherapy(row.drug_name, DrugClass(row.drug_class), row.start, row.stop)
            for row in therapies
        )
    else:
        prior = () if screening.no_prior_therapy else None
    labs = {
        analyte: LabResult(lab.value, lab.taken_on)
        for analyte, lab in current_labs(screening).items()
    }

    def as_set(values, enum):
        return None if values is None else frozenset(enum(v) for v in values)

    return ScreeningFacts(
        screening_date=screening.screening_date,
        date_of_birth=screening.date_of_birth,
        sex=screening.sex,
        planned_day_0=screening.planned_day_0,
        sjogren=sjogren,
        prior_therapies=prior,
        systemic_involvement=as_set(screening.systemic_involvement, SystemicInvolvement),
        b_cell_activation=as_set(screening.b_cell_activation, BCellActivation),
        **{name: labs.get(name) for name in criteria.SCREENING_LABS},
        **{name: _fact(screening, name) for name in _FACT_FIELDS},
    )


def _fact(screening: Screening, name: str) -> Any:
    """A stored item as the criteria read it: a serology result as positive (True),
    negative (False) or missing (None: not entered, or not done)."""
    value = getattr(screening, name)
    return serology_positive(value) if name in SEROLOGY_FIELDS else value


def assessment_for(screening: Screening) -> criteria.Assessment:
    return criteria.assess(facts_for(screening))


def signature_payload(screening: Screening) -> dict[str, Any]:
    """Every source item and the live outcome: the data an investigator signs."""
    derived = {"status", "failed_codes", "missing_items", "criteria_sets_met"}
    bookkeeping = {
        "created_at",
        "created_by",
        "updated_at",
        "updated_by",
        "version",
        "voided_at",
        "voided_by",
        "void_reason",
        "values_checked",  # an entry confirmation, not a source item (monitoring.targets)
    }
    fields = {
        f.attname: getattr(screening, f.attname)
        for f in Screening._meta.concrete_fields
        if f.name not in derived | bookkeeping
    }
    # A serology result signed as before it was Positive/Negative/Not done (True/False),
    # so the signatures given then still verify; "not done" is signed as itself.
    for name in SEROLOGY_FIELDS:
        value = fields[name]
        fields[name] = value if value == Serology.NOT_DONE else serology_positive(value)
    fields["labs"] = sorted(
        [lab.analyte, lab.value_entered, lab.unit_entered, str(lab.taken_on)]
        for lab in current_labs(screening).values()
    )
    fields["prior_therapies"] = sorted(
        [row.drug_name, row.drug_class, str(row.start), str(row.stop)]
        for row in current_therapies(screening)
    )
    fields["outcome"] = str(assessment_for(screening).outcome)
    return fields


def screening_log(user: User, *, status: str = "", site_code: str = "") -> QuerySet[Screening]:
    screenings = access.scoped(Screening.objects.select_related("site"), user)
    if status:
        screenings = screenings.filter(status=status)
    if site_code:
        screenings = screenings.filter(site__code=site_code)
    return screenings.order_by("-screening_date", "-pk")


def screening_counts(user: User, *, site_code: str = "") -> dict[str, int]:
    """Screenings at the user's sites by status, plus the total."""
    screenings = access.scoped(Screening.objects.active(), user)
    if site_code:
        screenings = screenings.filter(site__code=site_code)
    rows = screenings.values("status").annotate(n=Count("pk")).order_by()
    counts = {status.value: 0 for status in ScreeningStatus}
    counts.update({row["status"]: row["n"] for row in rows})
    counts["total"] = sum(counts.values())
    return counts


def _display_value(screening: Screening, name: str) -> str:
    from django.utils.translation import gettext as _

    field = Screening._meta.get_field(name)
    value = getattr(screening, name)
    if value is None or value == "":
        return "—"
    if isinstance(value, bool):
        return _("Yes") if value else _("No")
    if isinstance(value, list):
        choices = dict(field.base_field.flatchoices)
        return ", ".join(str(choices.get(v, v)) for v in value) if value else _("None")
    if field.choices:
        return str(dict(field.flatchoices).get(value, value))
    return str(value)


def section_summaries(screening: Screening) -> list[dict[str, Any]]:
    """Each section of the screening with its entered values, for the overview page."""
    from eligibility import forms

    fields_of = {
        "candidate": forms.CandidateForm.Meta.fields,
        "sjogren": forms.SJOGREN_FIELDS,
        "disease": ["systemic_involvement", "b_cell_activation", "esr_persistently_raised"],
        "exclusions": forms.EXCLUSION_FIELDS,
        "agreement": forms.AgreementForm.Meta.fields,
    }
    summaries = []
    for key, names in fields_of.items():
        rows = [
            (Screening._meta.get_field(name).verbose_name, _display_value(screening, name))
            for name in names
        ]
        entered = sum(1 for _label, value in rows if value != "—")
        summaries.append(
            {
                "key": key,
                "title": forms.SECTIONS[key][1],
                "rows": rows,
                "entered": entered,
                "total": len(rows),
            }
        )
    return summaries
