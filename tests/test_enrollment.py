"""Enrolment: signed eligibility, consent and assent, subject IDs, the ENR1 cap, status."""

from __future__ import annotations

import threading
from datetime import date, timedelta

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.utils import timezone

from eligibility.models import Screening, ScreeningStatus
from enrollment import services
from enrollment.models import Consent, ConsentKind, Participant
from enrollment.rules import ParticipantStatus
from enrollment.selectors import reconsent_needed
from tests.factories.eligibility import EligibleScreeningFactory
from tests.factories.enrollment import (
    ConsentFactory,
    ConsentFormVersionFactory,
    ParticipantFactory,
    make_ready_screening,
)
from trialsite import protocol

pytestmark = pytest.mark.django_db

DAY_0 = date(2026, 11, 20)
ENROL_ON = date(2026, 11, 13)


@pytest.fixture
def ready(site_pumch, coordinator_pumch, investigator_pumch):
    """An eligible, signed, consented candidate at PUMCH."""
    return make_ready_screening(
        site=site_pumch, coordinator=coordinator_pumch, investigator=investigator_pumch
    )


def enrol(screening, user, on=ENROL_ON):
    return services.enroll_participant(screening=screening, user=user, enrolled_on=on)


def test_an_eligible_signed_consented_candidate_is_enrolled(ready, coordinator_pumch):
    participant = enrol(ready, coordinator_pumch)
    ready.refresh_from_db()
    assert participant.subject_id == "PUMCH-001"
    assert participant.status == ParticipantStatus.ENROLLED
    assert participant.enrolled_by == coordinator_pumch
    assert ready.status == ScreeningStatus.ENROLLED
    assert participant.status_changes.get().to_status == ParticipantStatus.ENROLLED


def test_enrolment_is_refused_without_a_signed_eligibility(site_pumch, coordinator_pumch):
    from demo.participants import record_consents

    screening = EligibleScreeningFactory(site=site_pumch, user=coordinator_pumch)
    record_consents(screening=screening, user=coordinator_pumch, signed_on=screening.screening_date)
    with pytest.raises(ValidationError, match="No investigator has signed"):
        enrol(screening, coordinator_pumch)
    assert not Participant.objects.exists()


def test_enrolment_is_refused_without_guardian_consent(ready, coordinator_pumch):
    Consent.objects.filter(screening=ready).update(
        kind=ConsentKind.CHILD_ASSENT, guardian_relationship=""
    )
    with pytest.raises(ValidationError, match="No guardian informed consent"):
        enrol(ready, coordinator_pumch)


def test_consent_dated_after_enrolment_does_not_count(ready, coordinator_pumch):
    with pytest.raises(ValidationError, match="on or before"):
        enrol(ready, coordinator_pumch, on=ready.screening_date - timedelta(days=1))


def test_a_child_of_eight_needs_assent(site_pumch, coordinator_pumch, investigator_pumch):
    screening = make_ready_screening(
        site=site_pumch,
        coordinator=coordinator_pumch,
        investigator=investigator_pumch,
        date_of_birth=date(2018, 11, 6),  # 8 on the consent date 2026-11-06
    )
    Consent.objects.filter(screening=screening, kind=ConsentKind.CHILD_ASSENT).update(
        voided_at=timezone.now(), void_reason="entered on the wrong candidate"
    )
    with pytest.raises(ValidationError, match="child assent"):
        enrol(screening, coordinator_pumch)


def test_a_child_of_seven_is_enrolled_without_assent(
    site_pumch, coordinator_pumch, investigator_pumch
):
    screening = make_ready_screening(
        site=site_pumch,
        coordinator=coordinator_pumch,
        investigator=investigator_pumch,
        date_of_birth=date(2018, 11, 7),  # 7 on the consent date 2026-11-06
    )
    assert not screening.consents.filter(kind=ConsentKind.CHILD_ASSENT).exists()
    assert enrol(screening, coordinator_pumch).subject_id == "PUMCH-001"


def test_subject_ids_are_sequential_per_site_and_never_reused(
    site_pumch,
    site_chcmu,
    coordinator_pumch,
    investigator_pumch,
    coordinator_chcmu,
    investigator_chcmu,
):
    first = ParticipantFactory(
        site=site_pumch, coordinator=coordinator_pumch, investigator=investigator_pumch
    )
    services.withdraw_consent(
        participant=first, user=coordinator_pumch, withdrawn_on=ENROL_ON, data_may_be_kept=True
    )
    second = ParticipantFactory(
        site=site_pumch, coordinator=coordinator_pumch, investigator=investigator_pumch
    )
    other = ParticipantFactory(
        site=site_chcmu, coordinator=coordinator_chcmu, investigator=investigator_chcmu
    )
    assert [first.subject_id, second.subject_id, other.subject_id] == [
        "PUMCH-001",
        "PUMCH-002",
        "CHCMU-001",
    ]
    assert Participant.objects.get(pk=first.pk).status == ParticipantStatus.WITHDRAWN


def test_the_database_refuses_a_duplicate_subject_id(
    site_pumch, coordinator_pumch, investigator_pumch
):
    from django.db import IntegrityError, transaction

    participant = ParticipantFactory(
        site=site_pumch, coordinator=coordinator_pumch, investigator=investigator_pumch
    )
    other = ParticipantFactory(
        site=site_pumch, coordinator=coordinator_pumch, investigator=investigator_pumch
    )
    with pytest.raises(IntegrityError), transaction.atomic():
        Participant.objects.filter(pk=other.pk).update(subject_id=participant.subject_id)


@pytest.mark.parametrize(
    ("start", "target"),
    [
        (ParticipantStatus.ENROLLED, ParticipantStatus.BELIMUMAB),
        (ParticipantStatus.ENROLLED, ParticipantStatus.COMPLETED),
        (ParticipantStatus.RITUXIMAB, ParticipantStatus.ENROLLED),
        (ParticipantStatus.WITHDRAWN, ParticipantStatus.RITUXIMAB),
        (ParticipantStatus.COMPLETED, ParticipantStatus.DISCONTINUED),
    ],
)
def test_illegal_status_transitions_are_refused(
    site_pumch, coordinator_pumch, investigator_pumch, start, target
):
    participant = ParticipantFactory(
        site=site_pumch, coordinator=coordinator_pumch, investigator=investigator_pumch
    )
    Participant.objects.filter(pk=participant.pk).update(status=start)
    with pytest.raises(ValidationError, match="cannot go from"):
        services.participant_transition(
            participant=participant,
            to_status=target,
            user=coordinator_pumch,
            on=ENROL_ON,
            reason="test",
            discontinuation_reason="other",
        )
    assert Participant.objects.get(pk=participant.pk).status == start


def test_a_legal_transition_records_who_when_and_why(
    site_pumch, coordinator_pumch, investigator_pumch
):
    participant = ParticipantFactory(
        site=site_pumch, coordinator=coordinator_pumch, investigator=investigator_pumch
    )
    services.participant_transition(
        participant=participant,
        to_status=ParticipantStatus.DISCONTINUED,
        user=investigator_pumch,
        on=ENROL_ON,
        reason="Severe infection",
        discontinuation_reason="adverse_event",
    )
    change = participant.status_changes.order_by("-pk").first()
    assert (change.from_status, change.to_status) == ("enrolled", "discontinued")
    assert (change.created_by, change.reason, change.discontinuation_reason) == (
        investigator_pumch,
        "Severe infection",
        "adverse_event",
    )


def test_discontinuation_needs_its_reason(site_pumch, coordinator_pumch, investigator_pumch):
    participant = ParticipantFactory(
        site=site_pumch, coordinator=coordinator_pumch, investigator=investigator_pumch
    )
    with pytest.raises(ValidationError, match="reason for discontinuation"):
        services.participant_transition(
            participant=participant,
            to_status=ParticipantStatus.DISCONTINUED,
            user=coordinator_pumch,
            on=ENROL_ON,
            reason="why",
        )


def test_after_withdrawal_only_safety_data_may_be_entered(
    site_pumch, coordinator_pumch, investigator_pumch
):
    participant = ParticipantFactory(
        site=site_pumch, coordinator=coordinator_pumch, investigator=investigator_pumch
    )
    assert services.data_entry_refusal(participant) is None
    services.withdraw_consent(
        participant=participant,
        user=coordinator_pumch,
        withdrawn_on=ENROL_ON,
        data_may_be_kept=False,
    )
    participant.refresh_from_db()
    assert "only safety follow-up" in services.data_entry_refusal(participant)
    assert services.data_entry_refusal(participant, safety=True) is None
    assert participant.withdrawal.data_may_be_kept is False


def test_a_new_consent_version_flags_participants_for_re_consent(
    site_pumch, coordinator_pumch, investigator_pumch
):
    participant = ParticipantFactory(
        site=site_pumch, coordinator=coordinator_pumch, investigator=investigator_pumch
    )
    assert reconsent_needed(participant, today=ENROL_ON) == []
    version = ConsentFormVersionFactory(
        kind=ConsentKind.GUARDIAN_CONSENT,
        version="2.0",
        effective_from=ENROL_ON,
        requires_reconsent=True,
    )
    assert reconsent_needed(participant, today=ENROL_ON) == [str(version)]
    ConsentFactory(
        screening=participant.screening,
        form_version=version,
        signed_on=ENROL_ON,
        guardian_relationship="father",
        obtained_by=coordinator_pumch,
    )
    assert reconsent_needed(participant, today=ENROL_ON) == []


def test_no_name_of_the_child_or_guardian_is_stored():
    from django.apps import apps

    for model in apps.get_app_config("enrollment").get_models():
        names = {f.name for f in model._meta.get_fields()}
        assert not {n for n in names if "name" in n and n != "printed_name"}, model


# --- ENR1: the cap -------------------------------------------------------------------


def enrolled_filler(site, user, count):
    """``count`` participants inserted directly (the cap test is about the 15th and 16th)."""
    fillers = []
    for n in range(count):
        screening = Screening.objects.create(
            site=site,
            sequence=900 + n,
            number=f"{site.code}-S{900 + n}",
            screening_date=date(2026, 10, 1),
            date_of_birth=date(2014, 1, 1),
            sex="F",
            planned_day_0=DAY_0,
            status=ScreeningStatus.ENROLLED,
        )
        fillers.append(
            Participant.objects.create(
                site=site,
                sequence=900 + n,
                subject_id=f"{site.code}-{900 + n}",
                screening=screening,
                enrolled_on=ENROL_ON,
                planned_day_0=DAY_0,
                enrolled_by=user,
            )
        )
    return fillers


def test_the_sixteenth_enrolment_is_refused_and_the_screening_stays_intact(
    ready, coordinator_pumch, site_chcmu
):
    enrolled_filler(ready.site, coordinator_pumch, protocol.ENROLMENT_CAP)
    with pytest.raises(ValidationError, match="enrolment target of 15"):
        enrol(ready, coordinator_pumch)
    ready.refresh_from_db()
    assert ready.status == ScreeningStatus.ELIGIBLE
    assert Participant.objects.count() == protocol.ENROLMENT_CAP


@pytest.mark.django_db(transaction=True)
def test_twenty_coordinators_enrolling_at_once_cannot_pass_the_cap(
    site_pumch, coordinator_pumch, investigator_pumch, figure
):
    enrolled_filler(site_pumch, coordinator_pumch, protocol.ENROLMENT_CAP - 1)
    candidates = [
        make_ready_screening(
            site=site_pumch, coordinator=coordinator_pumch, investigator=investigator_pumch
        )
        for _ in range(20)
    ]
    barrier = threading.Barrier(len(candidates))
    outcomes: list[str] = []
    lock = threading.Lock()

    def attempt(screening):
        try:
            barrier.wait()
            enrol(screening, coordinator_pumch)
            result = "enrolled"
        except ValidationError as exc:
            result = " ".join(exc.messages)
        finally:
            connection.close()
        with lock:
            outcomes.append(result)

    threads = [threading.Thread(target=attempt, args=(s,)) for s in candidates]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    figure(
        "ENR1 concurrency",
        f"{len(candidates)} simultaneous enrolments with 14 enrolled: "
        f"{outcomes.count('enrolled')} succeeded, {len(outcomes) - outcomes.count('enrolled')} "
        "refused with the cap message",
    )
    assert outcomes.count("enrolled") == 1
    assert sum("enrolment target of 15" in o for o in outcomes) == 19
    assert Participant.objects.count() == protocol.ENROLMENT_CAP
    statuses = [Screening.objects.get(pk=s.pk).status for s in candidates]
    assert statuses.count(ScreeningStatus.ELIGIBLE) == 19


def test_planned_day_0_moves_while_the_candidate_stays_eligible(
    site_pumch, coordinator_pumch, investigator_pumch
):
    participant = ParticipantFactory(
        site=site_pumch, coordinator=coordinator_pumch, investigator=investigator_pumch
    )
    services.participant_reschedule_day_0(
        participant=participant,
        user=coordinator_pumch,
        planned_day_0=DAY_0 + timedelta(days=3),
        reason="Family travel",
        version=participant.version,
    )
    assert Participant.objects.get(pk=participant.pk).planned_day_0 == DAY_0 + timedelta(days=3)


def test_planned_day_0_cannot_move_beyond_the_screening_window(
    site_pumch, coordinator_pumch, investigator_pumch
):
    participant = ParticipantFactory(
        site=site_pumch, coordinator=coordinator_pumch, investigator=investigator_pumch
    )
    too_late = participant.screening.screening_date + timedelta(days=40)
    with pytest.raises(ValidationError, match="would not be eligible"):
        services.participant_reschedule_day_0(
            participant=participant,
            user=coordinator_pumch,
            planned_day_0=too_late,
            reason="x",
            version=participant.version,
        )
    assert Participant.objects.get(pk=participant.pk).planned_day_0 == DAY_0


# --- INC4: the consent date decides whether assent is needed ---------------------------


def test_assent_birth_date_limit_is_the_assent_rule_as_a_date_comparison():
    from eligibility.criteria import assent_birth_date_limit, assent_required

    days = [date(2024, 2, 26) + timedelta(days=n) for n in range(8)]  # across 29 February
    days += [date(2025, 2, 26) + timedelta(days=n) for n in range(6)]
    births = [date(2016, 2, 25) + timedelta(days=n) for n in range(8)]
    births += [date(2017, 2, 25) + timedelta(days=n) for n in range(6)]
    for on in days:
        for born in births:
            assert (born <= assent_birth_date_limit(on)) == assent_required(born, on), (born, on)


@pytest.fixture
def turns_eight_after_screening(site_pumch, coordinator_pumch, investigator_pumch):
    """Screened on 2026-11-02 at 7; 8 on 2026-11-06; eligible and signed, no consent yet."""
    from eligibility.services import screening_sign_eligibility
    from tests.factories.trialsite import PASSWORD

    screening = EligibleScreeningFactory(
        site=site_pumch,
        user=coordinator_pumch,
        screening_date=date(2026, 11, 2),
        planned_day_0=DAY_0,
        date_of_birth=date(2018, 11, 6),
        child_agrees=None,  # not asked: 7 on the screening date
    )
    assert screening.status == ScreeningStatus.ELIGIBLE
    screening_sign_eligibility(screening=screening, user=investigator_pumch, password=PASSWORD)
    return screening


def test_a_child_who_turns_eight_between_screening_and_consent_needs_assent(
    turns_eight_after_screening, coordinator_pumch
):
    from eligibility.selectors import assessment_for

    screening = turns_eight_after_screening
    warnings = assessment_for(screening).warnings
    assert any("turns 8 on 2026-11-06" in w for w in warnings)
    ConsentFactory(screening=screening, signed_on=date(2026, 11, 6), obtained_by=coordinator_pumch)
    with pytest.raises(ValidationError, match="child assent"):
        enrol(screening, coordinator_pumch)
    ConsentFactory(
        screening=screening,
        kind=ConsentKind.CHILD_ASSENT,
        signed_on=date(2026, 11, 6),
        obtained_by=coordinator_pumch,
    )
    assert enrol(screening, coordinator_pumch).subject_id == "PUMCH-001"


def test_consent_given_the_day_before_the_eighth_birthday_needs_no_assent(
    turns_eight_after_screening, coordinator_pumch
):
    screening = turns_eight_after_screening
    ConsentFactory(screening=screening, signed_on=date(2026, 11, 5), obtained_by=coordinator_pumch)
    # 8 by the enrolment date, but 7 on the consent date: the consent date decides.
    assert enrol(screening, coordinator_pumch).subject_id == "PUMCH-001"
