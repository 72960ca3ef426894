"""Source data verification: bound to the value verified; a later change clears it and says
so; progress per participant and per site."""

from __future__ import annotations

import pytest
from django.db import connection
from django.urls import reverse

from crf.models import Vitals
from monitoring import selectors, services
from monitoring.models import Verification
from tests.factories.crf import NORMAL_PANEL, lab_data
from tests.factories.monitoring import complete_visit, enrolled, lab

pytestmark = pytest.mark.django_db


@pytest.fixture
def participant(site_pumch, coordinator_pumch, investigator_pumch):
    return enrolled(site=site_pumch, coordinator=coordinator_pumch, investigator=investigator_pumch)


@pytest.fixture
def visit(participant, coordinator_pumch):
    return complete_visit(participant, coordinator_pumch)


def review_row(visit, user, record):
    rows = selectors.visit_review(visit, user)["rows"]
    return next(r for r in rows if r.record.pk == record.pk and type(r.record) is type(record))


def test_verifying_then_editing_clears_the_verification_and_says_so(
    client_for, visit, monitor_pumch, coordinator_pumch
):
    igg = lab(visit)
    services.verification_mark(record=igg, user=monitor_pumch)
    assert review_row(visit, monitor_pumch, igg).sdv_state == "verified"

    data = {
        **lab_data(visit, **{**NORMAL_PANEL, "igg": "8.5"}),
        "reason_for_change": "lab re-issued the report",
    }
    response = client_for(coordinator_pumch).post(reverse("crf:visit_labs", args=[visit.pk]), data)

    assert response.status_code == 302
    cleared = Verification.objects.get(object_id=igg.pk, field_name="value_entered")
    assert cleared.cleared_at is not None and cleared.cleared_by == coordinator_pumch
    assert cleared.cleared_reason == "value as entered changed after verification: 12 → 8.5."
    # The other fields of the record were not changed: their verification holds.
    assert Verification.objects.get(object_id=igg.pk, field_name="taken_on").cleared_at is None
    row = review_row(visit, monitor_pumch, lab(visit))
    assert row.sdv_state == "partial"
    page = client_for(monitor_pumch).get(reverse("monitoring:visit", args=[visit.pk]))
    assert "changed after verification: 12 → 8.5" in page.content.decode()


def test_saving_the_panel_keeps_the_verification_of_the_values_not_changed(
    client_for, visit, monitor_pumch, coordinator_pumch
):
    igg = lab(visit)
    services.verification_mark(record=igg, user=monitor_pumch)

    data = {**lab_data(visit, **{**NORMAL_PANEL, "esr": "11"}), "reason_for_change": "ESR typo"}
    client_for(coordinator_pumch).post(reverse("crf:visit_labs", args=[visit.pk]), data)

    assert lab(visit, "esr").value_entered == 11

    assert not Verification.objects.filter(object_id=igg.pk, cleared_at__isnull=False).exists()


def test_a_change_made_outside_the_application_shows_the_verification_as_not_holding(
    visit, monitor_pumch
):
    vitals = Vitals.objects.get(visit=visit)
    services.verification_mark(record=vitals, user=monitor_pumch)

    with connection.cursor() as cursor:
        cursor.execute("UPDATE crf_vitals SET heart_rate_bpm = 130 WHERE id = %s", [vitals.pk])

    row = review_row(visit, monitor_pumch, vitals)
    heart_rate = next(f for f in row.fields if f.name == "heart_rate_bpm")
    assert heart_rate.verified is None and heart_rate.cleared is not None
    assert row.sdv_state == "partial"


def test_single_fields_can_be_verified(client_for, visit, monitor_pumch):
    vitals = Vitals.objects.get(visit=visit)

    response = client_for(monitor_pumch).post(
        reverse("monitoring:verify", args=["crf", "vitals", vitals.pk]),
        {"fields_verified": ["weight_kg", "height_cm"]},
    )

    assert response.status_code == 302
    assert set(Verification.objects.values_list("field_name", flat=True)) == {
        "weight_kg",
        "height_cm",
    }
    assert review_row(visit, monitor_pumch, vitals).sdv_state == "partial"


def test_verifying_twice_at_the_same_value_adds_nothing(visit, monitor_pumch):
    vitals = Vitals.objects.get(visit=visit)
    first = services.verification_mark(record=vitals, user=monitor_pumch)
    again = services.verification_mark(record=vitals, user=monitor_pumch)

    assert len(first) == 7 and again == []


def test_only_a_monitor_verifies(client_for, visit, coordinator_pumch, data_manager):
    vitals = Vitals.objects.get(visit=visit)
    url = reverse("monitoring:verify", args=["crf", "vitals", vitals.pk])

    assert client_for(coordinator_pumch).post(url).status_code == 403
    assert client_for(data_manager).post(url).status_code == 403
    assert not Verification.objects.exists()


def test_sdv_progress_is_counted_per_participant_and_per_site(
    client_for, visit, participant, monitor_pumch, data_manager
):
    before = selectors.sdv_counts([participant.pk])[participant.pk]
    total = sum(c.total for c in before.values())

    client_for(monitor_pumch).post(reverse("monitoring:verify_visit", args=[visit.pk]))

    after = selectors.sdv_counts([participant.pk])[participant.pk]
    assert sum(c.verified for c in after.values()) == total
    assert after[visit.pk].verified == after[visit.pk].total
    [site] = selectors.data_quality(data_manager, visit.visit_date)
    assert (site.code, site.sdv.verified, site.sdv.total) == ("PUMCH", total, total)
    panel = client_for(monitor_pumch).get(
        reverse("participant_detail", args=[participant.subject_id])
    )
    assert 'data-sdv-progress="100"' in panel.content.decode()
