"""Every CRF page goes through the access layer: other sites 404, read-only roles 403."""

from __future__ import annotations

import pytest
from django.urls import reverse

from crf.models import AdverseEvent, ConcomitantMedication, EssdaiAssessment, Vitals
from dosing.models import LabResult
from tests.factories.crf import (
    essdai_data,
    make_participant,
    make_visit,
    record_ae,
    record_con_med,
    save_essdai,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def data(site_pumch, coordinator_pumch, investigator_pumch):
    participant = make_participant(
        site=site_pumch, coordinator=coordinator_pumch, investigator=investigator_pumch
    )
    visit = make_visit(participant, "BASELINE", user=coordinator_pumch)
    essdai = save_essdai(visit, coordinator_pumch, glandular=1)
    event = record_ae(participant, coordinator_pumch)
    medication = record_con_med(participant, coordinator_pumch)
    return {
        "participant": participant,
        "visit": visit,
        "essdai": essdai,
        "event": event,
        "medication": medication,
    }


def read_urls(d) -> list[str]:
    s = d["participant"].subject_id
    return [
        reverse("crf:visit", args=[d["visit"].pk]),
        reverse("crf:ae_list", args=[s]),
        reverse("crf:ae_detail", args=[d["event"].pk]),
        reverse("crf:con_meds", args=[s]),
    ]


def write_urls(d) -> list[str]:
    s, v = d["participant"].subject_id, d["visit"].pk
    return [
        reverse("crf:visit_form", args=[v, "essdai"]),
        reverse("crf:visit_form", args=[v, "vitals"]),
        reverse("crf:visit_labs", args=[v]),
        reverse("crf:ae_add", args=[s]),
        reverse("crf:ae_edit", args=[s, d["event"].pk]),
        reverse("crf:ae_update_add", args=[d["event"].pk]),
        reverse("crf:con_med_add", args=[s]),
        reverse("crf:con_med_edit", args=[s, d["medication"].pk]),
    ]


def test_a_record_at_another_site_answers_404(client, data, coordinator_chcmu):
    client.force_login(coordinator_chcmu)
    for url in read_urls(data) + write_urls(data):
        assert client.get(url).status_code == 404, url
    post = client.post(reverse("crf:visit_form", args=[data["visit"].pk, "essdai"]), essdai_data())
    assert post.status_code == 404


def test_a_monitor_reads_but_every_write_answers_403(client, data, monitor_pumch):
    client.force_login(monitor_pumch)
    for url in read_urls(data):
        assert client.get(url).status_code == 200, url
    for url in write_urls(data):
        assert client.post(url, {"anything": "1"}).status_code == 403, url
    assert (
        client.post(reverse("crf:ae_void", args=[data["event"].pk]), {"reason": "x"}).status_code
        == 403
    )
    assert not AdverseEvent.objects.filter(voided_at__isnull=False).exists()
    assert EssdaiAssessment.objects.get().glandular == 1


def test_nobody_logged_in_is_sent_to_the_login_page(client, data):
    response = client.get(reverse("crf:visit", args=[data["visit"].pk]))
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_a_form_the_visit_does_not_offer_answers_404(client, data, coordinator_pumch):
    rtx1 = make_visit(data["participant"], "RTX1", user=coordinator_pumch)
    client.force_login(coordinator_pumch)
    assert client.get(reverse("crf:visit_form", args=[rtx1.pk, "essdai"])).status_code == 404
    assert client.get(reverse("crf:visit_form", args=[rtx1.pk, "nonsense"])).status_code == 404
    assert client.get(reverse("crf:visit_form", args=[rtx1.pk, "vitals"])).status_code == 200


GARBAGE = {
    "essdai": {"constitutional": "high", "cns": "-1", "version": "x"},
    "esspri": {"dryness": "11", "fatigue": "-1", "pain": "a lot"},
    "physician_global": {"score": "10.5"},
    "glands": {"schirmer_mm_5min": "99", "unstimulated_saliva_ml_15min": "abc"},
    "vitals": {
        "weight_kg": "0.1",
        "height_cm": "900",
        "systolic_mmhg": "60",
        "diastolic_mmhg": "90",
    },
    "safety_review": {"new_adverse_events": "maybe"},
}


@pytest.mark.parametrize("kind", sorted(GARBAGE))
def test_bad_input_gives_form_errors_never_a_server_error(client, data, coordinator_pumch, kind):
    client.force_login(coordinator_pumch)
    response = client.post(reverse("crf:visit_form", args=[data["visit"].pk, kind]), GARBAGE[kind])
    assert response.status_code == 200
    assert response.context["form"].errors


def test_bad_input_on_the_logs_gives_form_errors(client, data, coordinator_pumch):
    client.force_login(coordinator_pumch)
    s = data["participant"].subject_id
    for url in (reverse("crf:ae_add", args=[s]), reverse("crf:con_med_add", args=[s])):
        response = client.post(url, {"grade": "7", "dose": "-1", "onset_date": "yesterday"})
        assert response.status_code == 200 and response.context["form"].errors, url
    assert AdverseEvent.objects.count() == 1 and ConcomitantMedication.objects.count() == 1
    assert not Vitals.objects.exists() and not LabResult.objects.exists()
