"""Generated texts are stored as a code with parameters and shown in the reader's language;
drug and site names exist in both languages (issue 19)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from django.utils import translation

from eligibility.criteria import DrugClass, classify_drug
from trialsite import drugs, reference_ranges, texts
from trialsite.protocol import SITE_NAMES_ZH, SITES


def _has_chinese(text: str) -> bool:
    return any("\u4e00" <= ch <= "\u9fff" for ch in text)


def test_a_lab_finding_reads_in_each_readers_language():
    text = reference_ranges.flag("igg", Decimal("21.00")).text
    assert text is not None and text.code == "lab.above"
    # One number format (issue 19): no trailing zeros.
    assert text.english() == "IgG 21 g/L is above the upper limit 16 g/L."
    with translation.override("zh-hans"):
        shown = str(text)
    assert _has_chinese(shown) and "21" in shown and "above" not in shown


def test_numbers_in_parameters_use_the_projects_number_formatting():
    text = texts.Text("lab.below", {"name": "x", "value": Decimal("0.5"), "unit": "g/L"})
    assert text.json_params()["value"] == {"number": "0.5"}
    assert texts.render("lab.below", {"value": {"number": "0.5"}, "name": "x", "unit": "u"}, "")


def test_a_row_without_a_code_shows_its_stored_text():
    assert texts.render("", {}, "Typed by a monitor") == "Typed by a monitor"
    assert texts.render("retired.code", {}, "old text") == "old text"


def test_nested_texts_render_in_the_same_language():
    label = texts.Text("event.rituximab", {"n": 2})
    window = texts.Text("window", {"start": date(2026, 3, 1), "end": date(2026, 3, 8)})
    text = texts.Text(
        "deviation.missed",
        {"label": label, "window": window, "target": date(2026, 3, 4), "days": 7},
    )
    assert text.english().startswith("Rituximab infusion 2 missed")
    with translation.override("zh-hans"):
        shown = str(text)
    assert "Rituximab" not in shown and "window" not in shown and "2026-03-04" in shown


@pytest.mark.parametrize("code", sorted(texts.TEMPLATES))
def test_every_template_has_a_chinese_translation(code):
    with translation.override("zh-hans"):
        shown = str(texts.TEMPLATES[code])
    # a test's own name (IgG, IgA) and a template that only joins texts stay as they are
    assert _has_chinese(shown) or shown.startswith("%(") or shown in {"IgG", "IgA"}, code


@pytest.mark.parametrize(("english", "chinese"), sorted(drugs.CHINESE_NAMES.items()))
def test_the_chinese_generic_name_is_recognised_as_the_same_drug(english, chinese):
    assert classify_drug(chinese) == classify_drug(english)
    assert classify_drug(chinese) is not None


def test_mycophenolate_mofetil_in_chinese_is_an_immunosuppressant():
    assert classify_drug("吗替麦考酚酯") == DrugClass.IMMUNOSUPPRESSANT
    assert classify_drug(" 甲氨蝶呤 ") == DrugClass.IMMUNOSUPPRESSANT


def test_drug_names_are_shown_in_the_readers_language():
    with translation.override("zh-hans"):
        assert drugs.display_name("Mycophenolate mofetil") == "吗替麦考酚酯"
        assert drugs.display_name("unknown herb") == "unknown herb"
    with translation.override("en"):
        assert drugs.display_name("mycophenolate mofetil") == "mycophenolate mofetil"


def test_every_site_has_a_chinese_name():
    assert {code for code, _name, _city in SITES} == set(SITE_NAMES_ZH)
    assert all(_has_chinese(name) for name in SITE_NAMES_ZH.values())


@pytest.mark.django_db
def test_a_site_shows_its_chinese_name_to_a_chinese_reader(site_pumch):
    with translation.override("zh-hans"):
        assert str(site_pumch) == "PUMCH – 北京协和医院"
    with translation.override("en"):
        assert str(site_pumch) == "PUMCH – Peking Union Medical College Hospital"
