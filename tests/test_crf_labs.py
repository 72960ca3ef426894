"""Labs of a visit: units converted, out-of-range values flagged, impossible values refused."""

from __future__ import annotations

from decimal import Decimal
from html import unescape

import pytest
from django.urls import reverse

from crf.services import LABS_CHANGED
from dosing.models import LabResult
from dosing.services import b_cell_result_record
from tests.factories.crf import lab_data, make_participant, make_visit, save_labs, today

pytestmark = pytest.mark.django_db


@pytest.fixture
def visit(site_pumch, coordinator_pumch, investigator_pumch):
    participant = make_participant(
        site=site_pumch, coordinator=coordinator_pumch, investigator=investigator_pumch
    )
    return make_visit(participant, "W12", user=coordinator_pumch)


def labs_url(visit) -> str:
    return reverse("crf:visit_labs", args=[visit.pk])


def test_a_value_is_stored_as_entered_and_in_the_canonical_unit(
    client_for, coordinator_pumch, visit
):
    response = client_for(coordinator_pumch).post(
        labs_url(visit), lab_data(visit, igg=("1250", "mg/dL"), esr="12")
    )

    assert response.status_code == 302
    igg = LabResult.objects.get(analyte="igg")
    assert (igg.value_entered, igg.unit_entered, igg.value) == (
        Decimal("1250"),
        "mg/dL",
        Decimal("12.5"),
    )
    assert igg.visit == visit and igg.participant == visit.participant
    assert igg.taken_on == visit.visit_date


def test_values_outside_the_reference_range_are_flagged_on_the_visit_page(
    client_for, coordinator_pumch, visit
):
    save_labs(visit, coordinator_pumch, esr="45", c4="0.05", igg="12")

    page = client_for(coordinator_pumch).get(reverse("crf:visit", args=[visit.pk]))

    html = page.content.decode()
    assert 'data-analyte="esr" data-flag="H"' in html
    assert 'data-analyte="c4" data-flag="L"' in html
    assert 'data-analyte="igg" data-flag' not in html
    assert "above the upper limit 20 mm/h" in html


def test_an_impossible_value_is_refused_with_the_test_named_and_nothing_stored(
    client_for, coordinator_pumch, visit
):
    response = client_for(coordinator_pumch).post(
        labs_url(visit), lab_data(visit, igg=("400", "g/L"), esr="12")
    )

    assert response.status_code == 200
    errors = response.context["form"].errors["igg_value"]
    assert errors == [
        "IgG 400 g/L is above 150 g/L, the highest possible value: check the value and its unit."
    ]
    assert not LabResult.objects.exists()


def test_unreadable_input_is_a_form_error_not_a_server_error(client_for, coordinator_pumch, visit):
    response = client_for(coordinator_pumch).post(
        labs_url(visit),
        lab_data(visit, taken_on=None, crp=("abc", "mg/L"), esr=("5", "furlongs"))
        | {"taken_on": "x"},
    )

    assert response.status_code == 200
    form = response.context["form"]
    assert {"crp_value", "esr_unit", "taken_on"} <= set(form.errors)
    assert not LabResult.objects.exists()


def test_a_sample_date_in_the_future_is_refused(client_for, coordinator_pumch, visit):
    tomorrow = today().fromordinal(today().toordinal() + 1)
    response = client_for(coordinator_pumch).post(
        labs_url(visit), lab_data(visit, taken_on=tomorrow, esr="5")
    )
    assert "taken_on" in response.context["form"].errors
    assert not LabResult.objects.exists()


def test_clearing_a_saved_value_voids_it_with_the_reason(client_for, coordinator_pumch, visit):
    save_labs(visit, coordinator_pumch, esr="30", crp="5")

    response = client_for(coordinator_pumch).post(
        labs_url(visit), lab_data(visit, crp="5") | {"reason_for_change": "wrong patient's ESR"}
    )

    assert response.status_code == 302
    esr = LabResult.objects.get(analyte="esr")
    assert esr.is_voided and esr.void_reason == "wrong patient's ESR"
    assert not LabResult.objects.get(analyte="crp").is_voided


def test_changing_a_saved_value_needs_a_reason(client_for, coordinator_pumch, visit):
    save_labs(visit, coordinator_pumch, esr="30")

    response = client_for(coordinator_pumch).post(labs_url(visit), lab_data(visit, esr="31"))

    assert response.status_code == 200
    assert "reason_for_change" in response.context["form"].errors
    assert LabResult.objects.get(analyte="esr").value == Decimal("30")


def test_labs_saved_by_someone_else_meanwhile_are_not_overwritten(
    client_for, coordinator_pumch, visit
):
    stale = lab_data(visit, esr="30")
    save_labs(visit, coordinator_pumch, esr="25")

    response = client_for(coordinator_pumch).post(
        labs_url(visit), stale | {"reason_for_change": "typo"}
    )

    conflict = str(LABS_CHANGED % {"tests": "ESR"})
    assert conflict in unescape(response.content.decode())  # names the test changed
    assert LabResult.objects.get(analyte="esr").value == Decimal("25")


def test_cd19_results_recorded_in_dosing_are_shown_on_the_visit_page(
    client_for, coordinator_pumch, visit
):
    b_cell_result_record(
        participant=visit.participant,
        user=coordinator_pumch,
        taken_on=visit.visit_date,
        cd19_percent=Decimal("0.2"),
        cd19_absolute_entered=Decimal("4"),
        cd19_absolute_unit="cells/uL",
        today=today(),
    )

    html = client_for(coordinator_pumch).get(reverse("crf:visit", args=[visit.pk])).content.decode()

    assert "0.2 %" in html
    assert "depleted (SCH2)" in html
    assert 'data-form="b_cells" data-form-status="complete"' in html


def test_the_panel_is_a_full_differential_wherever_the_panel_is_listed():
    from django.utils import translation

    from crf.selectors import LAB_PANEL
    from demo.clinical import NORMAL_LABS as DEMO_LABS
    from demo.loaddata import NORMAL_LABS as LOAD_LABS
    from dosing.models import LabAnalyte
    from tests.factories.crf import NORMAL_PANEL
    from trialsite import units
    from trialsite.reference_ranges import REFERENCE_RANGES, UNITS

    differential = {"neutrophils", "lymphocytes", "monocytes", "eosinophils", "basophils"}
    assert differential <= LAB_PANEL
    assert set(DEMO_LABS) == set(LOAD_LABS) == set(NORMAL_PANEL) == LAB_PANEL
    assert set(REFERENCE_RANGES) >= LAB_PANEL
    for code in differential:
        assert units.get_analyte(code).canonical_unit.key == "10^9/L"
        assert UNITS[code] == "×10⁹/L"
    with translation.override("zh-hans"):
        labels = {str(LabAnalyte(code).label) for code in ("monocytes", "eosinophils", "basophils")}
    assert labels == {"单核细胞", "嗜酸性粒细胞", "嗜碱性粒细胞"}


def test_the_new_differential_counts_convert_and_flag_like_the_others(coordinator_pumch, visit):
    from trialsite.reference_ranges import flag

    save_labs(
        visit, coordinator_pumch, monocytes=("450", "/uL"), eosinophils="0.9", basophils="0.02"
    )

    saved = {lab.analyte: lab.value for lab in LabResult.objects.filter(visit=visit)}
    assert saved["monocytes"] == Decimal("0.45")
    assert flag("eosinophils", saved["eosinophils"]).flag == "H"
    assert flag("basophils", saved["basophils"]).flag is None
