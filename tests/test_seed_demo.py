"""`manage.py seed_demo`: refuses to run with DEBUG off unless forced; idempotent."""

from __future__ import annotations

from io import StringIO

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command
from django.test import override_settings

from crf.models import AdverseEvent
from dosing.models import Infusion, Visit
from eligibility.models import Screening
from enrollment.models import Consent, Participant
from monitoring.models import DataQuery
from trialsite.models import Site, User

pytestmark = pytest.mark.django_db

COUNTED = (Site, User, Screening, Consent, Participant, Infusion, Visit, AdverseEvent, DataQuery)


def row_counts() -> dict[str, int]:
    return {model.__name__: model.objects.count() for model in COUNTED}


def seed(*args: str) -> str:
    out = StringIO()
    call_command("seed_demo", *args, stdout=out)
    return out.getvalue()


def test_it_refuses_to_run_with_debug_off():
    assert settings.DEBUG is False  # the test settings, like production
    before = row_counts()
    with pytest.raises(CommandError, match="Refusing to load demo data with DEBUG off"):
        seed()
    assert row_counts() == before
    assert not User.objects.filter(username="coordinator_pumch").exists()


def test_forced_it_runs_and_a_second_run_adds_nothing():
    output = seed("--force")
    first = row_counts()
    assert "Demo data loaded." in output
    assert first["Site"] == 12
    assert first["Participant"] >= 10 and first["Screening"] > first["Participant"]
    assert all(first[name] > 0 for name in ("Consent", "Infusion", "Visit", "AdverseEvent"))

    with override_settings(DEBUG=True):  # as under `make run`: no --force needed
        again = seed()

    assert "already present" in again
    assert row_counts() == first
