"""Clinical dates within plausible bounds (issue 16): 0001-01-01 or 9999-12-31 typed into
a date field is refused on that field, and nothing is saved."""

from __future__ import annotations

import importlib
import inspect
from datetime import date

import pytest
from django import forms
from django.urls import reverse

from crf.models import AdverseEvent
from eligibility.models import Screening
from tests.factories.crf import ae_data, make_participant, today
from trialsite import protocol
from trialsite.dates import DateKind, date_bounds
from trialsite.forms import (
    BIRTH_IMPLAUSIBLE,
    DATE_TOO_EARLY,
    DATE_TOO_LATE,
    ClinicalDatesMixin,
    date_kind,
)

ON = date(2026, 12, 7)


def new_screening(**changes) -> dict:
    return {
        "screening_date": "2026-11-02",
        "date_of_birth": "2015-03-14",
        "sex": "F",
        "planned_day_0": "2026-11-20",
        **changes,
    }


def test_no_clinical_date_is_before_1900_or_long_after_the_trial():
    for kind in DateKind:
        earliest, latest = date_bounds(kind, ON)
        assert earliest >= protocol.CLINICAL_DATE_FLOOR == date(1900, 1, 1)
        assert latest <= protocol.LATEST_CLINICAL_DATE
    assert date_bounds(DateKind.TRIAL, ON)[0] == protocol.EARLIEST_TRIAL_DATE


def test_a_date_of_birth_fits_a_paediatric_trial_with_a_margin():
    screened = date(2026, 11, 2)
    earliest, latest = date_bounds(DateKind.BIRTH, ON, screened_on=screened)
    # Aged 3 to 20 on the screening date (INC1's 5 to 18, give or take two years).
    assert latest == date(2023, 11, 2)
    assert earliest == date(2005, 11, 3)


def test_the_latest_date_follows_today_past_the_registered_completion():
    later = date(2031, 1, 1)
    assert date_bounds(DateKind.TRIAL, later)[1] > later


def test_each_date_field_has_its_kind():
    assert date_kind("onset_date") is DateKind.TRIAL
    assert date_kind("planned_day_0") is DateKind.TRIAL
    assert date_kind("date_of_birth") is DateKind.BIRTH
    assert date_kind("start_date") is DateKind.HISTORY


# Forms whose dates are not clinical: a consent form version's date of approval.
NOT_CLINICAL = {"enrollment.forms.ConsentFormVersionForm"}
FORM_MODULES = (
    "crf.forms",
    "dosing.forms",
    "eligibility.forms",
    "enrollment.forms",
    "trialsite.forms",
)


def test_every_form_with_a_date_field_checks_its_bounds():
    unchecked = []
    for module_name in FORM_MODULES:
        module = importlib.import_module(module_name)
        for name, cls in inspect.getmembers(module, inspect.isclass):
            if not issubclass(cls, forms.BaseForm) or cls.__module__ != module_name:
                continue
            has_date = any(isinstance(f, forms.DateField) for f in cls.base_fields.values())
            if has_date and not issubclass(cls, ClinicalDatesMixin):
                unchecked.append(f"{module_name}.{name}")
    assert set(unchecked) == NOT_CLINICAL


@pytest.mark.django_db
def test_an_ae_onset_in_year_one_is_refused_on_its_field(
    client_for, site_pumch, coordinator_pumch, investigator_pumch
):
    participant = make_participant(
        site=site_pumch, coordinator=coordinator_pumch, investigator=investigator_pumch
    )
    response = client_for(coordinator_pumch).post(
        reverse("crf:ae_add", args=[participant.subject_id]),
        ae_data(onset_date="0001-01-01"),
    )
    assert response.status_code == 200
    earliest, _latest = date_bounds(DateKind.TRIAL, today())
    assert response.context["form"].errors["onset_date"] == [
        str(DATE_TOO_EARLY % {"earliest": earliest.isoformat()})
    ]
    assert not AdverseEvent.objects.exists()


@pytest.mark.django_db
def test_a_date_of_birth_in_year_one_is_refused_on_its_field(client_for, coordinator_pumch):
    response = client_for(coordinator_pumch).post(
        reverse("eligibility:new"),
        new_screening(site=coordinator_pumch.sites.get().pk, date_of_birth="0001-01-01"),
    )
    assert response.status_code == 200
    margin = protocol.BIRTH_DATE_MARGIN_YEARS
    ages = {"min": protocol.MIN_AGE_YEARS - margin, "max": protocol.MAX_AGE_YEARS + margin}
    assert response.context["form"].errors["date_of_birth"] == [str(BIRTH_IMPLAUSIBLE % ages)]
    assert not Screening.objects.exists()


@pytest.mark.django_db
def test_an_adult_date_of_birth_is_refused_but_a_child_just_too_old_is_not(
    client_for, coordinator_pumch
):
    client = client_for(coordinator_pumch)
    site = coordinator_pumch.sites.get().pk
    adult = client.post(
        reverse("eligibility:new"), new_screening(site=site, date_of_birth="1980-05-01")
    )
    assert "date_of_birth" in adult.context["form"].errors
    # 19 at screening: entered, then screened out by INC1 (not by the date check).
    response = client.post(
        reverse("eligibility:new"), new_screening(site=site, date_of_birth="2007-05-01")
    )
    assert response.status_code == 302
    assert Screening.objects.get().date_of_birth == date(2007, 5, 1)


@pytest.mark.django_db
def test_a_planned_day_0_in_year_9999_is_refused_on_its_field(client_for, coordinator_pumch):
    response = client_for(coordinator_pumch).post(
        reverse("eligibility:new"),
        new_screening(site=coordinator_pumch.sites.get().pk, planned_day_0="9999-12-31"),
    )
    assert response.status_code == 200
    _earliest, latest = date_bounds(DateKind.TRIAL, today())
    assert response.context["form"].errors["planned_day_0"] == [
        str(DATE_TOO_LATE % {"latest": latest.isoformat()})
    ]
    assert not Screening.objects.exists()
