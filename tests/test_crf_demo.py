"""The demo trial carries full CRF data with a spread of ESSDAI changes."""

from __future__ import annotations

import pytest

from crf.expected import CellStatus
from crf.models import ConcomitantMedication, EssdaiAssessment, SaeAcknowledgement, SeriousAeAlert
from crf.selectors import form_status_matrix, outcome_review
from demo import clinical as crf_demo
from demo import seed as demo
from dosing.models import Visit
from enrollment.models import Participant
from tests.factories.crf import today
from trialsite.models import User

pytestmark = pytest.mark.django_db


@pytest.fixture
def seeded():
    demo.seed_sites_and_users()
    demo.seed_trial_data(today())
    return User.objects.get(username="datamanager")


def test_the_demo_has_essdai_changes_with_and_without_mcii(seeded):
    review = outcome_review(seeded, today())

    changes = [r.essdai_w28 or r.essdai_w12 for r in review.rows if r.essdai_w28 or r.essdai_w12]
    assert any(c.mcii for c in changes) and any(not c.mcii for c in changes)
    assert len({c.change for c in changes}) == len(changes)
    assert review.essdai_w28.n_paired >= 1
    assert review.n_responders >= 1
    assert not review.b_cell_plot.is_empty


def test_the_demo_has_one_serious_event_acknowledged_and_one_not(seeded):
    alerts = list(SeriousAeAlert.objects.prefetch_related("recipients", "acknowledgements"))
    fully = [a for a in alerts if a.acknowledgements.count() == a.recipients.count()]
    open_ = [a for a in alerts if not a.acknowledgements.exists()]
    assert len(fully) == 1 and len(open_) == 1
    assert SaeAcknowledgement.objects.filter(user=seeded).count() == 1


def test_the_demo_logs_prednisone_and_never_duplicates_a_visit(seeded):
    assert ConcomitantMedication.objects.filter(drug="prednisone").exists()
    for participant in Participant.objects.all():
        codes = list(
            Visit.objects.active()
            .filter(participant=participant)
            .values_list("visit_code", flat=True)
        )
        assert len(codes) == len(set(codes)), participant


def test_the_completed_demo_participant_has_every_form(seeded):
    matrix = form_status_matrix(seeded, today())
    completed = next(r for r in matrix.rows if r.participant.status == "completed")
    recorded = [c for c in completed.cells if c is not None and c.visit is not None]
    assert {c.code for c in recorded} >= {"BASELINE", "W12", "W28"}
    assert all(c.status == CellStatus.COMPLETE for c in recorded)


def test_seeding_the_crf_demo_again_adds_nothing(seeded):
    before = EssdaiAssessment.objects.count()
    participants = {str(p.pk): p for p in Participant.objects.all()}

    assert crf_demo.seed(today(), participants) == []
    assert EssdaiAssessment.objects.count() == before
