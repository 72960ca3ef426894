"""The demo trial carries monitoring data: queries in every state, SDV, a locked visit."""

from __future__ import annotations

import pytest

from demo import seed as demo
from monitoring.models import DataQuery, Lock, LockScope, QueryStatus, Signoff, Verification
from tests.factories.crf import today
from trialsite import signatures
from trialsite.models import SignatureMeaning

pytestmark = pytest.mark.django_db


def test_the_demo_has_queries_in_every_state_verification_and_a_signed_locked_visit():
    demo.seed_sites_and_users()
    lines = demo.seed_trial_data(today())

    statuses = set(
        DataQuery.objects.filter(opened_by__isnull=False).values_list("status", flat=True)
    )
    assert statuses == {QueryStatus.OPEN, QueryStatus.ANSWERED, QueryStatus.CLOSED}
    assert DataQuery.objects.filter(opened_by__isnull=True).exists()  # automatic checks
    assert Verification.objects.filter(cleared_at__isnull=True).exists()
    [lock] = Lock.objects.filter(unlocked_at__isnull=True)
    assert lock.scope == LockScope.VISIT and lock.visit.visit_code == "BASELINE"
    signoff = Signoff.objects.get(visit=lock.visit)
    assert signatures.valid_signature(signoff, SignatureMeaning.VISIT) is not None
    assert any(line.startswith("monitoring:") for line in lines)
    assert demo.seed_trial_data(today()) == ["demo trial data already present: left as it is"]
