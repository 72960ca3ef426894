"""The test factories build data the way the app would (through its services)."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest

from eligibility.models import ScreeningStatus
from enrollment.models import ConsentKind
from enrollment.rules import ParticipantStatus
from tests.factories.crf import AdverseEventFactory, ConcomitantMedicationFactory
from tests.factories.dosing import BCellResultFactory
from tests.factories.eligibility import (
    EligibleScreeningFactory,
    PriorTherapyFactory,
    ScreeningFactory,
    ScreeningLabFactory,
)
from tests.factories.enrollment import ConsentFactory, ParticipantFactory
from tests.factories.monitoring import DataQueryFactory
from tests.jobs import run_queued_jobs
from trialsite.roles import Role


def test_build_gives_unsaved_objects_without_a_database():
    screening = EligibleScreeningFactory.build(site=None, date_of_birth=date(2015, 1, 1))
    assert screening.pk is None
    assert screening.hbsag == "negative" and screening.date_of_birth == date(2015, 1, 1)
    participant = ParticipantFactory.build(site=None, planned_day_0=date(2026, 11, 20))
    assert participant.pk is None
    assert participant.enrolled_on == date(2026, 11, 13)


@pytest.mark.django_db
def test_screenings_are_numbered_and_assessed_by_the_service(site_pumch, coordinator_pumch):
    empty = ScreeningFactory(site=site_pumch, user=coordinator_pumch)
    eligible = EligibleScreeningFactory(site=site_pumch, user=coordinator_pumch)
    excluded = EligibleScreeningFactory(site=site_pumch, hbsag="positive")
    assert [empty.number, eligible.number, excluded.number] == [
        "PUMCH-S001",
        "PUMCH-S002",
        "PUMCH-S003",
    ]
    assert empty.status == ScreeningStatus.IN_PROGRESS
    assert eligible.status == ScreeningStatus.ELIGIBLE
    assert excluded.failed_codes == ["EXC4"]


@pytest.mark.django_db
def test_items_go_through_the_services_and_the_screening_is_reassessed(
    site_pumch, coordinator_pumch
):
    screening = EligibleScreeningFactory(site=site_pumch, user=coordinator_pumch)
    # EXC1: any previous belimumab.
    therapy = PriorTherapyFactory(
        screening=screening, drug_name="belimumab", user=coordinator_pumch
    )
    assert therapy.drug_class == "biologic"  # filled in from the protocol's drug lists
    screening.refresh_from_db()
    assert "EXC1" in screening.failed_codes

    other = ScreeningFactory(site=site_pumch, user=coordinator_pumch)
    lab = ScreeningLabFactory(
        screening=other, analyte="igg", value_entered=Decimal("1250"), unit_entered="mg/dL"
    )
    assert lab.value == Decimal("12.5")  # stored in g/L as well as entered


@pytest.mark.django_db
def test_participants_and_consents_come_from_the_real_enrolment(
    site_pumch, coordinator_pumch, investigator_pumch
):
    participant = ParticipantFactory(site=site_pumch, withdrawn_on=date(2026, 11, 14))
    assert participant.subject_id == "PUMCH-001"
    assert participant.status == ParticipantStatus.WITHDRAWN
    assert participant.withdrawal.withdrawn_on == date(2026, 11, 14)

    screening = EligibleScreeningFactory(site=site_pumch, user=coordinator_pumch)
    assent = ConsentFactory(
        screening=screening, kind=ConsentKind.CHILD_ASSENT, obtained_by=coordinator_pumch
    )
    assert (assent.guardian_relationship, assent.form_version.kind) == ("", "assent")
    assert assent.created_by == coordinator_pumch


def test_dosing_crf_and_monitoring_builds_need_no_database():
    result = BCellResultFactory.build(participant=None, taken_on=date(2026, 12, 1))
    assert result.pk is None and result.cd19_percent == Decimal("0.3")
    event = AdverseEventFactory.build(participant=None)
    assert event.pk is None and event.serious and event.serious_criteria == ["hospitalisation"]
    medication = ConcomitantMedicationFactory.build(participant=None, start_date=date(2026, 1, 1))
    assert medication.drug == "prednisone"
    assert DataQueryFactory.build().question.startswith("Please check")


@pytest.mark.django_db
def test_dosing_crf_and_monitoring_records_go_through_their_services(site_pumch):
    from django.core import mail

    from dosing import selectors as dosing_selectors
    from monitoring.models import QueryStatus

    participant = ParticipantFactory(site=site_pumch)
    # SCH2: 0.3 % is below 0.5 %: depleted, as the schedule engine reads it.
    result = BCellResultFactory(participant=participant, taken_on=participant.planned_day_0)
    assert result.pk is not None and result.created_by == participant.enrolled_by
    inputs = dosing_selectors.course_facts(participant, participant.planned_day_0)
    assert inputs.b_cell_results[0].cd19_percent == Decimal("0.3")

    event = AdverseEventFactory(participant=participant)
    run_queued_jobs()
    assert event.serious and len(mail.outbox) == 1  # the SAE alert of the service
    medication = ConcomitantMedicationFactory(participant=participant, dose=Decimal("7.5"))
    assert medication.dose == Decimal("7.5")
    assert medication.start_date == participant.planned_day_0 - timedelta(days=30)

    query = DataQueryFactory(record=medication, field_name="dose")
    assert query.status == QueryStatus.OPEN and query.field_name == "dose"
    assert query.opened_by.has_role(Role.MONITOR)
