"""The ESSDAI form: only the levels a domain has, scored by the server, refused in the database."""

from __future__ import annotations

import pghistory.models
import pytest
from django.db import IntegrityError, transaction
from django.urls import reverse

from crf.essdai import DOMAIN_CODES, DOMAINS
from crf.models import EssdaiAssessment
from enrollment.services import withdraw_consent
from tests.factories.crf import essdai_data, make_participant, make_visit, save_essdai, today
from trialsite.forms import REASON_REQUIRED
from trialsite.protocol import ESSDAI_VERSION

pytestmark = pytest.mark.django_db

FORBIDDEN_LEVELS = [("constitutional", 3), ("glandular", 3), ("biological", 3), ("cns", 1)]


@pytest.fixture
def visit(site_pumch, coordinator_pumch, investigator_pumch):
    participant = make_participant(
        site=site_pumch, coordinator=coordinator_pumch, investigator=investigator_pumch
    )
    return make_visit(participant, "BASELINE", user=coordinator_pumch)


def essdai_url(visit) -> str:
    return reverse("crf:visit_form", args=[visit.pk, "essdai"])


def test_every_domain_is_a_field_named_by_its_code_with_only_its_levels():
    for domain in DOMAINS:
        field = EssdaiAssessment._meta.get_field(domain.code)
        assert {value for value, _label in field.choices} == domain.allowed_levels
    assert [d.code for d in DOMAINS] == list(DOMAIN_CODES)


def test_the_form_offers_each_domain_only_its_levels_with_their_descriptions(
    client_for, coordinator_pumch, visit
):
    response = client_for(coordinator_pumch).get(essdai_url(visit))

    html = response.content.decode()
    assert response.status_code == 200
    assert 'name="constitutional" value="2"' in html
    assert 'name="constitutional" value="3"' not in html
    assert 'name="cns" value="1"' not in html
    assert 'name="cns" value="3"' in html
    assert "Current malignant B-cell proliferative disorder." in html
    assert ESSDAI_VERSION in html


def test_a_crafted_post_with_an_impossible_level_is_refused_and_stores_nothing(
    client_for, coordinator_pumch, visit
):
    before = pghistory.models.Events.objects.count()

    response = client_for(coordinator_pumch).post(
        essdai_url(visit), essdai_data(constitutional=3, glandular=1)
    )

    assert response.status_code == 200
    assert "constitutional" in response.context["form"].errors
    assert not EssdaiAssessment.objects.exists()
    assert pghistory.models.Events.objects.count() == before


@pytest.mark.parametrize(("code", "level"), FORBIDDEN_LEVELS)
def test_the_database_refuses_a_level_the_domain_does_not_have(visit, code, level):
    levels = dict.fromkeys(DOMAIN_CODES, 0) | {code: level}
    with pytest.raises(IntegrityError, match=f"essdai_{code}_level_exists"), transaction.atomic():
        EssdaiAssessment.objects.create(visit=visit, **levels)


def test_the_database_refuses_an_update_to_an_impossible_level(visit, coordinator_pumch):
    save_essdai(visit, coordinator_pumch, glandular=1)
    with pytest.raises(IntegrityError), transaction.atomic():
        EssdaiAssessment.objects.update(cns=1)
    assert EssdaiAssessment.objects.get().cns == 0


def test_the_total_category_and_contributions_are_computed_never_typed(
    client_for, coordinator_pumch, visit
):
    client = client_for(coordinator_pumch)
    response = client.post(
        essdai_url(visit),
        essdai_data(constitutional=1, glandular=2, biological=2, total="99", category="low"),
    )

    assert response.status_code == 302
    assessment = EssdaiAssessment.objects.get()
    assert assessment.score.total == 3 + 4 + 2
    assert assessment.score.category == "moderate"
    assert assessment.instrument_version == ESSDAI_VERSION
    page = client.get(reverse("crf:visit", args=[visit.pk])).content.decode()
    assert 'data-essdai-total="9"' in page
    assert "moderate activity" in page


def test_correcting_a_saved_essdai_needs_a_reason_for_change(client_for, coordinator_pumch, visit):
    assessment = save_essdai(visit, coordinator_pumch, glandular=1)
    client = client_for(coordinator_pumch)

    refused = client.post(
        essdai_url(visit), {**essdai_data(glandular=2), "version": assessment.version}
    )
    accepted = client.post(
        essdai_url(visit),
        {
            **essdai_data(glandular=2),
            "version": assessment.version,
            "reason_for_change": "re-examined",
        },
    )

    assert str(REASON_REQUIRED) in refused.content.decode()
    assert accepted.status_code == 302
    assert EssdaiAssessment.objects.get().glandular == 2


def test_no_essdai_can_be_entered_after_consent_withdrawal(client_for, coordinator_pumch, visit):
    withdraw_consent(
        participant=visit.participant,
        user=coordinator_pumch,
        withdrawn_on=today(),
        data_may_be_kept=True,
        notes="",
    )

    response = client_for(coordinator_pumch).post(essdai_url(visit), essdai_data(glandular=1))

    assert response.status_code == 200
    assert "Consent was withdrawn" in response.content.decode()
    assert not EssdaiAssessment.objects.exists()


def test_an_essdai_entered_in_error_is_voided_and_can_be_entered_again(
    client_for, coordinator_pumch, visit
):
    wrong = save_essdai(visit, coordinator_pumch, glandular=2)
    client = client_for(coordinator_pumch)

    client.post(
        reverse("crf:visit_form_void", args=[visit.pk, "essdai"]), {"reason": "other child"}
    )
    response = client.post(essdai_url(visit), essdai_data(glandular=1))

    wrong.refresh_from_db()
    assert wrong.is_voided and wrong.void_reason == "other child"
    assert response.status_code == 302
    assert EssdaiAssessment.objects.active().get().glandular == 1
    assert EssdaiAssessment.objects.count() == 2  # never deleted
