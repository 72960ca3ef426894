"""The outcome review's stored numbers (``crf.models.OutcomeState``, issue 14): written with
every outcome write from the very rows the review's table computes, read by its summaries."""

from __future__ import annotations

import pytest
from django.urls import reverse
from django.utils import timezone

from crf import services as crf_services
from crf.models import OutcomeState
from crf.selectors import OUTCOME_ROWS_PER_PAGE, outcome_review
from demo import loaddata
from demo import seed as demo
from enrollment.models import Participant
from tests.factories.crf import fill_full_set, make_participant, make_visit, save_essdai, today
from trialsite.models import User

pytestmark = pytest.mark.django_db


def test_the_demo_trials_stored_outcomes_equal_a_fresh_computation():
    demo.seed_sites_and_users()
    demo.seed_trial_data(today())
    participants = Participant.objects.all()

    assert crf_services.outcome_state_differences(participants) == []
    assert OutcomeState.objects.exclude(composite="").exists()
    # The check can fail: a stored number changed behind the workflow's back is reported,
    # and the review's summary shows it (it reads the stored numbers); a rebuild mends it.
    state = OutcomeState.objects.exclude(essdai_baseline=None).exclude(essdai_w28=None).first()
    subject_id = state.participant.subject_id
    OutcomeState.objects.filter(pk=state.pk).update(essdai_baseline=state.essdai_baseline + 1)
    differences = crf_services.outcome_state_differences(participants)
    assert differences == [
        f"{subject_id} essdai_baseline: stored {state.essdai_baseline + 1}, "
        f"is {state.essdai_baseline}"
    ]
    data_manager = User.objects.get(username="datamanager")

    def baseline_in_summary() -> int:
        paired = outcome_review(data_manager, today()).essdai_w28.paired
        return next(p.baseline for p in paired if p.subject_id == subject_id)

    assert baseline_in_summary() == state.essdai_baseline + 1
    crf_services.outcome_state_store(Participant.objects.filter(pk=state.pk))
    assert crf_services.outcome_state_differences(participants) == []
    assert baseline_in_summary() == state.essdai_baseline


def test_an_essdai_saved_at_week_28_moves_the_summary(
    site_pumch, coordinator_pumch, investigator_pumch
):
    child = make_participant(
        site=site_pumch, coordinator=coordinator_pumch, investigator=investigator_pumch
    )
    fill_full_set(
        make_visit(child, "BASELINE", user=coordinator_pumch),
        coordinator_pumch,
        essdai={"articular": 2, "glandular": 1},  # 6
    )
    assert outcome_review(investigator_pumch, today()).essdai_w28.n_paired == 0
    assert OutcomeState.objects.get(participant=child).essdai_baseline == 6

    save_essdai(make_visit(child, "W28", user=coordinator_pumch), coordinator_pumch)

    state = OutcomeState.objects.get(participant=child)
    assert state.essdai_w28 is not None
    summary = outcome_review(investigator_pumch, today()).essdai_w28
    assert summary.n_paired == 1
    assert summary.paired[0].follow_up == state.essdai_w28


def test_the_table_pages_while_the_summary_counts_everyone(
    client_for, site_pumch, coordinator_pumch, investigator_pumch
):
    # Load data (COPY, past the enrolment cap) stores every participant's numbers too.
    loaddata.generate(
        participants=OUTCOME_ROWS_PER_PAGE + 1,
        sites=[site_pumch],
        staff={site_pumch.pk: loaddata.Staff(coordinator_pumch, investigator_pumch)},
        today=timezone.localdate(),
        seed=5,
        span_days=600,
    )
    assert crf_services.outcome_state_differences(Participant.objects.all()) == []
    first = outcome_review(investigator_pumch, today())
    last = outcome_review(investigator_pumch, today(), page=2)

    assert len(first.rows) == OUTCOME_ROWS_PER_PAGE and len(last.rows) == 1
    assert first.essdai_w28.n_participants == last.essdai_w28.n_participants
    assert first.essdai_w28.n_participants == OUTCOME_ROWS_PER_PAGE + 1
    html = client_for(investigator_pumch).get(reverse("crf:outcomes") + "?page=2").content
    assert html.decode().count("<tr data-participant=") == 1
