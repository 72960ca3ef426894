"""The demo data: each demo participant is where its key says (issue 5, "Demo data")."""

from __future__ import annotations

import pytest
from django.utils import timezone

from demo import seed as demo
from demo import treatment as dosing_demo
from demo.participants import seed_participants
from dosing import engine
from dosing.models import Deviation, Visit
from dosing.selectors import course_facts, course_for, gate_view
from enrollment.rules import DiscontinuationReason, ParticipantStatus

pytestmark = pytest.mark.django_db


@pytest.fixture
def seeded():
    demo.seed_sites_and_users()
    today = timezone.localdate()
    participants = seed_participants(today, demo.DEMO_PASSWORD)
    dosing_demo.seed(today, participants)
    for participant in participants.values():
        participant.refresh_from_db()
    return today, participants


def rituximab_count(participant) -> int:
    return participant.infusions.active().filter(drug="rituximab").count()


def test_each_demo_participant_is_in_the_phase_its_key_says(seeded):
    today, p = seeded
    assert p["enrolled"].status == ParticipantStatus.ENROLLED
    assert not p["enrolled"].infusions.exists()

    assert p["rituximab"].status == ParticipantStatus.RITUXIMAB
    assert 1 <= rituximab_count(p["rituximab"]) <= 2
    assert p["rituximab"].day_0_confirmations.get().passed

    assert p["belimumab"].status == ParticipantStatus.BELIMUMAB
    assert course_for(p["belimumab"], today).phase is engine.Phase.BELIMUMAB
    assert 1 <= p["belimumab"].infusions.filter(drug="belimumab").count() <= 3
    assert Visit.objects.filter(participant=p["belimumab"], visit_code="BASELINE").exists()

    assert p["completed"].status == ParticipantStatus.COMPLETED
    assert set(
        Visit.objects.filter(participant=p["completed"], visit_code__in=["W12", "W28"]).values_list(
            "visit_code", flat=True
        )
    ) == {"W12", "W28"}

    assert p["discontinued_gate"].status == ParticipantStatus.DISCONTINUED
    change = p["discontinued_gate"].status_changes.latest("pk")
    assert change.discontinuation_reason == DiscontinuationReason.LAB_GATE

    awaiting = course_for(p["awaiting_first_belimumab"], today)
    assert p["awaiting_first_belimumab"].status == ParticipantStatus.RITUXIMAB
    assert awaiting.phase is engine.Phase.AWAITING_FIRST_BELIMUMAB
    assert awaiting.rituximab_complete_after == 2
    assert awaiting.next_infusion is not None
    assert awaiting.next_infusion.visit_code == "BEL1"
    assert awaiting.next_infusion.target >= today  # still due, not missed
    inputs = course_facts(p["awaiting_first_belimumab"], today)
    gate = gate_view(awaiting, inputs)
    assert gate is not None
    assert gate.result.outcome is engine.GateOutcome.MISSING  # pending: no labs yet

    assert p["withdrawn"].status == ParticipantStatus.WITHDRAWN
    assert 1 <= rituximab_count(p["withdrawn"]) <= 2


def test_the_late_first_belimumab_of_the_demo_has_its_automatic_deviation(seeded):
    _today, p = seeded
    deviation = Deviation.objects.active().get(participant=p["belimumab_deviation"])
    assert deviation.automatic
    assert (deviation.category, deviation.visit_code) == ("infusion_out_of_window", "BEL1")
    # Nobody else has one: the demo timelines are otherwise on schedule.
    assert Deviation.objects.active().count() == 1


def test_the_demo_has_a_participant_in_every_phase_of_the_schedule(seeded):
    today, p = seeded
    phases = {course_for(participant, today).phase for participant in p.values()}
    assert phases == set(engine.Phase)


def test_the_demo_has_a_participant_whose_course_is_being_entered_late(seeded):
    """Issue 15: seven months after Day 0, entered today up to belimumab 1: the later
    events are "not recorded", nothing is complete, belimumab 2 is what comes next."""
    today, p = seeded
    late = p["late_entry"]
    course = course_for(late, today)
    assert late.status == ParticipantStatus.BELIMUMAB
    assert course.phase is engine.Phase.BELIMUMAB
    assert course.next_infusion is not None and course.next_infusion.visit_code == "BEL2"
    assert course.event("BEL2").status is engine.EventStatus.NOT_RECORDED
    assert course.event("W12").status is engine.EventStatus.NOT_RECORDED
    assert not late.status_changes.filter(to_status=ParticipantStatus.COMPLETED).exists()
    assert not Deviation.objects.filter(
        participant=late, category__in=["infusion_out_of_window", "visit_out_of_window"]
    ).exists()
