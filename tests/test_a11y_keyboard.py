"""Issue 11, accessibility: the screening and infusion forms can be completed with the
keyboard alone (Tab, typing, Space, arrow keys, Enter), from logging in to saving."""

from __future__ import annotations

from datetime import time, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from demo.screenings import ELIGIBLE_ITEMS
from dosing.models import Infusion, Prescription
from eligibility.forms import SJOGREN_FIELDS
from eligibility.models import Screening
from tests.factories.dosing import make_participant
from tests.factories.trialsite import PASSWORD
from tests.keyboard import complete_form, focused, follow_link

pytestmark = pytest.mark.browser

# Every item of the Sjögren section but the optional Saxon test and "tests not performed".
SJOGREN_SECTION = [
    name for name in SJOGREN_FIELDS if name not in {"saxon_test_g_2min", "tests_not_performed"}
]


def as_answer(value):
    """A stored value as the keyboard driver answers it (radio values are "true"/"false")."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return value


def log_in_with_keyboard(page, user) -> None:
    page.goto("/accounts/login/")
    complete_form(page, {"username": user.username, "password": PASSWORD}, submit="Log in")
    assert page.url.endswith("/"), page.url


def test_the_skip_link_is_the_first_stop_and_leads_to_the_content(page, log_in, coordinator_pumch):
    log_in(coordinator_pumch)
    page.goto("/screening/")
    page.keyboard.press("Tab")
    assert focused(page)["text"] == "Skip to main content"
    page.keyboard.press("Enter")
    page.keyboard.press("Tab")
    # The next stop is inside <main>, past the navigation.
    assert page.evaluate("() => document.querySelector('main').contains(document.activeElement)")


def test_a_coordinator_opens_a_screening_and_enters_the_sjogren_items_by_keyboard(
    page, coordinator_pumch
):
    today = timezone.localdate()
    log_in_with_keyboard(page, coordinator_pumch)

    follow_link(page, "Screening")
    follow_link(page, "New screening")
    complete_form(
        page,
        {
            "screening_date": today - timedelta(days=2),
            "date_of_birth": today.replace(year=today.year - 11) - timedelta(days=40),
            "sex": "F",
            "planned_day_0": today + timedelta(days=10),
        },
        submit="Open screening",
    )
    screening = Screening.objects.get()
    assert screening.number in page.locator("h1").inner_text()
    assert screening.sex == "F" and screening.planned_day_0 == today + timedelta(days=10)

    follow_link(page, "Edit Sjögren's classification items")
    complete_form(
        page,
        {name: as_answer(ELIGIBLE_ITEMS[name]) for name in SJOGREN_SECTION},
        submit="Save and continue",
    )

    assert "Saved." in page.locator(".messages").inner_text()
    assert page.url.endswith(f"/screening/{screening.number}/therapy/")
    screening.refresh_from_db()
    for name in SJOGREN_SECTION:
        assert getattr(screening, name) == ELIGIBLE_ITEMS[name], name

    # The next section, a list of tick boxes, by keyboard too.
    page.goto(f"/screening/{screening.number}/disease/")
    complete_form(
        page,
        {
            "systemic_involvement": {"polyarthritis", "vasculitis"},
            "b_cell_none": {"on"},
            "esr_persistently_raised": "true",
        },
        submit="Save",
    )
    screening.refresh_from_db()
    assert sorted(screening.systemic_involvement) == ["polyarthritis", "vasculitis"]
    assert screening.esr_persistently_raised is True


def test_an_investigator_confirms_day_0_prescribes_and_records_rituximab_by_keyboard(
    page, site_pumch, coordinator_pumch, investigator_pumch
):
    today = timezone.localdate()
    participant = make_participant(
        site=site_pumch, coordinator=coordinator_pumch, investigator=investigator_pumch, day_0=today
    )
    log_in_with_keyboard(page, investigator_pumch)
    page.goto(f"/participants/{participant.subject_id}/")

    follow_link(page, "Day 0 re-confirmation (EXC5)")
    no = "no"
    complete_form(
        page,
        {
            "confirmed_on": today,
            "chronic_infection_suppressive_therapy": no,
            "infection_hospitalisation": no,
            "parenteral_antimicrobials": no,
            "live_vaccine": no,
            "high_infection_risk": no,
        },
        submit="Confirm",
    )
    assert "EXC5 re-confirmed" in page.locator(".messages").inner_text()

    follow_link(page, "Prescribe next infusion")
    answers = {
        "drug": "rituximab",
        "planned_on": today,
        "weight_kg": "32",
        "height_cm": "138",
        "anthropometry_measured_on": today,
    }
    complete_form(page, answers, submit="Calculate")
    assert "1.11 m²" in page.locator("#dose-proposal").inner_text()
    complete_form(page, {"password": PASSWORD}, submit="Prescribe and sign")
    assert "prescribed and signed" in page.locator(".messages").inner_text()
    prescription = Prescription.objects.get(participant=participant)
    assert prescription.prescribed_dose_mg == Decimal("416")

    follow_link(page, "Record administration")
    complete_form(
        page,
        {
            "given_on": today,
            "start_time": time(9, 0),
            "stop_time": time(13, 30),
            "administered_dose_mg": "416",
            "lot_number": "RTX-H0421",
            "premedication": {"antipyretic", "antihistamine"},
            "infusion_reaction": "yes",
            "reaction_grade": "1",
            "reaction_action": "Infusion slowed for 30 minutes.",
        },
        submit="Record infusion",
    )

    assert "infusion" in page.locator(".messages").inner_text()
    infusion = Infusion.objects.get(participant=participant)
    assert infusion.given_on == today and infusion.lot_number == "RTX-H0421"
    assert (infusion.start_time, infusion.stop_time) == (time(9, 0), time(13, 30))
    assert sorted(infusion.premedication) == ["antihistamine", "antipyretic"]
    assert infusion.infusion_reaction is True and infusion.reaction_grade == 1
