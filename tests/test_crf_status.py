"""Form status per visit: which forms each visit expects, and the participants × visits matrix."""

from __future__ import annotations

import re
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from crf.expected import (
    FULL_SET,
    INFUSION_SET,
    CellStatus,
    CrfKind,
    VisitForms,
    expected_crfs,
    offered_crfs,
)
from crf.selectors import form_status_matrix
from dosing.services import b_cell_result_record
from enrollment.services import withdraw_consent
from tests.factories.crf import (
    fill_full_set,
    make_participant,
    make_visit,
    save_crf,
    save_vitals,
    today,
)
from trialsite.protocol import CRF_ENTRY_DAYS


@pytest.mark.parametrize("code", ["BASELINE", "W12", "W28"])
def test_baseline_and_the_assessment_visits_expect_the_full_set(code):
    assert expected_crfs(code) == FULL_SET
    assert CrfKind.ESSDAI in FULL_SET and CrfKind.B_CELLS in FULL_SET


@pytest.mark.parametrize("code", ["RTX1", "RTX4", "BEL1", "BEL6"])
def test_infusion_visits_expect_vitals_and_the_safety_review_and_offer_labs(code):
    assert expected_crfs(code) == INFUSION_SET == (CrfKind.VITALS, CrfKind.SAFETY_REVIEW)
    assert CrfKind.LABS in offered_crfs(code)
    assert CrfKind.ESSDAI not in offered_crfs(code)


def test_an_unscheduled_visit_expects_nothing_and_offers_everything():
    assert expected_crfs("UNS1") == ()
    assert offered_crfs("UNS1") == FULL_SET


def test_missing_forms_become_overdue_after_the_entry_period():
    visit_day = date(2026, 3, 2)
    forms = VisitForms(
        expected=INFUSION_SET,
        complete=frozenset({CrfKind.VITALS}),
        partial=frozenset(),
        visit_date=visit_day,
    )
    last_on_time = visit_day + timedelta(days=CRF_ENTRY_DAYS)

    assert forms.status(last_on_time) == CellStatus.MISSING
    assert forms.status(last_on_time + timedelta(days=1)) == CellStatus.OVERDUE
    assert forms.status(last_on_time + timedelta(days=1), closed=True) == CellStatus.CLOSED
    assert forms.missing == (CrfKind.SAFETY_REVIEW,)


# --- the matrix, from the database ---------------------------------------------------


@pytest.fixture
def people(site_pumch, coordinator_pumch, investigator_pumch):
    return {
        "site": site_pumch,
        "coordinator": coordinator_pumch,
        "investigator": investigator_pumch,
    }


def participant_with_visits(people, *, full_baseline: bool = True):
    p = make_participant(
        site=people["site"], coordinator=people["coordinator"], investigator=people["investigator"]
    )
    user = people["coordinator"]
    baseline = make_visit(p, "BASELINE", user=user)
    if full_baseline:
        fill_full_set(baseline, user)
        b_cell_result_record(
            participant=p,
            user=user,
            taken_on=baseline.visit_date,
            cd19_percent=Decimal("12"),
            today=today(),
        )
    make_visit(p, "W12", user=user)  # nothing entered, long ago: overdue
    make_visit(p, "W28", on=today() - timedelta(days=2), user=user)  # nothing yet: to enter
    rtx1 = make_visit(p, "RTX1", on=p.planned_day_0, user=user)
    save_vitals(rtx1, user)
    return p


def cells(matrix, participant):
    row = next(r for r in matrix.rows if r.participant == participant)
    return {c.code: c for c in row.cells if c is not None}


@pytest.mark.django_db
def test_the_matrix_shows_complete_to_enter_and_overdue_visits(people):
    participant = participant_with_visits(people)

    matrix = form_status_matrix(people["coordinator"], today())

    by_code = cells(matrix, participant)
    assert by_code["BASELINE"].status == CellStatus.COMPLETE
    assert (by_code["BASELINE"].n_complete, by_code["BASELINE"].n_expected) == (8, 8)
    assert by_code["W12"].status == CellStatus.OVERDUE
    assert by_code["W28"].status == CellStatus.MISSING
    assert by_code["RTX1"].status == CellStatus.OVERDUE
    assert by_code["RTX1"].missing == (CrfKind.SAFETY_REVIEW,)
    assert matrix.columns.index("BASELINE") < matrix.columns.index("W12")
    assert matrix.columns.index("W12") < matrix.columns.index("W28")


@pytest.mark.django_db
def test_the_matrix_page_links_each_recorded_visit(client_for, people):
    participant = participant_with_visits(people, full_baseline=False)

    html = client_for(people["coordinator"]).get(reverse("crf:form_status")).content.decode()

    w12 = participant.visits.get(visit_code="W12")
    assert f'href="{reverse("crf:visit", args=[w12.pk])}"' in html
    assert 'data-code="W12" data-cell-status="overdue"' in html


@pytest.mark.django_db
def test_the_matrix_reads_in_a_fixed_number_of_queries(people):
    participant_with_visits(people, full_baseline=False)
    form_status_matrix(people["coordinator"], today())  # warms the user's permission cache
    with CaptureQueriesContext(connection) as one:
        form_status_matrix(people["coordinator"], today())
    participant_with_visits(people, full_baseline=False)
    participant_with_visits(people)

    with CaptureQueriesContext(connection) as three:
        matrix = form_status_matrix(people["coordinator"], today())

    assert len(matrix.rows) == 3
    assert len(three) == len(one)


@pytest.mark.django_db
def test_the_matrix_shows_only_participants_of_the_users_sites(
    people, site_chcmu, coordinator_chcmu
):
    participant_with_visits(people, full_baseline=False)

    matrix = form_status_matrix(coordinator_chcmu, today())

    assert matrix.rows == ()


@pytest.mark.django_db
def test_after_consent_withdrawal_missing_forms_are_closed_not_overdue(people):
    participant = participant_with_visits(people, full_baseline=False)
    withdraw_consent(
        participant=participant,
        user=people["coordinator"],
        withdrawn_on=today(),
        data_may_be_kept=True,
        notes="",
    )

    by_code = cells(form_status_matrix(people["coordinator"], today()), participant)

    assert by_code["W12"].status == CellStatus.CLOSED
    assert by_code["BASELINE"].status == CellStatus.CLOSED


@pytest.mark.django_db
def test_the_dashboard_lists_visits_with_forms_to_enter(client_for, people):
    participant = participant_with_visits(people)
    save_crf(
        participant.visits.get(visit_code="RTX1"),
        "safety_review",
        people["coordinator"],
        {"new_adverse_events": "False", "medication_changes": "False"},
    )

    html = client_for(people["coordinator"]).get(reverse("dashboard")).content.decode()

    assert 'data-panel="crf-status"' in html
    assert f"{participant.subject_id} · W12" in html
    assert f"{participant.subject_id} · RTX1" not in html
    assert '<dd class="col-4 text-end" data-count="overdue">1</dd>' in html


@pytest.mark.django_db
def test_the_matrix_page_shows_participants_a_page_at_a_time(
    client_for, site_pumch, coordinator_pumch, investigator_pumch
):
    from django.utils import timezone

    from demo import loaddata
    from enrollment.models import Participant
    from trialsite.pagination import PAGE_SIZE

    loaddata.generate(
        participants=PAGE_SIZE + 5,
        sites=[site_pumch],
        staff={site_pumch.pk: loaddata.Staff(coordinator_pumch, investigator_pumch)},
        today=timezone.localdate(),
        span_days=300,
    )
    client = client_for(investigator_pumch)
    url = reverse("crf:form_status")

    def shown(html: str) -> list[str]:
        return re.findall(r'<tr data-participant="([^"]+)"', html)

    first = client.get(url, {"site": "PUMCH"}).content.decode()
    second = client.get(url, {"site": "PUMCH", "page": "2"}).content.decode()

    assert len(shown(first)) == PAGE_SIZE and len(shown(second)) == 5
    everyone = set(Participant.objects.values_list("subject_id", flat=True))
    assert set(shown(first)) | set(shown(second)) == everyone
    assert not set(shown(first)) & set(shown(second))
    assert "site=PUMCH&amp;page=2" in first  # the pager keeps the site filter
    # The counts still cover every participant, not only the page.
    counts = re.search(r"data-counts>(.*?)</p>", first, re.S).group(0)
    assert counts == re.search(r"data-counts>(.*?)</p>", second, re.S).group(0)
