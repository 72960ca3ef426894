"""Screening services: numbering, assessment on every save, signatures bound to the data."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.utils import timezone

from demo import seed as demo
from demo.participants import seed_participants
from demo.screenings import seed_screenings
from eligibility import services
from eligibility.models import Screening, ScreeningLab, ScreeningStatus
from tests.factories.eligibility import (
    EligibleScreeningFactory,
    ScreeningFactory,
)
from trialsite import signatures
from trialsite.models import Signature, SignatureMeaning

pytestmark = pytest.mark.django_db


def test_screening_numbers_are_sequential_per_site(site_pumch, site_chcmu, coordinator_pumch):
    first = ScreeningFactory(site=site_pumch, user=coordinator_pumch)
    second = ScreeningFactory(site=site_pumch, user=coordinator_pumch)
    other = ScreeningFactory(site=site_chcmu)
    assert [first.number, second.number, other.number] == [
        "PUMCH-S001",
        "PUMCH-S002",
        "CHCMU-S001",
    ]


def test_a_new_screening_is_in_progress_with_its_missing_items_listed(site_pumch):
    screening = ScreeningFactory(site=site_pumch)
    assert screening.status == ScreeningStatus.IN_PROGRESS
    assert "Daily dry eyes for more than 3 months" in screening.missing_items


def test_a_fully_entered_eligible_candidate_is_eligible(site_pumch, coordinator_pumch):
    screening = EligibleScreeningFactory(site=site_pumch, user=coordinator_pumch)
    assert screening.status == ScreeningStatus.ELIGIBLE
    assert screening.failed_codes == []
    assert screening.criteria_sets_met == ["aecg_2002", "japanese_1999"]


def test_a_failing_item_makes_the_stored_status_not_eligible_with_every_code(site_pumch):
    screening = EligibleScreeningFactory(
        site=site_pumch, hbsag="positive", primary_immunodeficiency=True
    )
    assert screening.status == ScreeningStatus.NOT_ELIGIBLE
    assert screening.failed_codes == ["EXC4", "EXC6"]


def test_signing_needs_the_right_password(site_pumch, investigator_pumch, password):
    screening = EligibleScreeningFactory(site=site_pumch)
    with pytest.raises(ValidationError, match="password is not correct"):
        services.screening_sign_eligibility(
            screening=screening, user=investigator_pumch, password="guess"
        )
    signature = services.screening_sign_eligibility(
        screening=screening, user=investigator_pumch, password=password
    )
    assert signature.printed_name == "Ivan Chen"
    assert signature.meaning == SignatureMeaning.ELIGIBILITY
    assert signatures.valid_signature(screening, SignatureMeaning.ELIGIBILITY) == signature


def test_a_coordinator_cannot_sign(site_pumch, coordinator_pumch, password):
    from django.core.exceptions import PermissionDenied

    screening = EligibleScreeningFactory(site=site_pumch)
    with pytest.raises(PermissionDenied):
        services.screening_sign_eligibility(
            screening=screening, user=coordinator_pumch, password=password
        )


def test_an_incomplete_assessment_cannot_be_signed(site_pumch, investigator_pumch, password):
    screening = ScreeningFactory(site=site_pumch)
    with pytest.raises(ValidationError, match="eligible"):
        services.screening_sign_eligibility(
            screening=screening, user=investigator_pumch, password=password
        )
    assert not Signature.objects.exists()


def test_changing_signed_data_voids_the_signature_and_records_why(
    site_pumch, coordinator_pumch, investigator_pumch, password
):
    screening = EligibleScreeningFactory(site=site_pumch, user=coordinator_pumch)
    services.screening_sign_eligibility(
        screening=screening, user=investigator_pumch, password=password
    )
    lab = ScreeningLab.objects.get(screening=screening, analyte="igg")
    lab.value = lab.value_entered = Decimal("17.0")
    lab.save()
    services.screening_reassess(screening, user=coordinator_pumch)

    signature = Signature.objects.get()
    assert signature.voided_at is not None
    assert "changed after it was signed" in signature.void_reason
    assert signatures.valid_signature(screening, SignatureMeaning.ELIGIBILITY) is None


def test_the_signature_hash_detects_a_change_made_by_raw_sql(
    site_pumch, investigator_pumch, password
):
    screening = EligibleScreeningFactory(site=site_pumch)
    services.screening_sign_eligibility(
        screening=screening, user=investigator_pumch, password=password
    )
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE eligibility_screening SET schirmer_mm_5min = 4 WHERE id = %s", [screening.pk]
        )
    screening = Screening.objects.get(pk=screening.pk)
    [state] = signatures.signature_states(screening)
    assert state.valid is False
    assert "changed" in state.reason


def test_a_screen_failure_stays_in_the_log_with_its_reasons(site_pumch, coordinator_pumch):
    screening = EligibleScreeningFactory(site=site_pumch, live_vaccine=True)
    services.screening_mark_failed(
        screening=screening, user=coordinator_pumch, reason="Family declined."
    )
    screening.refresh_from_db()
    assert screening.status == ScreeningStatus.SCREEN_FAILED
    assert screening.screen_failure_reason == "Family declined."
    assert Screening.objects.filter(pk=screening.pk).exists()


def test_a_closed_screening_refuses_further_changes(site_pumch, coordinator_pumch):
    from trialsite.models import Site

    screening = ScreeningFactory(site=site_pumch)
    services.screening_mark_failed(screening=screening, user=coordinator_pumch, reason="Moved.")
    with pytest.raises(ValidationError, match="closed"):
        services.screening_mark_failed(screening=screening, user=coordinator_pumch, reason="Again.")
    assert Site.objects.get(pk=site_pumch.pk)  # nothing else touched


def test_the_demo_has_screenings_in_each_state_at_two_sites():
    demo.seed_sites_and_users()
    today = timezone.localdate()
    screenings = seed_screenings(today)
    seed_participants(today, demo.DEMO_PASSWORD)  # the signed and enrolled ones

    states = set(Screening.objects.values_list("site__code", "status"))
    for site in ("PUMCH", "CHCMU"):
        for status in ScreeningStatus:
            assert (site, status.value) in states, (site, status.value)
    assert screenings["chcmu_not_eligible"].failed_codes == ["INC3"]
    assert screenings["pumch_screen_failed"].failed_codes == ["EXC2"]


def test_a_signature_over_data_entered_late_keeps_the_paper_source_date_beside_its_own(
    client_for, site_pumch, coordinator_pumch, investigator_pumch, password
):
    from datetime import timedelta

    from django.urls import reverse

    screening = EligibleScreeningFactory(site=site_pumch, user=coordinator_pumch)
    paper = timezone.localdate() - timedelta(days=120)
    response = client_for(investigator_pumch).post(
        reverse("eligibility:sign", args=[screening.number]),
        {"password": password, "source_signed_on": paper.isoformat()},
    )
    assert response.status_code == 302
    signature = Signature.objects.get()
    assert signature.source_signed_on == paper
    assert signature.signed_at.date() >= timezone.localdate() - timedelta(days=1)
    page = client_for(investigator_pumch).get(screening.get_absolute_url()).content.decode()
    assert f'data-source-signed-on="{paper.isoformat()}"' in page
