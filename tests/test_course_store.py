"""The stored course (issue 14): rebuilt with every write of its facts, equal to the engine's
course, its today-dependent statuses computed in SQL by the engine's rules, and checked by
``manage.py check_course``, which reports a row changed behind the app's back."""

from __future__ import annotations

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.utils import timezone

from demo import loaddata
from demo import seed as demo
from dosing import engine
from dosing.models import CourseEvent, Drug, Infusion
from dosing.selectors import course_facts_for, stored_events_of
from enrollment.models import Participant
from tests.factories.dosing import make_course

pytestmark = pytest.mark.django_db


def check_course(*args: str) -> str:
    out = StringIO()
    call_command("check_course", *args, stdout=out)
    return out.getvalue()


def engine_statuses(participants, today) -> dict[tuple[int, str], engine.EventStatus]:
    facts = course_facts_for(list(participants), today)
    return {
        (pk, event.visit_code): event.status
        for pk, fact in facts.items()
        for event in engine.build_course(fact).events
    }


def stored_statuses(participants, today) -> dict[tuple[int, str], engine.EventStatus]:
    return {
        (pk, event.visit_code): event.status
        for pk, events in stored_events_of(participants, today).items()
        for event in events
    }


def test_the_demo_trial_has_its_course_stored_as_the_engine_builds_it():
    demo.seed_sites_and_users()
    today = timezone.localdate()
    demo.seed_trial_data(today)
    participants = Participant.objects.order_by("pk")

    report = check_course()
    assert report.endswith(f"{participants.count()} participants checked: 0 differences\n")
    assert CourseEvent.objects.filter(participant__in=participants).count() > 5 * len(participants)
    # The statuses the pages compute in SQL are the engine's, whatever the day.
    for days in (-200, -30, -7, 0, 3, 10, 60, 200):
        day = today + timedelta(days=days)
        assert stored_statuses(participants, day) == engine_statuses(participants, day), days

    # A raw-SQL change of an infusion date (no write through the app) is reported.
    infusion = Infusion.objects.filter(drug=Drug.BELIMUMAB).order_by("pk").first()
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE dosing_infusion SET given_on = given_on + 2 WHERE id = %s", [infusion.pk]
        )
    with pytest.raises(CommandError):
        check_course()
    out = StringIO()
    with pytest.raises(CommandError):
        call_command("check_course", stdout=out)
    code = f"{infusion.participant.subject_id} BEL{infusion.number}"
    assert f"{code} actual:" in out.getvalue()

    assert "courses rebuilt" in check_course("--rebuild")
    assert check_course().endswith("0 differences\n")


def test_every_write_keeps_the_stored_course_in_step(
    site_pumch, coordinator_pumch, investigator_pumch
):
    today = timezone.localdate()
    course = make_course(
        site=site_pumch,
        coordinator=coordinator_pumch,
        investigator=investigator_pumch,
        day_0=today - timedelta(days=40),
    )
    participant = course.participant
    stored = CourseEvent.objects.filter(participant=participant)
    assert stored.get(visit_code="RTX1").moves_with_plan  # stored at enrolment
    course.day_0().rituximab(0, 7).depleted(10)
    assert stored.get(visit_code="RTX1").actual == course.day(0)
    assert stored.get(visit_code="BEL1").target == course.day(35)
    assert not stored.filter(visit_code="RTX3", outcome="awaited").exists()
    assert check_course().endswith("0 differences\n")


def test_the_load_data_has_its_course_stored(
    site_pumch,
    site_chcmu,
    coordinator_pumch,
    investigator_pumch,
    coordinator_chcmu,
    investigator_chcmu,
):
    today = timezone.localdate()
    loaddata.generate(
        participants=24,
        sites=[site_pumch, site_chcmu],
        staff={
            site_pumch.pk: loaddata.Staff(coordinator_pumch, investigator_pumch),
            site_chcmu.pk: loaddata.Staff(coordinator_chcmu, investigator_chcmu),
        },
        today=today,
        seed=5,
    )
    assert Participant.objects.count() == 24
    assert check_course().endswith("24 participants checked: 0 differences\n")
