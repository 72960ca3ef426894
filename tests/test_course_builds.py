"""A write builds the participant's course once and hands it on (issue 14).

Counted with a profiler on the engine's one entry, ``dosing.engine.build.build_course``:
nothing is patched, the request runs exactly as in production.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from dosing.engine import build
from dosing.models import Drug, Infusion
from tests.factories.dosing import make_course

pytestmark = pytest.mark.django_db


class Calls:
    count = 0


@contextmanager
def engine_runs() -> Iterator[Calls]:
    """Count the calls of ``build_course`` made in this thread inside the block."""
    calls = Calls()
    code = build.build_course.__code__
    previous = sys.getprofile()

    def profile(frame, event, arg):
        if event == "call" and frame.f_code is code:
            calls.count += 1

    sys.setprofile(profile)
    try:
        yield calls
    finally:
        sys.setprofile(previous)


@pytest.fixture
def course(site_pumch, coordinator_pumch, investigator_pumch):
    """Rituximab 1 given 7 days ago; rituximab 2 is due today and prescribed."""
    today = timezone.localdate()
    course = make_course(
        site=site_pumch,
        coordinator=coordinator_pumch,
        investigator=investigator_pumch,
        day_0=today - timedelta(days=7),
    )
    return course.day_0().rituximab(0)


def test_one_infusion_post_runs_the_engine_exactly_once(client_for, coordinator_pumch, course):
    prescription = course.prescribe(Drug.RITUXIMAB, 7)
    client = client_for(coordinator_pumch)
    url = reverse("dosing:infusion", kwargs={"subject_id": course.participant.subject_id})

    with engine_runs() as runs:
        response = client.post(
            url,
            {
                "given_on": timezone.localdate(),
                "administered_dose_mg": str(prescription.prescribed_dose_mg),
                "lot_number": "L2",
                "infusion_reaction": "no",
            },
        )

    assert response.status_code == 302
    assert Infusion.objects.filter(participant=course.participant).count() == 2
    assert runs.count == 1


def test_the_counter_sees_every_engine_run(course):
    """The profiler is not blind: two builds in the block are two runs."""
    from dosing.selectors import course_for

    with engine_runs() as runs:
        course_for(course.participant, timezone.localdate())
        course_for(course.participant, timezone.localdate())
    assert runs.count == 2
