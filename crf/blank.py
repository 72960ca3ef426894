"""Blank CRFs to print: the forms a visit type expects, with empty fields, for paper
backup when the network is down (transcribed into the EDC afterwards).

The fields come from the very forms the EDC uses (same labels, same choices, same order),
so paper and screen cannot drift apart; which forms a visit expects comes from
``crf.expected``. No participant data is read: these pages are the same for everyone.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from django import forms as django_forms
from django.utils.functional import Promise, lazy
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from crf import forms
from crf.expected import CrfKind, expected_crfs, offered_crfs
from dosing.forms import BCellResultForm, InfusionForm
from dosing.models import Visit
from trialsite.protocol import (
    ASSESSMENT_VISITS,
    BASELINE_VISIT_CODE,
    BELIMUMAB_VISIT_PREFIX,
    DAYS_PER_WEEK,
    RITUXIMAB_VISIT_PREFIX,
)

UNSCHEDULED = "unscheduled"


def _week_label(week: int) -> str:
    return gettext("Week %(week)s assessment visit") % {"week": week}


_week_label_lazy = lazy(_week_label, str)


@dataclass(frozen=True)
class VisitType:
    slug: str
    label: str | Promise
    # A visit code of this type, to ask crf.expected what it expects.
    code: str
    infusion: bool = False


VISIT_TYPES: tuple[VisitType, ...] = (
    VisitType("baseline", _("Baseline visit (Day 0)"), BASELINE_VISIT_CODE),
    *(
        VisitType(code.lower(), _week_label_lazy(day // DAYS_PER_WEEK), code)
        for code, day in ASSESSMENT_VISITS
    ),
    VisitType("rituximab", _("Rituximab infusion visit"), f"{RITUXIMAB_VISIT_PREFIX}1", True),
    VisitType("belimumab", _("Belimumab infusion visit"), f"{BELIMUMAB_VISIT_PREFIX}1", True),
    VisitType(UNSCHEDULED, _("Unscheduled visit"), "UNSCHEDULED"),
)


@dataclass(frozen=True)
class BlankField:
    label: str
    help_text: str
    # The answers to tick; empty: a box to write in.
    choices: tuple[str, ...] = ()
    many: bool = False
    long: bool = False
    unit: str = ""


@dataclass(frozen=True)
class BlankForm:
    title: str | Promise
    fields: tuple[BlankField, ...]
    note: str | Promise = ""


def visit_type(slug: str) -> VisitType | None:
    return next((t for t in VISIT_TYPES if t.slug == slug), None)


def visit_type_of(visit_code: str) -> VisitType:
    """The printable type of a scheduled or unscheduled visit code."""
    for candidate in VISIT_TYPES:
        if candidate.code == visit_code or (
            candidate.infusion and visit_code.startswith(candidate.code.rstrip("0123456789"))
        ):
            return candidate
    return visit_type(UNSCHEDULED)


def _blank_fields(form: django_forms.BaseForm) -> tuple[BlankField, ...]:
    fields = []
    for bound in form:
        # A lab's unit is printed beside its value (the units the EDC accepts).
        if bound.is_hidden or bound.name.endswith("_unit"):
            continue
        field = bound.field
        choices: tuple[str, ...] = ()
        if isinstance(field, django_forms.ChoiceField):
            choices = tuple(str(label) for value, label in field.choices if value not in ("", None))
        elif isinstance(field, django_forms.BooleanField):
            choices = (str(_("Yes")), str(_("No")))
        unit = ""
        if f"{bound.name.removesuffix('_value')}_unit" in form.fields:
            unit_field = form.fields[f"{bound.name.removesuffix('_value')}_unit"]
            unit = " / ".join(str(label) for value, label in unit_field.choices if value)
        fields.append(
            BlankField(
                label=str(bound.label),
                help_text=str(field.help_text or ""),
                choices=choices,
                many=isinstance(field, django_forms.MultipleChoiceField),
                long=isinstance(field.widget, django_forms.Textarea),
                unit=unit,
            )
        )
    return tuple(fields)


def _visit_form(kind: CrfKind, visit: Visit, today: date) -> BlankForm:
    if kind is CrfKind.LABS:
        form: Any = forms.VisitLabsForm(visit=visit, existing={}, today=today)
    elif kind is CrfKind.B_CELLS:
        form = BCellResultForm(today=today)
    else:
        form = forms.VISIT_FORMS[kind.value](visit=visit, today=today)
    return BlankForm(title=kind.label, fields=_blank_fields(form))


def blank_forms(visit_type: VisitType, today: date) -> list[BlankForm]:
    """The forms to print for a visit of this type: the infusion record at an infusion
    visit, every form the visit expects, then the adverse-event and medication logs."""
    visit = Visit(visit_code=visit_type.code)
    kinds = expected_crfs(visit_type.code) or offered_crfs(visit_type.code)
    printed: list[BlankForm] = []
    if visit_type.infusion:
        printed.append(
            BlankForm(
                title=_("Infusion administration"),
                fields=_blank_fields(InfusionForm(today=today)),
                note=_("The investigator's prescription is signed in the EDC before the infusion."),
            )
        )
    printed += [_visit_form(kind, visit, today) for kind in kinds]
    printed.append(
        BlankForm(
            title=_("Adverse event (one sheet per event)"),
            fields=_blank_fields(forms.AdverseEventForm(today=today)),
        )
    )
    printed.append(
        BlankForm(
            title=_("Concomitant medication (one line per drug and dose)"),
            fields=_blank_fields(forms.ConMedForm(today=today)),
        )
    )
    return printed
