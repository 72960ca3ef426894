"""Dosing pages: access (404 other site, 403 read-only), form errors never 500, the
calendars and the iCalendar feed."""

from __future__ import annotations

import re
from datetime import timedelta

import icalendar
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from dosing import services
from dosing.models import BCellResult, Drug, Infusion, Prescription
from enrollment.rules import ParticipantStatus
from tests.factories.dosing import Course, make_course

pytestmark = pytest.mark.django_db


def today():
    return timezone.localdate()


TODAY = 12  # the study day that is today for the ``course`` fixture


@pytest.fixture
def course(site_pumch, coordinator_pumch, investigator_pumch) -> Course:
    """A PUMCH participant given rituximab 12 and 5 days ago (B-cell result awaited).

    Today is day 12, the first day of rituximab 3's window (target day 14, +-2, SCH1).
    """
    course = make_course(
        site=site_pumch,
        coordinator=coordinator_pumch,
        investigator=investigator_pumch,
        day_0=today() - timedelta(days=TODAY),
    )
    return course.day_0().rituximab(0, 7)


@pytest.fixture
def other_site_course(site_chcmu, coordinator_chcmu, investigator_chcmu) -> Course:
    course = make_course(
        site=site_chcmu,
        coordinator=coordinator_chcmu,
        investigator=investigator_chcmu,
        day_0=today() - timedelta(days=3),
    )
    return course.day_0().rituximab(0)


def url(name: str, course: Course, **kwargs) -> str:
    return reverse(f"dosing:{name}", kwargs={"subject_id": course.participant.subject_id, **kwargs})


# --- Access ---------


@pytest.mark.parametrize(
    "name", ["b_cells", "visit_add", "gate_labs", "participant_deviations", "deviation_add"]
)
def test_a_coordinator_of_another_site_gets_404(client_for, coordinator_chcmu, course, name):
    response = client_for(coordinator_chcmu).get(url(name, course))
    assert response.status_code == 404


def test_the_participant_page_of_another_site_is_404_too(client_for, coordinator_chcmu, course):
    response = client_for(coordinator_chcmu).get(
        reverse("participant_detail", args=[course.participant.subject_id])
    )
    assert response.status_code == 404


def test_a_monitor_reads_the_deviations_but_gets_403_on_a_post(client_for, monitor_pumch, course):
    client = client_for(monitor_pumch)
    assert client.get(url("participant_deviations", course)).status_code == 200

    response = client.post(url("b_cells", course), {"taken_on": today(), "cd19_percent": "0.2"})

    assert response.status_code == 403
    assert not BCellResult.objects.exists()


def test_a_coordinator_cannot_open_the_prescription_form(client_for, coordinator_pumch, course):
    assert client_for(coordinator_pumch).get(url("prescribe", course)).status_code == 403


# --- Forms: errors, never a 500 ---------


def test_a_b_cell_result_with_letters_and_a_future_date_shows_form_errors(
    client_for, coordinator_pumch, course
):
    response = client_for(coordinator_pumch).post(
        url("b_cells", course),
        {"taken_on": today() + timedelta(days=1), "cd19_percent": "abc"},
    )
    assert response.status_code == 200
    assert response.context["form"].errors.keys() >= {"taken_on", "cd19_percent"}
    assert not BCellResult.objects.exists()


def test_a_depleting_b_cell_result_through_the_form_ends_the_rituximab_phase(
    client_for, coordinator_pumch, course
):
    response = client_for(coordinator_pumch).post(
        url("b_cells", course),
        {
            "taken_on": today(),
            "cd19_percent": "0.3",
            "cd19_absolute_entered": "0.005",
            "cd19_absolute_unit": "10e9/L",
        },
        follow=True,
    )
    assert response.status_code == 200
    assert "depleted (SCH2)" in response.content.decode()
    assert BCellResult.objects.get().cd19_absolute == 5
    first_belimumab = course.day(7) + timedelta(days=28)
    assert f'data-next-infusion="BEL1" data-target="{first_belimumab:%Y-%m-%d}"' in (
        response.content.decode()
    )


def test_impossible_gate_labs_show_form_errors(client_for, coordinator_pumch, course):
    response = client_for(coordinator_pumch).post(
        url("gate_labs", course),
        {"igg_value": "400", "igg_unit": "g/L", "igg_date": today(), "iga_value": "0.5"},
    )
    assert response.status_code == 200
    errors = response.context["form"].errors
    assert "igg_value" in errors and "iga_date" in errors


def _tied(html: str, name: str) -> bool:
    """The input ``name`` is marked invalid (for screen readers and to the eye) and
    points at its own error message."""
    tag = re.search(rf'<(?:input|select)\b[^>]*\bname="{name}"[^>]*>', html).group(0)
    error = re.search(rf'id="id_{name}_error"[^>]*>([^<]+)<', html)
    return (
        'aria-invalid="true"' in tag
        and re.search(r'class="[^"]*\bis-invalid\b', tag) is not None
        and f'aria-describedby="id_{name}_error"' in tag
        and error is not None
        and error.group(1).strip() != ""
    )


def test_gate_lab_errors_are_tied_to_their_value_unit_and_date_inputs(
    client_for, coordinator_pumch, course
):
    response = client_for(coordinator_pumch).post(
        url("gate_labs", course),
        {
            "igg_value": "400",
            "igg_unit": "g/L",
            "igg_date": today(),
            "iga_value": "0.5",
            "iga_unit": "furlongs",
            "wbc_value": "5",
            "wbc_date": "31/02/2026",
        },
    )
    assert response.status_code == 200
    html = response.content.decode()
    for name in ("igg_value", "iga_unit", "iga_date", "wbc_date"):
        assert _tied(html, name), name
    assert not _tied(html, "igg_date")  # a correct input is not marked


def test_gate_labs_with_nothing_entered_say_so_at_the_first_input(
    client_for, coordinator_pumch, course
):
    blank = {
        f"{code}_{part}": ""
        for code in ("igg", "iga", "wbc", "neutrophils")
        for part in ("value", "unit", "date")
    }  # what the browser sends untouched
    response = client_for(coordinator_pumch).post(url("gate_labs", course), blank)
    assert response.status_code == 200
    assert _tied(response.content.decode(), "igg_value")


def test_a_prescription_with_zero_weight_shows_form_errors(client_for, investigator_pumch, course):
    response = client_for(investigator_pumch).post(
        url("prescribe", course),
        {"drug": "rituximab", "planned_on": "x", "weight_kg": "0", "height_cm": "999999"},
    )
    assert response.status_code == 200
    assert response.context["form"].errors.keys() >= {"planned_on", "weight_kg", "height_cm"}
    assert not Prescription.objects.filter(participant=course.participant, infusion=None).exists()


def test_calculate_shows_the_proposed_dose_without_saving(client_for, investigator_pumch, course):
    response = client_for(investigator_pumch).post(
        url("prescribe", course),
        {
            "drug": "rituximab",
            "planned_on": today(),
            "weight_kg": "32",
            "height_cm": "138",
            "anthropometry_measured_on": today(),
            "calculate": "1",
        },
    )
    assert response.status_code == 200
    content = response.content.decode()
    assert "1.11 m²" in content
    assert 'value="416"' in content  # the prescribed dose is filled with the proposal
    assert not Prescription.objects.filter(infusion=None).exists()


def test_an_infusion_the_engine_refuses_shows_its_reason_on_the_form(
    client_for, investigator_pumch, coordinator_pumch, course, password
):
    # Rituximab 3 prescribed, then B cells turn out depleted: rituximab 3 is not needed.
    prescription = course.prescribe(Drug.RITUXIMAB, TODAY)
    course.depleted(TODAY)

    response = client_for(coordinator_pumch).post(
        url("infusion", course),
        {
            "given_on": today(),
            "administered_dose_mg": str(prescription.prescribed_dose_mg),
            "lot_number": "L1",
            "infusion_reaction": "no",
        },
    )

    assert response.status_code == 200
    assert "is not needed" in response.content.decode()
    assert Infusion.objects.count() == 2


def early_course(site, coordinator, investigator) -> Course:
    """Rituximab 8 and 1 days ago: today is day 8, rituximab 3's window opens in 4 days.

    Rituximab 2 on day 7 puts rituximab 3 on target day 14, window days 12 to 16 (SCH1).
    """
    course = make_course(
        site=site,
        coordinator=coordinator,
        investigator=investigator,
        day_0=today() - timedelta(days=8),
    )
    return course.day_0().rituximab(0, 7)


def test_a_prescription_dated_before_the_window_shows_the_reason_and_saves_nothing(
    client_for, investigator_pumch, coordinator_pumch, site_pumch, password
):
    course = early_course(site_pumch, coordinator_pumch, investigator_pumch)
    response = client_for(investigator_pumch).post(
        url("prescribe", course),
        {
            "drug": "rituximab",
            "planned_on": today(),
            "weight_kg": "32",
            "height_cm": "138",
            "anthropometry_measured_on": today(),
            "prescribed_dose_mg": "416",
            "password": password,
        },
    )

    assert response.status_code == 200
    errors = response.context["form"].non_field_errors()
    assert len(errors) == 1
    assert "Rituximab infusion 3" in errors[0] and "too early" in errors[0]
    assert f"target {course.day(14):%Y-%m-%d}" in errors[0]
    assert f"window {course.day(12):%Y-%m-%d} to {course.day(16):%Y-%m-%d}" in errors[0]
    assert "too early" in response.content.decode()
    assert not Prescription.objects.filter(participant=course.participant, infusion=None).exists()


def test_an_infusion_dated_before_the_window_shows_the_reason_and_saves_nothing(
    client_for, coordinator_pumch, investigator_pumch, site_pumch
):
    course = early_course(site_pumch, coordinator_pumch, investigator_pumch)
    # Prescribed today for day 14, its target; then the nurse records it as given today.
    prescription = course.prescribe(Drug.RITUXIMAB, 14, today=8, measured=8)

    response = client_for(coordinator_pumch).post(
        url("infusion", course),
        {
            "given_on": today(),
            "administered_dose_mg": str(prescription.prescribed_dose_mg),
            "lot_number": "L1",
            "infusion_reaction": "no",
        },
    )

    assert response.status_code == 200
    content = response.content.decode()
    assert "Rituximab infusion 3" in content and "too early" in content
    assert f"target {course.day(14):%Y-%m-%d}" in content
    assert Infusion.objects.filter(participant=course.participant).count() == 2
    assert course.participant.visits.filter(visit_code="RTX3").count() == 0


def test_an_infusion_reaction_without_grade_shows_form_errors(
    client_for, coordinator_pumch, course
):
    course.prescribe(Drug.RITUXIMAB, TODAY)
    response = client_for(coordinator_pumch).post(
        url("infusion", course),
        {
            "given_on": today(),
            "administered_dose_mg": "416",
            "lot_number": "L1",
            "infusion_reaction": "yes",
            "reaction_grade": "7",
            "start_time": "14:00",
            "stop_time": "09:00",
        },
    )
    assert response.status_code == 200
    assert response.context["form"].errors.keys() >= {"reaction_grade", "stop_time"}
    assert Infusion.objects.count() == 2


def test_a_visit_out_of_window_without_explanation_shows_the_window(
    client_for, coordinator_pumch, site_pumch, investigator_pumch
):
    late = make_course(
        site=site_pumch,
        coordinator=coordinator_pumch,
        investigator=investigator_pumch,
        day_0=today() - timedelta(days=100),
    )
    late.day_0().rituximab(0, 7).not_depleted(10)
    response = client_for(coordinator_pumch).post(
        url("visit_add", late), {"visit_code": "W12", "visit_date": today()}
    )
    assert response.status_code == 200
    assert "outside its window" in response.content.decode()


def test_the_investigator_discontinues_at_a_failing_gate_through_the_page(
    client_for, investigator_pumch, site_pumch, coordinator_pumch
):
    course = make_course(
        site=site_pumch,
        coordinator=coordinator_pumch,
        investigator=investigator_pumch,
        day_0=today() - timedelta(days=30),
    )
    course.day_0().rituximab(0, 7).depleted(10).labs(29, wbc="1.4")
    client = client_for(investigator_pumch)
    page = client.get(url("gate_labs", course)).content.decode()
    assert 'data-gate="fail"' in page
    assert "EXC11" in page

    client.post(url("gate_discontinue", course), {"confirm": "on"})

    assert course.refresh().status == ParticipantStatus.DISCONTINUED


# --- Calendars ---------


def test_the_month_calendar_shows_the_users_sites_only(
    client_for, coordinator_pumch, course, other_site_course
):
    response = client_for(coordinator_pumch).get(
        reverse("dosing:calendar"), {"month": f"{today():%Y-%m}"}
    )
    content = response.content.decode()
    assert response.status_code == 200
    assert f'data-subject="{course.participant.subject_id}"' in content
    assert other_site_course.participant.subject_id not in content


def test_a_wrong_month_falls_back_to_this_month(client_for, coordinator_pumch, course):
    response = client_for(coordinator_pumch).get(reverse("dosing:calendar"), {"month": "2026-13"})
    assert response.status_code == 200
    assert response.context["calendar"].month == today().replace(day=1)


def test_the_month_calendar_query_count_does_not_grow_with_participants(
    client_for, coordinator_pumch, investigator_pumch, site_pumch, course
):
    client = client_for(coordinator_pumch)
    with CaptureQueriesContext(connection) as one:
        client.get(reverse("dosing:calendar"))
    for offset in (20, 40):
        make_course(
            site=site_pumch,
            coordinator=coordinator_pumch,
            investigator=investigator_pumch,
            day_0=today() - timedelta(days=offset),
        ).day_0().rituximab(0, 7).depleted(10)
    with CaptureQueriesContext(connection) as three:
        client.get(reverse("dosing:calendar"))
    assert len(three) == len(one)


def test_the_dashboard_lists_what_is_due_this_week(client_for, coordinator_pumch, course):
    response = client_for(coordinator_pumch).get(reverse("dashboard"))
    due = [i.event.visit_code for i in response.context["dosing_work"]["due_this_week"]]
    assert due == ["RTX3"]  # B cells awaited: rituximab 3 stays due on day 14
    assert "Rituximab infusion 3" in response.content.decode()


# --- The iCalendar feed ---------


def _feed(client, user) -> tuple[str, str]:
    client.force_login(user)
    token = services.calendar_feed_create(user=user)
    client.logout()
    return token, reverse("dosing:feed_ics", kwargs={"token": token})


def test_the_ics_feed_parses_and_holds_no_clinical_value_nor_other_sites(
    client, coordinator_pumch, course, other_site_course
):
    course.depleted(9)
    _token, feed_url = _feed(client, coordinator_pumch)

    response = client.get(feed_url)  # no login: phone calendars cannot log in

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/calendar")
    calendar = icalendar.Calendar.from_ical(response.content)
    events = list(calendar.walk("VEVENT"))
    summaries = [str(e["SUMMARY"]) for e in events]
    assert any("Belimumab infusion 1" in s for s in summaries)
    assert all(s.startswith(course.participant.subject_id) for s in summaries)
    text = response.content.decode()
    assert other_site_course.participant.subject_id not in text
    for clinical in (" mg", "%", "×10", "10^", "CD19", "IgG", "depleted", "kg"):
        assert clinical not in text, clinical
    # The dose (416 mg) is digits a date can also hold (20270416): look for it everywhere
    # but in the date properties.
    undated = [
        line for line in text.splitlines() if not line.startswith(("DTSTART", "DTEND", "DTSTAMP"))
    ]
    assert undated and all("416" not in line for line in undated)


def test_a_revoked_or_unknown_feed_token_is_404(client, coordinator_pumch, course):
    token, feed_url = _feed(client, coordinator_pumch)
    services.calendar_feed_revoke(user=coordinator_pumch)

    assert client.get(feed_url).status_code == 404
    assert client.get(reverse("dosing:feed_ics", kwargs={"token": "x" * 43})).status_code == 404


def test_the_feed_page_shows_the_address_once_and_revokes_it(client_for, coordinator_pumch):
    client = client_for(coordinator_pumch)
    response = client.post(reverse("dosing:feed"), {"create": "1"}, follow=True)
    feed_url = response.context["feed_url"]
    assert feed_url and "/dosing/calendar/feed/" in feed_url
    assert client.get(reverse("dosing:feed")).context["feed_url"] is None  # shown once

    client.post(reverse("dosing:feed"), {"revoke": "1"})
    client.logout()
    assert client.get(feed_url).status_code == 404


def test_only_an_investigator_voids_a_prescription(
    client_for, coordinator_pumch, investigator_pumch, course
):
    prescription = course.prescribe(Drug.RITUXIMAB, TODAY)
    void_url = url("prescription_void", course, pk=prescription.pk)

    assert client_for(coordinator_pumch).post(void_url, {"reason": "x"}).status_code == 403
    client_for(investigator_pumch).post(void_url, {"reason": "Infusion postponed"})

    prescription.refresh_from_db()
    assert prescription.is_voided
    assert prescription.void_reason == "Infusion postponed"


def test_a_monitor_opens_a_deviation_but_cannot_explain_it(
    client_for, monitor_pumch, site_pumch, coordinator_pumch, investigator_pumch
):
    late = make_course(
        site=site_pumch,
        coordinator=coordinator_pumch,
        investigator=investigator_pumch,
        day_0=today() - timedelta(days=60),
    )
    late.day_0().rituximab(0, 7).depleted(10).labs(38).belimumab(40)
    deviation = late.participant.deviations.get()
    page = reverse("dosing:deviation_explain", args=[deviation.pk])
    client = client_for(monitor_pumch)

    assert client.get(page).status_code == 200
    assert client.post(page, {"explanation": "x"}).status_code == 403
    deviation.refresh_from_db()
    assert deviation.explanation == ""


# --- Corrections (lead) ----------------------------------------------------------------------


def test_a_b_cell_result_entered_in_error_is_voided_and_the_schedule_follows(
    client_for, coordinator_pumch, investigator_pumch, site_pumch
):
    from tests.factories.enrollment import make_participant

    participant = make_participant(
        site=site_pumch, coordinator=coordinator_pumch, investigator=investigator_pumch
    )
    result = BCellResult.objects.create(
        participant=participant,
        taken_on=participant.enrolled_on,
        cd19_percent="0.2",
        created_by=coordinator_pumch,
        updated_by=coordinator_pumch,
    )
    client = client_for(coordinator_pumch)
    url = reverse("dosing:b_cell_void", args=[participant.subject_id, result.pk])
    assert client.post(url, {"reason": ""}).status_code == 302
    result.refresh_from_db()
    assert result.voided_at is None  # no reason: nothing voided
    client.post(url, {"reason": "Result of another patient"})
    result.refresh_from_db()
    assert result.void_reason == "Result of another patient"
    assert BCellResult.objects.filter(pk=result.pk).exists()


def test_a_monitor_cannot_void_a_result(
    client_for, coordinator_pumch, investigator_pumch, monitor_pumch, site_pumch
):
    from tests.factories.enrollment import make_participant

    participant = make_participant(
        site=site_pumch, coordinator=coordinator_pumch, investigator=investigator_pumch
    )
    result = BCellResult.objects.create(
        participant=participant,
        taken_on=participant.enrolled_on,
        cd19_percent="0.2",
    )
    response = client_for(monitor_pumch).post(
        reverse("dosing:b_cell_void", args=[participant.subject_id, result.pk]), {"reason": "x"}
    )
    assert response.status_code == 403
    result.refresh_from_db()
    assert result.voided_at is None
