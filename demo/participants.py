"""Demo consent forms and participants, built through the real services.

``enrol_candidate`` is also what the test factories use to get an enrolled
participant: screening, investigator signature, consent (and assent), enrolment.
"""

from __future__ import annotations

from datetime import date, timedelta

from django.db import transaction

from demo.screenings import build_screening
from eligibility.criteria import assent_required
from eligibility.models import Screening
from eligibility.services import screening_sign_eligibility
from enrollment import services
from enrollment.models import (
    Consent,
    ConsentFormVersion,
    ConsentKind,
    GuardianRelationship,
    Participant,
)
from trialsite import workflow
from trialsite.audit import audit_context
from trialsite.models import Site, User

CONSENT_VERSION = "1.0"
ASSENT_VERSION = "1.0"

# (key, site, Day 0 relative to today, date of birth, sex).  The dosing demo gives
# each the infusions and results of its phase; keys say what it will show.
DEMO_PARTICIPANTS: tuple[tuple[str, str, int, date, str], ...] = (
    ("enrolled", "PUMCH", 5, date(2013, 4, 2), "F"),
    ("rituximab", "PUMCH", -9, date(2011, 8, 19), "F"),
    ("belimumab", "PUMCH", -90, date(2012, 1, 7), "M"),
    ("completed", "PUMCH", -220, date(2010, 6, 23), "F"),
    ("completed_stable", "PUMCH", -230, date(2011, 3, 9), "F"),
    ("completed_responder", "CHCMU", -225, date(2012, 7, 30), "F"),
    ("completed_flare", "CHCMU", -240, date(2013, 5, 18), "M"),
    ("belimumab_deviation", "CHCMU", -70, date(2014, 11, 3), "F"),
    ("discontinued_gate", "CHCMU", -40, date(2015, 2, 14), "F"),
    ("withdrawn", "CHCMU", -30, date(2009, 12, 30), "M"),
    # Last, so the subject IDs of the others stay what tests and the README use.
    ("awaiting_first_belimumab", "CHCMU", -30, date(2012, 9, 21), "F"),
    # Her course is being entered late (issue 15): Day 0 seven months ago.
    ("late_entry", "PUMCH", -210, date(2016, 5, 11), "F"),
)


def consent_versions() -> tuple[ConsentFormVersion, ConsentFormVersion]:
    consent, _ = ConsentFormVersion.objects.get_or_create(
        kind=ConsentKind.GUARDIAN_CONSENT,
        version=CONSENT_VERSION,
        defaults={"effective_from": date(2024, 3, 1)},
    )
    assent, _ = ConsentFormVersion.objects.get_or_create(
        kind=ConsentKind.CHILD_ASSENT,
        version=ASSENT_VERSION,
        defaults={"effective_from": date(2024, 3, 1)},
    )
    return consent, assent


def record_consents(*, screening: Screening, user: User, signed_on: date) -> None:
    """Guardian consent, plus the child's assent when the child is old enough."""
    consent, assent = consent_versions()
    with audit_context(user, "consent obtained"):
        consents = [
            Consent.objects.create(
                screening=screening,
                kind=ConsentKind.GUARDIAN_CONSENT,
                form_version=consent,
                signed_on=signed_on,
                guardian_relationship=GuardianRelationship.MOTHER,
                obtained_by=user,
                created_by=user,
                updated_by=user,
            )
        ]
        if assent_required(screening.date_of_birth, signed_on):
            consents.append(
                Consent.objects.create(
                    screening=screening,
                    kind=ConsentKind.CHILD_ASSENT,
                    form_version=assent,
                    signed_on=signed_on,
                    obtained_by=user,
                    created_by=user,
                    updated_by=user,
                )
            )
        workflow.record_changed(*consents, user=user)


@transaction.atomic
def ready_to_enrol(
    *,
    site: Site,
    coordinator: User,
    investigator: User,
    investigator_password: str,
    day_0: date,
    date_of_birth: date = date(2013, 4, 2),
    sex: str = "F",
) -> Screening:
    """An eligible screening, signed by the investigator, with consent recorded."""
    screened = day_0 - timedelta(days=14)
    screening = build_screening(
        site=site,
        user=coordinator,
        screening_date=screened,
        planned_day_0=day_0,
        date_of_birth=date_of_birth,
        sex=sex,
    )
    screening_sign_eligibility(
        screening=screening, user=investigator, password=investigator_password
    )
    record_consents(screening=screening, user=coordinator, signed_on=screened)
    return screening


def enrol_candidate(
    *,
    site: Site,
    coordinator: User,
    investigator: User,
    investigator_password: str,
    day_0: date,
    date_of_birth: date = date(2013, 4, 2),
    sex: str = "F",
) -> Participant:
    """A participant enrolled a week before ``day_0`` through the real services."""
    screening = ready_to_enrol(
        site=site,
        coordinator=coordinator,
        investigator=investigator,
        investigator_password=investigator_password,
        day_0=day_0,
        date_of_birth=date_of_birth,
        sex=sex,
    )
    return services.enroll_participant(
        screening=screening, user=coordinator, enrolled_on=day_0 - timedelta(days=7)
    )


def seed_participants(today: date, password: str) -> dict[str, Participant]:
    """The demo participants (once) and a candidate ready to enrol at PUMCH."""
    if Participant.objects.exists():
        return {}
    people = {
        code: (
            User.objects.get(username=f"coordinator_{code.lower()}"),
            User.objects.get(username=f"investigator_{code.lower()}"),
        )
        for code in ("PUMCH", "CHCMU")
    }
    participants = {}
    for key, site_code, day_0_offset, born, sex in DEMO_PARTICIPANTS:
        coordinator, investigator = people[site_code]
        participants[key] = enrol_candidate(
            site=Site.objects.get(code=site_code),
            coordinator=coordinator,
            investigator=investigator,
            investigator_password=password,
            day_0=today + timedelta(days=day_0_offset),
            date_of_birth=born,
            sex=sex,
        )
    coordinator, investigator = people["PUMCH"]
    ready_to_enrol(
        site=Site.objects.get(code="PUMCH"),
        coordinator=coordinator,
        investigator=investigator,
        investigator_password=password,
        day_0=today + timedelta(days=10),
        date_of_birth=date(2012, 10, 12),
    )
    return participants
