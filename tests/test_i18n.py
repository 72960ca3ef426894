"""Issue 11: the Simplified Chinese interface.

The gates: every template string is marked for translation, every marked string is in
the zh_Hans catalogue, and nothing in the catalogue is untranslated or fuzzy. Then what
a Chinese-speaking coordinator sees: clinical terms as clinicians write them, instrument
names and protocol codes kept, dates in the Chinese format, a switcher that remembers the
choice, and exports that stay in English whatever the language of the person exporting.
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
from datetime import UTC, date, datetime

import pytest
from django.core import mail
from django.template import engines
from django.urls import reverse
from django.utils import formats, translation
from lxml import etree
from pypdf import PdfReader

from crf import essdai
from exports import services as export_services
from exports.models import Export
from tests import i18n_support
from tests.factories.crf import record_ae
from tests.factories.enrollment import make_participant
from tests.jobs import run_queued_jobs

CJK = re.compile(r"[\u3000-\u303f\u3400-\u9fff\uff00-\uffef]")
PLACEHOLDER = re.compile(r"%\(\w+\)[sd]|%s|%d|\{\w+\}")


@pytest.fixture(scope="module")
def catalogue():
    return i18n_support.catalogue()


def translation_of(entry) -> str:
    return entry.msgstr_plural.get(0, "") if entry.msgid_plural else entry.msgstr


def chinese(text) -> str:
    with translation.override("zh-hans"):
        return str(text)


@pytest.fixture(autouse=True)
def _english_afterwards():
    # A request with the Chinese cookie leaves the language active in this thread
    # (LocaleMiddleware never deactivates): reset it so no later test runs in Chinese.
    translation.deactivate()
    yield
    translation.deactivate()


@pytest.fixture(autouse=True, scope="module")
def _compiled_catalogue():
    # `make` compiles the catalogue; a bare `pytest` run may come before it.
    i18n_support.compile_catalogue()


# --- the gates -------------------------------------------------------------------------


def test_every_template_string_is_marked_for_translation():
    unmarked = {
        str(path.relative_to(i18n_support.BASE_DIR)): found
        for path in i18n_support.template_files()
        if (found := i18n_support.untranslated_text(path.read_text(encoding="utf-8")))
    }
    assert not unmarked, (
        "Text shown without {% translate %} / {% blocktranslate %} (codes and units may be "
        f"added to ALLOWED_TEXT in tests/i18n_support.py): {unmarked}"
    )


def test_the_template_checker_finds_unmarked_text_and_accepts_marked_text_and_codes():
    source = """{% load i18n %}<h1>{% translate "Adverse events" %}</h1>
    <p>Forgotten sentence</p><span title="A tooltip">{{ value }}</span>
    <td>EXC10 · SCH2 · W12 · 12.5 mg</td><input aria-label="{% translate 'Search' %}">
    {% blocktranslate with n=3 %}{{ n }} items left{% endblocktranslate %}
    {{ when|default:"not yet" }} <a class="{{ css|default:'info' }}">{{ n }}</a>
    {# a comment is not shown #}<i aria-label="icon label"></i>"""

    assert i18n_support.untranslated_text(source) == [
        "Forgotten sentence",
        "A tooltip",
        "icon label",
        "not yet",
    ]


def test_every_marked_string_is_in_the_chinese_catalogue(catalogue):
    known = {(entry.msgctxt or "", entry.msgid) for entry in catalogue}
    missing = {
        msgid: where
        for (context, msgid), where in i18n_support.marked_msgids().items()
        if (context, msgid) not in known
    }
    assert not missing, f"Run `make messages` and translate: {missing}"


def test_the_chinese_catalogue_has_no_untranslated_or_fuzzy_entry(catalogue):
    untranslated = [entry.msgid for entry in catalogue if not translation_of(entry).strip()]
    fuzzy = [entry.msgid for entry in catalogue if "fuzzy" in entry.flags]
    assert not untranslated and not fuzzy, {"untranslated": untranslated, "fuzzy": fuzzy}
    assert len(catalogue) > 1500
    print(f"\nzh_Hans catalogue: {len(catalogue)} entries, all translated, none fuzzy")


def test_every_translation_keeps_the_placeholders_of_the_english(catalogue):
    broken = [
        entry.msgid
        for entry in catalogue
        if sorted(set(PLACEHOLDER.findall(entry.msgid + (entry.msgid_plural or ""))))
        != sorted(set(PLACEHOLDER.findall(translation_of(entry))))
    ]
    assert not broken


def test_instrument_names_and_protocol_codes_stay_recognisable(catalogue):
    codes = re.compile(
        r"ESSDAI|ESSPRI|CTCAE|AECG|ICH E2A|MCII|\b(?:SCH|INC|EXC|SCR|ENR)\d+\b|×10[⁶⁹]/L|mg/m²"
    )
    lost = [
        (entry.msgid, code)
        for entry in catalogue
        for code in codes.findall(entry.msgid)
        if code not in translation_of(entry)
    ]
    assert not lost


@pytest.mark.parametrize(
    ("english", "chinese_term"),
    [
        ("Screening", "筛选"),
        ("Enrol", "入组"),
        ("Guardian informed consent", "监护人知情同意书"),
        ("Child assent", "患儿赞同书"),
        ("Subject ID", "受试者编号"),
        ("Rituximab", "利妥昔单抗"),
        ("Belimumab", "贝利尤单抗"),
        ("Adverse events", "不良事件"),
        ("Serious adverse event alert", "严重不良事件警报"),
        ("Concomitant medication", "合并用药"),
        ("Protocol deviations", "方案偏离"),
        ("Visit", "访视"),
        ("Baseline", "基线"),
        ("E-signature", "电子签名"),
        ("Data queries", "数据质疑"),
        ("Source data verification", "源数据核查"),
    ],
)
def test_clinical_terms_read_as_chinese_clinicians_write_them(english, chinese_term):
    assert chinese_term in chinese(translation.gettext_lazy(english))


def test_every_essdai_domain_and_level_has_a_chinese_label_and_keeps_its_weight():
    for domain in essdai.DOMAINS:
        assert CJK.search(chinese(domain.name)), domain.code
        for level in domain.levels:
            assert CJK.search(chinese(level.label)) and CJK.search(chinese(level.description))
    labels = dict(essdai.level_choices("constitutional"))
    with translation.override("zh-hans"):
        assert str(labels[1]).startswith("1 – 低：轻度或间断发热（37.5–38.5 °C）")


# --- dates -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("language", "format_name", "shown"),
    [
        ("en", "SHORT_DATE_FORMAT", "2026-03-05"),
        ("en", "DATE_FORMAT", "5 Mar 2026"),
        ("en", "YEAR_MONTH_FORMAT", "March 2026"),
        ("zh-hans", "SHORT_DATE_FORMAT", "2026-03-05"),
        ("zh-hans", "DATE_FORMAT", "2026年3月5日"),
        ("zh-hans", "YEAR_MONTH_FORMAT", "2026年3月"),
        ("zh-hans", "MONTH_DAY_FORMAT", "3月5日"),
    ],
)
def test_dates_are_shown_in_the_format_of_the_language(language, format_name, shown):
    with translation.override(language):
        assert formats.date_format(date(2026, 3, 5), format_name) == shown


def test_a_chinese_date_typed_in_a_text_field_is_understood():
    from django import forms

    with translation.override("zh-hans"):
        assert forms.DateField().clean("2026/03/05") == date(2026, 3, 5)
        assert forms.DateField().clean("2026-03-05") == date(2026, 3, 5)


def test_templates_format_dates_only_with_named_formats_except_in_machine_readable_places():
    literal = re.compile(r"""\|date:["'](?P<fmt>[^"']*)["']""")
    named = {"DATE_FORMAT", "SHORT_DATE_FORMAT", "DATETIME_FORMAT", "SHORT_DATETIME_FORMAT"}
    named |= {"YEAR_MONTH_FORMAT", "MONTH_DAY_FORMAT", "TIME_FORMAT", "D"}
    machine = re.compile(r"""(?:data-[\w-]+|href|value|datetime)=["'][^"']*$""")
    offenders = []
    for path in i18n_support.template_files():
        source = path.read_text(encoding="utf-8")
        for match in literal.finditer(source):
            if match["fmt"] in named:
                continue
            before = source[: match.start()]
            if not machine.search(before[before.rfind("<") :]):
                offenders.append(f"{path.name}: {match.group(0)}")
    assert not offenders, "See trialsite/formats/__init__.py: " + ", ".join(offenders)


# --- switching language -----------------------------------------------------------------


@pytest.mark.django_db
def test_the_login_page_offers_the_switch_and_the_choice_is_remembered_for_a_year(client):
    page = client.get(reverse("login"))
    assert b'name="language" value="zh-hans"' in page.content

    response = client.post(
        reverse("set_language"), {"language": "zh-hans", "next": reverse("login")}
    )

    assert response.status_code == 302 and response["Location"] == reverse("login")
    cookie = response.cookies["django_language"]
    assert cookie.value == "zh-hans" and int(cookie["max-age"]) >= 365 * 24 * 3600
    again = client.get(reverse("login"))
    assert '<html lang="zh-hans">' in again.content.decode()
    assert "登录" in again.content.decode()


@pytest.mark.django_db
def test_a_logged_in_coordinator_switches_to_chinese_and_back(client_for, coordinator_pumch):
    client = client_for(coordinator_pumch)
    client.post(reverse("set_language"), {"language": "zh-hans", "next": "/"})
    page = client.get(reverse("eligibility:log")).content.decode()
    assert "筛选日志" in page and 'name="language" value="en" lang="en"' in page

    client.post(reverse("set_language"), {"language": "en", "next": "/"})
    assert "Screening log" in client.get(reverse("eligibility:log")).content.decode()


@pytest.mark.django_db
def test_form_errors_are_in_the_language_of_the_user(client_for, coordinator_pumch):
    client = client_for(coordinator_pumch)
    client.cookies["django_language"] = "zh-hans"
    page = client.post(reverse("eligibility:new"), {"screening_date": "2099-01-01"})
    text = page.content.decode()
    assert "该日期在未来。" in text and "请更正下方标出的字段。未保存任何内容。" in text


def test_the_server_error_page_is_translated():
    template = engines["django"].get_template("500.html")
    with translation.override("zh-hans"):
        assert "服务器错误" in template.render({})


# --- exports stay in English -----------------------------------------------------------------


@pytest.fixture
def chinese_data_manager(client_for, data_manager):
    """A data manager who reads the interface in Chinese. (Data created before it is in
    English: text the application generates is stored in the language of whoever acts.)"""
    client = client_for(data_manager)
    client.cookies["django_language"] = "zh-hans"
    assert "导出" in client.get(reverse("exports:list")).content.decode()
    return client


@pytest.fixture
def participant_with_an_adverse_event(site_pumch, coordinator_pumch, investigator_pumch):
    participant = make_participant(
        site=site_pumch, coordinator=coordinator_pumch, investigator=investigator_pumch
    )
    record_ae(participant, coordinator_pumch)
    return participant


def _export(client, kind: str) -> Export:
    response = client.post(reverse("exports:list"), {"kind": kind, "labels": "on"})
    assert response.status_code == 302, response.content.decode()[-2000:]
    assert run_queued_jobs("exports.tasks.run_export") == 1  # what the worker does
    export = Export.objects.latest("pk")
    assert export.status == "done", export.error
    return export


@pytest.mark.django_db
def test_a_chinese_data_manager_exports_csv_with_english_labels(
    participant_with_an_adverse_event, chinese_data_manager
):
    export = _export(chinese_data_manager, "csv")

    with zipfile.ZipFile(export_services.export_dir() / export.file_name) as bundle:
        texts = {name: bundle.read(name).decode("utf-8") for name in bundle.namelist()}
    assert not [name for name, text in texts.items() if CJK.search(text)]
    adverse_events = next(text for name, text in texts.items() if "adverse" in name.lower())
    rows = list(csv.DictReader(io.StringIO(adverse_events)))
    assert any(r["serious_criteria_hospitalisation"] == "1" for r in rows)
    assert any(r["grade_label"] for r in rows)  # a coded field's English label
    # A multi-choice option's label is in the dictionary, in English.
    dictionary = list(csv.DictReader(io.StringIO(texts["data_dictionary.csv"])))
    assert any(
        r["label"] == "Selected: Requires or prolongs inpatient hospitalisation" for r in dictionary
    )


@pytest.mark.django_db
def test_a_chinese_data_manager_exports_odm_and_a_casebook_in_english(
    participant_with_an_adverse_event, chinese_data_manager
):
    export = _export(chinese_data_manager, "odm")
    odm = (export_services.export_dir() / export.file_name).read_text(encoding="utf-8")
    # Chinese only where the file says so: the zh-Hans translations of its questions and
    # labels (issue 18); everything else, the English texts included, is English.
    tree = etree.fromstring(odm.encode("utf-8"))
    chinese = tree.xpath("//*[@xml:lang='zh-Hans']")
    assert chinese
    for element in chinese:
        element.getparent().remove(element)
    assert not CJK.search(etree.tostring(tree, encoding="unicode"))

    subject_id = participant_with_an_adverse_event.subject_id
    response = chinese_data_manager.get(reverse("exports:casebook", args=[subject_id]))
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(response.content)).pages)
    assert f"Casebook of {subject_id}" in text and "Appendix: audit trail" in text
    assert not CJK.search(text)
    # The interface itself is still in Chinese afterwards.
    assert "导出" in chinese_data_manager.get(reverse("exports:list")).content.decode()


@pytest.mark.django_db
def test_the_serious_adverse_event_alert_is_written_in_both_languages(
    site_pumch, coordinator_pumch, investigator_pumch
):
    participant = make_participant(
        site=site_pumch, coordinator=coordinator_pumch, investigator=investigator_pumch
    )
    with translation.override("zh-hans"):
        record_ae(participant, coordinator_pumch)
    run_queued_jobs()

    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert "Serious adverse event" in message.subject and "严重不良事件" in message.subject
    assert "CTCAE grade: 3 – severe" in message.body
    assert "CTCAE分级：3 – 重度" in message.body


def test_the_timestamp_formats_of_the_audit_trail_keep_seconds_and_zone():
    moment = datetime(2026, 3, 5, 14, 30, 15, tzinfo=UTC)
    for language in ("en", "zh-hans"):
        with translation.override(language):
            shown = formats.date_format(moment, "DATETIME_FORMAT")
            assert shown == "2026-03-05 14:30:15 UTC"
