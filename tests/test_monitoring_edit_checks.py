"""Automatic edit checks: pure rules, and the queries they open and close by themselves."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from crf.models import SeriousAeAlert
from crf.services import sae_alert_acknowledge
from dosing.models import Deviation, DeviationCategory
from monitoring import edit_checks, services
from monitoring.models import DataQuery, MessageKind, QueryStatus
from tests.factories.crf import NORMAL_PANEL, lab_data, make_visit, record_ae, save_labs
from tests.factories.monitoring import enrolled, lab
from trialsite import workflow
from trialsite.audit import audit_context

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)

# --- The rules, without a database ------------------------------------------------------------


def test_a_lab_below_its_reference_range_breaks_lab_range():
    finding = edit_checks.lab_out_of_range("igg", Decimal("3.0"))

    assert finding.rule is edit_checks.LAB_RANGE
    assert "below the lower limit 7 g/L" in finding.question


def test_a_lab_within_its_range_or_voided_breaks_nothing():
    assert edit_checks.lab_out_of_range("igg", Decimal("7.0")) is None
    assert edit_checks.lab_out_of_range("igg", Decimal("3.0"), voided=True) is None


def test_the_same_value_has_the_same_fingerprint_however_it_is_written():
    first = edit_checks.lab_out_of_range("igg", Decimal("3.0"))
    second = edit_checks.lab_out_of_range("igg", Decimal("3.000000"))
    assert first.fingerprint == second.fingerprint


def test_a_visit_out_of_window_needs_an_explanation_on_the_visit_or_the_deviation():
    description = "W12 on 2026-05-20 is outside its window."
    assert (
        edit_checks.visit_out_of_window(
            deviation_description=description, visit_explanation="", deviation_explanation=""
        ).rule
        is edit_checks.VISIT_WINDOW
    )
    assert (
        edit_checks.visit_out_of_window(
            deviation_description=description, visit_explanation="", deviation_explanation="ill"
        )
        is None
    )
    assert (
        edit_checks.visit_out_of_window(
            deviation_description=None, visit_explanation="", deviation_explanation=""
        )
        is None
    )


def test_a_dose_more_than_10_percent_from_proposed_needs_a_reason():
    assert (
        edit_checks.dose_without_reason(
            proposed_mg=Decimal("300"), administered_mg=Decimal("340"), reason=""
        ).rule
        is edit_checks.DOSE_DIFFERENCE
    )
    assert (
        edit_checks.dose_without_reason(
            proposed_mg=Decimal("300"), administered_mg=Decimal("340"), reason="vial size"
        )
        is None
    )
    assert (
        edit_checks.dose_without_reason(
            proposed_mg=Decimal("300"), administered_mg=Decimal("320"), reason=""
        )
        is None
    )


def test_a_serious_ae_is_flagged_only_after_24_hours_without_an_investigators_review():
    def judge(hours: float, *, reviewed: bool = False, serious: bool = True):
        return edit_checks.sae_not_reviewed(
            serious=serious,
            alerted_at=NOW - timedelta(hours=hours),
            reviewed=reviewed,
            now=NOW,
        )

    assert judge(25).rule is edit_checks.SAE_REVIEW
    assert judge(24) is None
    assert judge(25, reviewed=True) is None
    assert judge(25, serious=False) is None


# --- Queries they open and close ---------------------------------------------------------------


@pytest.fixture
def participant(db, site_pumch, coordinator_pumch, investigator_pumch):
    return enrolled(site=site_pumch, coordinator=coordinator_pumch, investigator=investigator_pumch)


@pytest.fixture
def visit(participant, coordinator_pumch):
    return make_visit(participant, "W12", user=coordinator_pumch)


def automatic(rule: str) -> list[DataQuery]:
    return list(DataQuery.objects.filter(rule_code=rule).order_by("pk"))


def correct_labs(client, visit, reason: str, **values) -> None:
    data = {**lab_data(visit, **{**NORMAL_PANEL, **values}), "reason_for_change": reason}
    response = client.post(reverse("crf:visit_labs", args=[visit.pk]), data)
    assert response.status_code == 302


def test_an_out_of_range_lab_opens_exactly_one_automatic_query(visit, coordinator_pumch):
    save_labs(visit, coordinator_pumch, **{**NORMAL_PANEL, "igg": "3.0"})

    [query] = automatic("LAB_RANGE")
    assert query.opened_by is None and query.field_name == "value_entered"
    assert query.object_id == lab(visit).pk and query.visit == visit
    assert str(query.opener_display) == "automatic check LAB_RANGE"
    assert query.messages.get().author is None


def test_the_checks_are_idempotent(client_for, visit, coordinator_pumch):
    save_labs(visit, coordinator_pumch, **{**NORMAL_PANEL, "igg": "3.0"})
    igg = lab(visit)

    edit_checks.run_for_record(igg, now=timezone.now())
    edit_checks.run_for_record(igg, now=timezone.now())
    correct_labs(client_for(coordinator_pumch), visit, "re-run", igg="2.5")

    assert len(automatic("LAB_RANGE")) == 1


def test_fixing_the_data_closes_the_automatic_query_by_the_check(
    client_for, visit, coordinator_pumch
):
    save_labs(visit, coordinator_pumch, **{**NORMAL_PANEL, "igg": "3.0"})

    correct_labs(client_for(coordinator_pumch), visit, "typo: 13.0", igg="13.0")

    [query] = automatic("LAB_RANGE")
    assert query.status == QueryStatus.CLOSED and query.closed_by is None
    assert query.messages.last().kind == MessageKind.CLOSE
    assert "automatic check" in query.messages.last().text


def test_a_query_a_monitor_closed_is_not_reopened_for_the_same_value(
    client_for, visit, coordinator_pumch, monitor_pumch
):
    save_labs(visit, coordinator_pumch, **{**NORMAL_PANEL, "igg": "3.0"})
    [query] = automatic("LAB_RANGE")
    services.query_answer(query=query, user=coordinator_pumch, response="3.0 per the report.")
    services.query_close(query=query, user=monitor_pumch, note="Confirmed at source.")
    client = client_for(coordinator_pumch)

    correct_labs(client, visit, "ESR typo", igg="3.0", esr="12")
    assert len(automatic("LAB_RANGE")) == 1

    correct_labs(client, visit, "re-tested", igg="2.0")
    assert [q.status for q in automatic("LAB_RANGE")] == [QueryStatus.CLOSED, QueryStatus.OPEN]


def test_a_serious_ae_not_reviewed_after_24_hours_gets_one_query_from_the_command(
    participant, coordinator_pumch, investigator_pumch, data_manager
):
    event = record_ae(participant, coordinator_pumch)
    SeriousAeAlert.objects.filter(adverse_event=event).update(
        raised_at=timezone.now() - timedelta(hours=25)
    )
    alert = SeriousAeAlert.objects.get(adverse_event=event)

    call_command("run_edit_checks", stdout=StringIO())
    call_command("run_edit_checks", stdout=StringIO())
    [query] = automatic("SAE_REVIEW_24H")
    assert query.status == QueryStatus.OPEN and query.object_id == event.pk

    sae_alert_acknowledge(alert=alert, user=data_manager)  # not an investigator's review
    call_command("run_edit_checks", stdout=StringIO())
    assert automatic("SAE_REVIEW_24H")[0].status == QueryStatus.OPEN

    sae_alert_acknowledge(alert=alert, user=investigator_pumch)
    call_command("run_edit_checks", stdout=StringIO())
    [query] = automatic("SAE_REVIEW_24H")
    assert query.status == QueryStatus.CLOSED


def test_a_visit_out_of_window_without_explanation_is_queried_until_explained(
    visit, coordinator_pumch
):
    # Written as dosing's services write them: the save, then the after-write steps.
    with audit_context(None, "automatic deviation from the schedule"):
        deviation = Deviation.objects.create(
            participant=visit.participant,
            category=DeviationCategory.VISIT_OUT_OF_WINDOW,
            automatic=True,
            visit_code="W12",
            occurred_on=visit.visit_date,
            description="W12 is 9 days after its window.",
        )
        workflow.record_changed(deviation, user=None)
    [query] = automatic("VISIT_WINDOW")
    assert (query.object_id, query.field_name) == (visit.pk, "out_of_window_explanation")

    visit.out_of_window_explanation = "Family travelling."
    visit.version += 1
    with audit_context(coordinator_pumch, "explanation"):
        visit.save()
        workflow.record_changed(visit, user=coordinator_pumch)

    assert automatic("VISIT_WINDOW")[0].status == QueryStatus.CLOSED


def test_an_automatic_query_is_answered_by_the_correction_then_closed_by_the_check(
    client_for, visit, coordinator_pumch
):
    save_labs(visit, coordinator_pumch, **{**NORMAL_PANEL, "igg": "3.0"})
    [query] = automatic("LAB_RANGE")
    data = {
        **lab_data(visit, **{**NORMAL_PANEL, "igg": "13.0"}),
        "reason_for_change": f"Query #{query.pk}: typo",
    }

    client_for(coordinator_pumch).post(reverse("monitoring:query_correct", args=[query.pk]), data)

    query.refresh_from_db()
    assert [m.kind for m in query.messages.all()] == [
        MessageKind.QUESTION,
        MessageKind.ANSWER,
        MessageKind.CLOSE,
    ]
    assert query.status == QueryStatus.CLOSED
