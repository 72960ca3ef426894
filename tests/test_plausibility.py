"""Plausibility at entry (issue 19): numbers never lose a character, impossible values are
refused, implausible ones are saved only when confirmed, and the confirmation is audited."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django import forms
from django.urls import reverse
from django.utils import timezone

from eligibility.models import Screening, ScreeningLab
from tests.factories.eligibility import make_screening
from trialsite.audit import history_of
from trialsite.forms import CHECKED_LABEL, NOT_A_NUMBER, NumberField, WholeNumberField
from trialsite.plausibility import Implausible, Impossible, Ok, plausibility

# --- The number field, without the database ------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "value"),
    [
        ("5,6", Decimal("5.6")),
        (" 5.6 ", Decimal("5.6")),
        ("56", Decimal("56")),
        (",5", Decimal("0.5")),
    ],
)
def test_a_comma_or_a_point_is_the_decimal_separator(typed, value):
    assert NumberField(max_digits=6, decimal_places=2).clean(typed) == value


@pytest.mark.parametrize("typed", ["5,6x", "5.6.1", "1,234.5", "5 ,6e2", "abc", "--5"])
def test_anything_else_is_refused_naming_what_was_typed(typed):
    with pytest.raises(forms.ValidationError) as refused:
        NumberField(max_digits=8, decimal_places=2).clean(typed)
    assert refused.value.messages == [str(NOT_A_NUMBER % {"value": typed.strip()})]


def test_the_message_for_5_6x_says_what_to_type():
    with pytest.raises(forms.ValidationError) as refused:
        NumberField(max_digits=6, decimal_places=2).clean("5,6x")
    assert refused.value.messages == [
        "“5,6x” is not a number: use digits and one decimal point or comma."
    ]


def test_the_input_opens_the_decimal_keyboard_and_is_not_a_browser_number_input():
    html = str(NumberField().widget.render("wbc", None))
    assert 'inputmode="decimal"' in html and 'type="text"' in html


def test_a_temperature_of_368_names_the_value_the_limit_and_the_unit_once():
    field = NumberField(
        max_digits=3, decimal_places=1, min_value=Decimal(30), max_value=Decimal(45), unit="°C"
    )
    with pytest.raises(forms.ValidationError) as refused:
        field.clean("368")
    assert refused.value.messages == [
        "368 °C is above 45 °C, the highest possible value: check the value and its unit."
    ]


def test_too_many_decimals_names_the_limit():
    with pytest.raises(forms.ValidationError) as refused:
        NumberField(max_digits=3, decimal_places=1, unit="°C").clean("36,85")
    assert refused.value.messages == [
        "36.85 °C has too many decimals: at most 1 after the decimal point."
    ]


def test_a_whole_number_field_refuses_a_decimal_naming_it():
    with pytest.raises(forms.ValidationError) as refused:
        WholeNumberField(unit="/min").clean("7.5")
    assert refused.value.messages == ["“7.5” is not a whole number: use digits only."]
    assert WholeNumberField().clean(" 72 ") == 72


# --- The limits, a pure function -------------------------------------------------------------


def test_wbc_56_is_implausible_and_1001_impossible():
    assert plausibility("wbc", Decimal("56"), "10^9/L") == Implausible(Decimal("50"), above=True)
    assert plausibility("wbc", Decimal("1001"), "10^9/L") == Impossible(Decimal("1000"), above=True)
    assert plausibility("wbc", Decimal("6.2"), "10^9/L") == Ok()


def test_a_limit_comes_back_in_the_unit_the_value_was_entered_in():
    assert plausibility("wbc", Decimal("56000"), "/uL") == Implausible(Decimal("50000"), above=True)
    assert plausibility("igg", Decimal("85000"), "mg/dL") == Impossible(
        Decimal("15000"), above=True
    )


def test_a_low_temperature_is_implausible_below_34():
    assert plausibility("temperature", Decimal("33.5"), "C") == Implausible(
        Decimal("34"), above=False
    )


# --- Screening labs: WBC 56 saved only when confirmed, and the confirmation audited ---------


def _post_wbc(client, screening: Screening, value: str, **extra) -> object:
    return client.post(
        reverse("eligibility:labs", args=[screening.number]),
        {
            "version": screening.version,
            "wbc_value": value,
            "wbc_unit": "10^9/L",
            "wbc_date": timezone.localdate().isoformat(),
            **extra,
        },
    )


@pytest.mark.django_db
def test_wbc_56_at_screening_is_refused_without_the_confirmation(
    client_for, coordinator_pumch, site_pumch
):
    screening = make_screening(site=site_pumch, user=coordinator_pumch)
    response = _post_wbc(client_for(coordinator_pumch), screening, "56")

    assert response.status_code == 200
    errors = response.context["form"].errors["wbc_value"]
    assert errors == [
        "White blood cells 56 ×10⁹/L is above 50 ×10⁹/L, the highest plausible value: "
        "check the value and its unit, or confirm it."
    ]
    content = response.content.decode()
    assert 'name="wbc_value_checked"' in content and str(CHECKED_LABEL) in content
    assert 'type="checkbox" name="wbc_value_checked"' in content
    assert not ScreeningLab.objects.filter(screening=screening).exists()


@pytest.mark.django_db
def test_the_confirmation_tick_is_not_shown_for_a_plausible_value(
    client_for, coordinator_pumch, site_pumch
):
    screening = make_screening(site=site_pumch, user=coordinator_pumch)
    response = client_for(coordinator_pumch).get(
        reverse("eligibility:labs", args=[screening.number])
    )
    assert str(CHECKED_LABEL) not in response.content.decode()


@pytest.mark.django_db
def test_wbc_56_at_screening_is_saved_with_the_confirmation_which_is_audited(
    client_for, coordinator_pumch, site_pumch
):
    screening = make_screening(site=site_pumch, user=coordinator_pumch)
    response = _post_wbc(client_for(coordinator_pumch), screening, "56", wbc_value_checked="on")

    assert response.status_code == 302
    lab = ScreeningLab.objects.get(screening=screening, analyte="wbc")
    assert lab.value == Decimal("56") and lab.value_checked is True
    created = history_of(lab)[0]
    assert created.who == coordinator_pumch.username
    assert any(
        change.new in ("True", "Yes", True) and "confirmed" in str(change.label)
        for change in created.changes
    ), [(c.label, c.old, c.new) for c in created.changes]


@pytest.mark.django_db
def test_an_impossible_value_is_refused_even_when_confirmed(
    client_for, coordinator_pumch, site_pumch
):
    screening = make_screening(site=site_pumch, user=coordinator_pumch)
    response = client_for(coordinator_pumch).post(
        reverse("eligibility:labs", args=[screening.number]),
        {
            "version": screening.version,
            "igg_value": "850",
            "igg_unit": "g/L",
            "igg_date": timezone.localdate().isoformat(),
            "igg_value_checked": "on",
        },
    )
    assert response.status_code == 200
    assert response.context["form"].errors["igg_value"] == [
        "IgG 850 g/L is above 150 g/L, the highest possible value: check the value and its unit."
    ]
    assert not ScreeningLab.objects.filter(screening=screening).exists()


@pytest.mark.django_db
def test_5_6x_is_refused_on_its_field_and_5_6_with_a_comma_is_saved_as_5_6(
    client_for, coordinator_pumch, site_pumch
):
    screening = make_screening(site=site_pumch, user=coordinator_pumch)
    client = client_for(coordinator_pumch)
    refused = _post_wbc(client, screening, "5,6x")
    assert refused.status_code == 200
    assert refused.context["form"].errors["wbc_value"] == [
        "“5,6x” is not a number: use digits and one decimal point or comma."
    ]
    assert not ScreeningLab.objects.filter(screening=screening).exists()

    accepted = _post_wbc(client, screening, "5,6")
    assert accepted.status_code == 302
    assert ScreeningLab.objects.get(screening=screening, analyte="wbc").value == Decimal("5.6")


# --- Vitals (a ModelForm) and B cells ----------------------------------------------------------

VITALS = {
    "weight_kg": "41,0",
    "height_cm": "150",
    "temperature_c": "36.8",
    "heart_rate_bpm": "90",
    "respiratory_rate": "",
    "systolic_mmhg": "105",
    "diastolic_mmhg": "65",
}


@pytest.fixture
def crf_visit(site_pumch, coordinator_pumch, investigator_pumch):
    from tests.factories.crf import make_participant, make_visit

    participant = make_participant(
        site=site_pumch, coordinator=coordinator_pumch, investigator=investigator_pumch
    )
    return make_visit(participant, "W12", user=coordinator_pumch)


@pytest.mark.django_db
def test_a_temperature_of_368_is_refused_once_naming_value_limit_and_unit(
    client_for, coordinator_pumch, crf_visit
):
    from crf.models import Vitals

    response = client_for(coordinator_pumch).post(
        reverse("crf:visit_form", args=[crf_visit.pk, "vitals"]),
        {**VITALS, "temperature_c": "368"},
    )
    assert response.status_code == 200
    assert response.context["form"].errors["temperature_c"] == [
        "368 °C is above 45 °C, the highest possible value: check the value and its unit."
    ]
    assert 'inputmode="decimal"' in response.content.decode()
    assert not Vitals.objects.exists()


@pytest.mark.django_db
def test_an_implausible_heart_rate_is_saved_with_its_confirmation_on_the_record(
    client_for, coordinator_pumch, crf_visit
):
    from crf.models import Vitals

    client = client_for(coordinator_pumch)
    url = reverse("crf:visit_form", args=[crf_visit.pk, "vitals"])
    refused = client.post(url, {**VITALS, "heart_rate_bpm": "230"})
    assert refused.context["form"].errors["heart_rate_bpm"] == [
        "Heart rate 230 /min is above 200 /min, the highest plausible value: "
        "check the value and its unit, or confirm it."
    ]
    assert not Vitals.objects.exists()

    saved = client.post(url, {**VITALS, "heart_rate_bpm": "230", "heart_rate_bpm_checked": "on"})
    assert saved.status_code == 302
    vitals = Vitals.objects.get()
    assert vitals.heart_rate_bpm == 230 and vitals.weight_kg == Decimal("41.0")
    assert vitals.values_checked == ["heart_rate_bpm"]


@pytest.mark.django_db
def test_a_b_cell_percentage_of_150_says_a_percentage_cannot_exceed_100(
    client_for, coordinator_pumch, investigator_pumch, site_pumch
):
    from dosing.models import BCellResult
    from tests.factories.dosing import make_course

    course = make_course(
        site=site_pumch, coordinator=coordinator_pumch, investigator=investigator_pumch
    )
    response = client_for(coordinator_pumch).post(
        reverse("dosing:b_cells", args=[course.participant.subject_id]),
        {"taken_on": timezone.localdate().isoformat(), "cd19_percent": "150"},
    )
    assert response.status_code == 200
    form = response.context["form"]
    assert form.errors["cd19_percent"] == ["150 %: a percentage cannot exceed 100 %."]
    assert not form.non_field_errors()
    assert not BCellResult.objects.exists()
