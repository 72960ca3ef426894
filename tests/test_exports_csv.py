"""The CSV bundle a data manager hands over: safe in a spreadsheet, unique short column
names, an Excel variant, ages, the audit trail, signatures and queries (issues 16 and 18)."""

from __future__ import annotations

import csv
import io
import zipfile

import pytest
from lxml import etree

from crf.models import AdverseEvent
from exports import history, services
from exports.csv_bundle import ANALYSIS_FILES
from exports.models import Export
from exports.registry import MAX_COLUMN_NAME, export_forms, form_by_code
from exports.rows import ExportFilters, ExportOptions, columns, spreadsheet_safe
from tests.factories.crf import make_participant, record_ae, record_con_med

pytestmark = pytest.mark.django_db

NS = {"odm": "http://www.cdisc.org/ns/odm/v1.3"}
ATTACK = "=cmd|' /C calc'!A0"


@pytest.fixture
def participant(site_pumch, coordinator_pumch, investigator_pumch):
    return make_participant(
        site=site_pumch, coordinator=coordinator_pumch, investigator=investigator_pumch
    )


def run_export(user, kind: str = "csv", **options) -> Export:
    filters = options.pop("filters", ExportFilters())
    export = services.export_create(
        user=user, kind=kind, filters=filters, options=ExportOptions(**options)
    )
    export = services.export_run(export)
    assert export.status == "done", export.error
    return export


def bundle_texts(export: Export) -> dict[str, str]:
    with zipfile.ZipFile(services.export_dir() / export.file_name) as bundle:
        return {name: bundle.read(name).decode("utf-8") for name in bundle.namelist()}


def read_csv(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


# --- Spreadsheet safety (issue 16) ---------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "safe"),
    [
        (ATTACK, "'" + ATTACK),
        ("+SUM(A1:A9)", "'+SUM(A1:A9)"),
        ("-2+3+cmd|' /C calc'!A0", "'-2+3+cmd|' /C calc'!A0"),
        ("@SUM(1,1)", "'@SUM(1,1)"),
        ("\t=1+1", "'\t=1+1"),
        ("\r=1+1", "'\r=1+1"),
        ("-1.5", "-1.5"),
        ("+7", "+7"),
        ("-12", "-12"),
        ("dry eyes = worse", "dry eyes = worse"),
        ("", ""),
    ],
)
def test_a_cell_starting_like_a_formula_is_quoted_unless_a_plain_number(text, safe):
    assert spreadsheet_safe(text) == safe


def test_an_ae_description_written_as_a_formula_is_neutralised_in_the_csv_only(
    participant, coordinator_pumch, data_manager
):
    event = record_ae(participant, coordinator_pumch, description=ATTACK)
    # No numeric field may be negative (constraints): a plain number typed as text stands in.
    medication = record_con_med(participant, coordinator_pumch, indication="-1.5", dose="2.5")

    for options in ({}, {"labels": True}):  # written by PostgreSQL, then by Python
        texts = bundle_texts(run_export(data_manager, **options))
        [ae] = [
            r for r in read_csv(texts["crf_adverseevent.csv"]) if r["record_id"] == str(event.pk)
        ]
        assert ae["description"] == "'" + ATTACK, options
        [med] = [
            r
            for r in read_csv(texts["crf_concomitantmedication.csv"])
            if r["record_id"] == str(medication.pk)
        ]
        assert (med["dose"], med["indication"]) == ("2.5", "-1.5"), options
        assert "formula" in texts["README.txt"] and "-1.5" in texts["README.txt"]
        # No cell of any file starts like a formula unless it is a plain number.
        for name, text in texts.items():
            if name.endswith(".csv"):
                for row in csv.reader(io.StringIO(text)):
                    assert all(cell == spreadsheet_safe(cell) for cell in row), (name, row)

    odm = etree.parse(str(services.export_dir() / run_export(data_manager, kind="odm").file_name))
    values = odm.xpath(
        "//odm:ItemData[@ItemOID='I.CRF_ADVERSEEVENT.DESCRIPTION']/@Value", namespaces=NS
    )
    assert values == [ATTACK]  # ODM keeps the value as entered


def test_postgresql_and_python_neutralise_the_same_cells(
    participant, coordinator_pumch, data_manager
):
    from exports.csv_bundle import _copy_form, _python_form
    from exports.rows import copy_query

    hostile = [ATTACK, "@SUM(1,1)", "\t=1+1", "\r-2+3", "-1.5", "+7", "plain"]
    for text in hostile:
        record_ae(participant, coordinator_pumch, description=text)
    event = AdverseEvent.objects.first()
    AdverseEvent.objects.filter(pk=event.pk).update(void_reason="=HYPERLINK(evil)")

    form, filters, options = form_by_code("crf_adverseevent"), ExportFilters(), ExportOptions()
    query = copy_query(form, filters, options)
    assert query is not None
    by_python, by_postgresql = io.BytesIO(), io.BytesIO()
    with zipfile.ZipFile(by_python, "w") as python_zip:
        _python_form(python_zip, form, filters, options, set(), lambda done: None)
    with zipfile.ZipFile(by_postgresql, "w") as copy_zip:
        _copy_form(copy_zip, form, query, columns(form, options), set())
    python_csv = zipfile.ZipFile(by_python).read("crf_adverseevent.csv")
    assert zipfile.ZipFile(by_postgresql).read("crf_adverseevent.csv") == python_csv
    text = python_csv.decode()
    assert "'=HYPERLINK(evil)" in text and "'@SUM(1,1)" in text and ",-1.5," in text


# --- Column names (issue 18) ---------------------------------------------------------------


@pytest.fixture
def demo_trial(db):
    from django.utils import timezone

    from demo import seed as demo

    demo.seed_sites_and_users()
    demo.seed_trial_data(timezone.localdate())


def csv_headers(texts: dict[str, str]) -> dict[str, list[str]]:
    return {
        name: next(csv.reader(io.StringIO(text)))
        for name, text in texts.items()
        if name.endswith(".csv")
    }


def assert_names_fit_and_match_the_dictionary(texts: dict[str, str]) -> None:
    headers = csv_headers(texts)
    for name, header in headers.items():
        assert len(header) == len(set(header)), (name, header)
        assert max(map(len, header)) <= MAX_COLUMN_NAME, (name, header)
    dictionary = read_csv(texts["data_dictionary.csv"])
    files = [f"{form.code}.csv" for form in export_forms()] + list(history.HEADERS)
    files += [f"{code}.csv" for code in ANALYSIS_FILES]
    for name in files:
        described = [row["field"] for row in dictionary if f"{row['form']}.csv" == name]
        assert described == headers[name], name
    assert set(headers) == {*files, "data_dictionary.csv"}


def test_every_csv_of_the_demo_trial_has_unique_short_column_names_as_in_the_dictionary(
    demo_trial, data_manager
):
    texts = bundle_texts(run_export(data_manager))
    assert_names_fit_and_match_the_dictionary(texts)
    headers = csv_headers(texts)
    assert headers["dosing_visit.csv"].count("visit_code") == 1
    assert headers["dosing_visit.csv"].count("visit_date") == 1
    assert headers["dosing_deviation.csv"].count("visit_code") == 1
    assert headers["enrollment_participant.csv"].count("subject_id") == 1
    # A shortened name keeps its full name and label in the dictionary.
    [row] = [
        row
        for row in read_csv(texts["data_dictionary.csv"])
        if row["full_name"] == "other_disease_needing_systemic_corticosteroids"
        and row["form"] == "eligibility_screening"
    ]
    assert row["field"] == "other_disease_needing_steroids" and row["label"]
    # The values are under the short names.
    screening = read_csv(texts["eligibility_screening.csv"])
    assert any(r["other_disease_needing_steroids"] for r in screening)
    # With labels (the CSV written by Python) too.
    assert_names_fit_and_match_the_dictionary(bundle_texts(run_export(data_manager, labels=True)))


def test_every_field_has_a_column_name_that_fits_with_or_without_labels():
    for labels in (False, True):
        for form in export_forms():
            names = columns(form, ExportOptions(labels=labels))
            assert len(names) == len(set(names)), form.code
            too_long = [name for name in names if len(name) > MAX_COLUMN_NAME]
            assert not too_long, f"{form.code}: add a short name in SHORT_NAMES: {too_long}"


# --- Excel and the dictionary's types (issue 18) -------------------------------------------

BOM = b"\xef\xbb\xbf"


def bundle_bytes(export: Export) -> dict[str, bytes]:
    with zipfile.ZipFile(services.export_dir() / export.file_name) as bundle:
        return {name: bundle.read(name) for name in bundle.namelist()}


def test_the_excel_variant_starts_every_csv_with_a_byte_order_mark(
    client_for, participant, data_manager
):
    from django.urls import reverse

    from tests.jobs import run_queued_jobs

    client_for(data_manager).post(reverse("exports:list"), {"kind": "csv", "excel": "on"})
    assert run_queued_jobs("exports.tasks.run_export") == 1
    excel = Export.objects.get()
    assert excel.options["excel"] is True
    files = bundle_bytes(services.export_run(excel))
    plain = bundle_bytes(run_export(data_manager))
    csv_names = [name for name in files if name.endswith(".csv")]
    assert "data_dictionary.csv" in csv_names and len(csv_names) > 20
    for name in csv_names:
        assert files[name].startswith(BOM), name
        assert not plain[name].startswith(BOM), name
        # Beyond the mark, the same file.
        assert files[name][len(BOM) :] == plain[name], name
    assert "×10⁹/L" in files["data_dictionary.csv"].decode("utf-8-sig")
    assert "for Excel (UTF-8 with a byte order mark): yes" in files["README.txt"].decode()
    assert "at most 32 characters" in files["README.txt"].decode()


def test_the_dictionary_types_scores_as_numbers(db):
    from exports.dictionary import dictionary_rows

    types = {(row[0], row[1]): row[3] for row in dictionary_rows(ExportOptions(labels=True))}
    assert types[("crf_essdaiassessment", "essdai_total")] == "integer"
    assert types[("crf_esspriassessment", "esspri_score")] == "float"
    assert types[("crf_essdaiassessment", "essdai_category")] == "text"
    assert types[("dosing_labresult", "value")] == "float"


# --- Ages (issue 18) -----------------------------------------------------------------------


def test_ages_at_screening_and_enrolment_are_in_every_export_de_identified_included(
    participant, data_manager
):
    from eligibility.models import Screening
    from exports.odm import computed_oid
    from tests.test_exports import ODM_XSD
    from trialsite.dates import age_in_completed_years

    screening = participant.screening
    # Born on the enrolment day, 9 years earlier: the birthday counts on the day itself.
    enrolled = participant.enrolled_on
    born = enrolled.replace(year=enrolled.year - 9)
    Screening.objects.filter(pk=screening.pk).update(date_of_birth=born)
    screening.refresh_from_db()
    at_screening = age_in_completed_years(born, screening.screening_date)
    assert at_screening in (8, 9) and age_in_completed_years(born, enrolled) == 9
    expected = {"age_at_screening": str(at_screening), "age_at_enrolment": "9"}

    for options in (
        {},  # the participant file written by PostgreSQL
        {"labels": True},  # by Python
        {"shift_dates": True, "drop_date_of_birth": True},  # de-identified
    ):
        texts = bundle_texts(run_export(data_manager, **options))
        [row] = read_csv(texts["enrollment_participant.csv"])
        assert {key: row[key] for key in expected} == expected, options
        [screened] = read_csv(texts["eligibility_screening.csv"])
        assert screened["age_at_screening"] == expected["age_at_screening"], options
        assert ("date_of_birth" in screened) is not options.get("drop_date_of_birth", False)
        types = {
            r["field"]: r["type"]
            for r in read_csv(texts["data_dictionary.csv"])
            if r["form"] == "enrollment_participant"
        }
        assert types["age_at_enrolment"] == types["age_at_screening"] == "integer"

    odm = run_export(data_manager, kind="odm", shift_dates=True, drop_date_of_birth=True)
    document = etree.parse(str(services.export_dir() / odm.file_name))
    schema = etree.XMLSchema(etree.parse(str(ODM_XSD)))
    assert schema.validate(document), schema.error_log
    form = form_by_code("enrollment_participant")
    ages = {
        computed.name: document.xpath(
            f"//odm:ItemData[@ItemOID='{computed_oid(form, computed)}']/@Value", namespaces=NS
        )
        for computed in form.computed
    }
    assert ages == {key: [value] for key, value in expected.items()}
    assert document.xpath("//odm:MethodDef[@Type='Computation']", namespaces=NS)
    assert not document.xpath("//odm:ItemData[contains(@ItemOID, 'DATE_OF_BIRTH')]", namespaces=NS)


# --- The audit trail, signatures and queries (issue 18) ------------------------------------


def test_a_record_edited_twice_has_two_changes_in_the_audit_files(
    participant, coordinator_pumch, data_manager
):
    event = record_ae(participant, coordinator_pumch, description="first")
    event = record_ae(
        participant, coordinator_pumch, event, description="second", reason_for_change="typo"
    )
    record_ae(
        participant, coordinator_pumch, event, description="third", reason_for_change="detail"
    )

    texts = bundle_texts(run_export(data_manager))
    trail = [
        row
        for row in read_csv(texts["audit_trail.csv"])
        if (row["form"], row["record_id"]) == ("crf_adverseevent", str(event.pk))
    ]
    assert [row["action"] for row in trail][0] == "created"
    edits = [row for row in trail if "description" in row["changed_fields"].split("; ")]
    assert [(r["action"], r["reason"], r["changed_by"]) for r in edits[1:]] == [
        ("changed", "typo", "alice"),
        ("changed", "detail", "alice"),
    ]
    assert all(row["subject_id"] == participant.subject_id for row in trail)
    assert all(row["database_role"] for row in trail)
    changes = [
        (row["old"], row["new"])
        for row in read_csv(texts["audit_changes.csv"])
        if (row["form"], row["record_id"], row["field"])
        == ("crf_adverseevent", str(event.pk), "description")
    ]
    assert changes == [("first", "second"), ("second", "third")]
    assert "audit_trail.csv: " in texts["README.txt"]


def test_signatures_are_exported_valid_and_void_with_the_reason(
    participant, investigator_pumch, data_manager
):
    from trialsite.signatures import void_signatures

    def eligibility_signatures() -> list[dict[str, str]]:
        texts = bundle_texts(run_export(data_manager))
        return [
            row
            for row in read_csv(texts["signatures.csv"])
            if row["signed"] == "eligibility_screening"
        ]

    [valid] = eligibility_signatures()
    assert valid["state"] == "valid" and valid["void_reason"] == ""
    assert valid["subject_id"] == participant.subject_id
    assert valid["screening_number"] == participant.screening.number
    assert valid["meaning"] == "eligibility" and valid["signer"] == "ivan"

    void_signatures(participant.screening, user=investigator_pumch, reason="signed in error")
    [void] = eligibility_signatures()
    assert void["signature_id"] == valid["signature_id"]
    assert (void["state"], void["void_reason"]) == ("void", "signed in error")
    assert void["voided_at"]


def test_open_and_closed_queries_are_exported_with_their_conversation(
    participant, coordinator_pumch, monitor_pumch, data_manager
):
    from monitoring import services as monitoring
    from tests.factories.monitoring import raise_query

    event = record_ae(participant, coordinator_pumch, description="rash")
    still_open = raise_query(event, monitor_pumch, "description", "Which body area?")
    closed = raise_query(event, monitor_pumch, "onset_date", "Onset before the visit?")
    monitoring.query_close(query=closed, user=monitor_pumch, note="Checked at source.")

    texts = bundle_texts(run_export(data_manager))
    queries = {row["query_id"]: row for row in read_csv(texts["queries.csv"])}
    mine = queries[str(still_open.pk)]
    assert (mine["status"], mine["form"], mine["field"]) == (
        "open",
        "crf_adverseevent",
        "description",
    )
    assert mine["record_id"] == str(event.pk) and mine["opened_by"] == "mona"
    assert mine["subject_id"] == participant.subject_id
    done = queries[str(closed.pk)]
    assert (done["status"], done["closed_by"]) == ("closed", "mona") and done["closed_at"]
    steps = [
        (row["step"], row["text"])
        for row in read_csv(texts["query_messages.csv"])
        if row["query_id"] == str(closed.pk)
    ]
    assert steps == [("question", "Onset before the visit?"), ("close", "Checked at source.")]


def test_the_history_files_of_a_de_identified_export_shift_every_date(
    participant, coordinator_pumch, monitor_pumch, data_manager
):
    from datetime import datetime, timedelta

    from django.utils import timezone

    from exports.models import DateShift
    from tests.factories.monitoring import raise_query

    DateShift.objects.create(participant=participant, offset_days=3001)
    event = record_ae(participant, coordinator_pumch, description="rash")
    raise_query(event, monitor_pumch, "description", "Which body area?")

    def history(**options) -> dict[str, list[dict[str, str]]]:
        texts = bundle_texts(run_export(data_manager, **options))
        names = ("audit_trail.csv", "signatures.csv", "queries.csv", "query_messages.csv")
        return {name: read_csv(texts[name]) for name in names}

    plain, shifted = history(), history(shift_dates=True, drop_date_of_birth=True)
    pairs = [
        ("audit_trail.csv", "changed_at"),
        ("signatures.csv", "signed_at"),
        ("queries.csv", "opened_at"),
        ("query_messages.csv", "at"),
    ]
    for name, column in pairs:
        real = [datetime.fromisoformat(r[column]) for r in plain[name] if r["subject_id"]]
        moved = [datetime.fromisoformat(r[column]) for r in shifted[name]]
        assert real and len(moved) == len(real), name
        assert [m - r for r, m in zip(real, moved, strict=True)] == [timedelta(days=3001)] * len(
            real
        ), name
    changed = {f for r in shifted["audit_trail.csv"] for f in r["changed_fields"].split("; ")}
    assert "date_of_birth" not in changed
    assert timezone.localdate().isoformat() not in str(shifted)


# --- ODM signatures (issue 18) -------------------------------------------------------------


def parse_valid_odm(export: Export) -> etree._ElementTree:
    from tests.test_exports import ODM_XSD

    document = etree.parse(str(services.export_dir() / export.file_name))
    schema = etree.XMLSchema(etree.parse(str(ODM_XSD)))
    assert schema.validate(document), schema.error_log
    return document


def test_odm_signatures_have_ids_and_a_void_one_is_exported_as_void(
    participant, investigator_pumch, data_manager
):
    from trialsite.models import Signature
    from trialsite.signatures import void_signatures

    signature = Signature.objects.get(meaning="eligibility")
    document = parse_valid_odm(run_export(data_manager, kind="odm"))
    every = document.xpath("//odm:Signature", namespaces=NS)
    assert every and all(element.get("ID") for element in every)  # odmlib requires it
    [signed] = document.xpath(
        "//odm:FormData[@FormOID='F.ELIGIBILITY_SCREENING']/odm:Signature", namespaces=NS
    )
    assert signed.get("ID") == f"SIG.{signature.pk}"
    assert signed.xpath("odm:SignatureRef/@SignatureOID", namespaces=NS) == ["SD.ELIGIBILITY"]
    in_container = f"//odm:ClinicalData/odm:Signatures/odm:Signature[@ID='SIG.{signature.pk}']"
    assert not document.xpath(in_container, namespaces=NS)

    void_signatures(participant.screening, user=investigator_pumch, reason="signed in error")
    document = parse_valid_odm(run_export(data_manager, kind="odm"))
    assert not document.xpath(
        "//odm:FormData[@FormOID='F.ELIGIBILITY_SCREENING']/odm:Signature", namespaces=NS
    )
    [void] = document.xpath(in_container, namespaces=NS)
    assert void.xpath("odm:SignatureRef/@SignatureOID", namespaces=NS) == ["SD.ELIGIBILITY.VOID"]
    [meaning] = document.xpath(
        "//odm:SignatureDef[@OID='SD.ELIGIBILITY.VOID']/odm:Meaning/text()", namespaces=NS
    )
    assert meaning.startswith("VOID")
    [note] = document.xpath(
        f"//odm:ClinicalData/odm:Annotations/odm:Annotation[@ID='ANN.SIG.{signature.pk}']"
        "/odm:Comment/text()",
        namespaces=NS,
    )
    assert "void: signed in error" in note and participant.subject_id in note


def test_a_signature_over_data_entered_late_exports_the_paper_source_date(
    participant, investigator_pumch, data_manager
):
    from datetime import timedelta

    from django.utils import timezone

    from tests.factories.trialsite import PASSWORD
    from trialsite import signatures
    from trialsite.models import SignatureMeaning

    paper = timezone.localdate() - timedelta(days=90)
    reauth = signatures.reauthenticate(user=investigator_pumch, password=PASSWORD)
    signature = signatures.sign(
        obj=participant.screening,
        user=investigator_pumch,
        reauth=reauth,
        meaning=SignatureMeaning.ELIGIBILITY,
        source_signed_on=paper,
    )

    rows = read_csv(bundle_texts(run_export(data_manager))["signatures.csv"])
    [row] = [r for r in rows if r["signature_id"] == str(signature.pk)]
    assert row["source_signed_on"] == paper.isoformat() and row["state"] == "valid"

    document = parse_valid_odm(run_export(data_manager, kind="odm"))
    [note] = document.xpath(
        f"//odm:FormData[@FormOID='F.ELIGIBILITY_SCREENING']/odm:Annotation"
        f"[@ID='ANN.SRC.SIG.{signature.pk}']/odm:Comment/text()",
        namespaces=NS,
    )
    assert f"paper source signed on {paper.isoformat()}" in note


# --- Multi-choice answers (issue 18) -------------------------------------------------------


def test_a_multi_choice_answer_is_one_0_1_column_per_option_listed_in_the_dictionary(
    demo_trial, data_manager
):
    from exports.rows import copy_query

    texts = bundle_texts(run_export(data_manager))
    dictionary = read_csv(texts["data_dictionary.csv"])
    multi = [(form, item) for form in export_forms() for item in form.items if item.options]
    assert {item.name for _form, item in multi} >= {
        "systemic_involvement",
        "premedication",
        "serious_criteria",
        "failed_codes",
    }
    chosen = 0
    for form, item in multi:
        file_rows = read_csv(texts[f"{form.code}.csv"])
        assert file_rows, form.code
        assert item.column not in file_rows[0], (form.code, item.name)
        for code, label in item.options:
            name = item.option_column(code)
            assert len(name) <= MAX_COLUMN_NAME
            assert {row[name] for row in file_rows} <= {"0", "1", ""}, (form.code, name)
            chosen += sum(row[name] == "1" for row in file_rows)
            [described] = [
                row for row in dictionary if row["form"] == form.code and row["field"] == name
            ]
            assert described["label"] == f"Selected: {label}"
            assert described["type"] == "integer"
    assert chosen > 0  # the demo trial has chosen options
    # No cell of the bundle's form files joins codes with "|" (the demo has no "|" in text).
    # The screening's missing_items is no answer but the application's list of the questions
    # still unanswered, in words.
    joined = [
        (form.code, name, value)
        for form in export_forms()
        for row in read_csv(texts[f"{form.code}.csv"])
        for name, value in row.items()
        if "|" in value and name != "missing_items"
    ]
    assert not joined
    # The Python writer (labels) gives the same 0/1 cells as PostgreSQL's COPY.
    form = form_by_code("dosing_infusion")
    assert copy_query(form, ExportFilters(), ExportOptions()) is not None
    labelled = bundle_texts(run_export(data_manager, labels=True))
    plain_rows = read_csv(texts["dosing_infusion.csv"])
    label_rows = read_csv(labelled["dosing_infusion.csv"])
    premedication = next(item for item in form.items if item.name == "premedication")
    for code, _label in premedication.options:
        name = premedication.option_column(code)
        assert [r[name] for r in plain_rows] == [r[name] for r in label_rows]
    assert any(
        r[premedication.option_column(c)] == "1"
        for r in plain_rows
        for c, _l in premedication.options
    )


# --- Lab reference ranges and the deviation's visit date (issue 18) ------------------------


def test_each_lab_value_has_the_apps_reference_range_and_flag_beside_it(
    participant, coordinator_pumch, data_manager
):
    from tests.factories.crf import make_visit, save_labs
    from trialsite.reference_ranges import reference_table

    visit = make_visit(participant, "W12", user=coordinator_pumch)
    save_labs(visit, coordinator_pumch, igg="18.5", wbc="6.0", esr="30", neutrophils="1.0")
    for kwargs in ({}, {"labels": True}):
        labs = read_csv(bundle_texts(run_export(data_manager, **kwargs))["dosing_labresult.csv"])
        by_test = {row["analyte"]: row for row in labs if row["visit_code"] == "W12"}
        assert by_test["igg"]["ref_flag"] == "H" and by_test["neutrophils"]["ref_flag"] == "L"
        assert by_test["wbc"]["ref_flag"] == "" and by_test["esr"]["ref_flag"] == "H"
        igg = reference_table()["igg"]
        assert (by_test["igg"]["ref_low"], by_test["igg"]["ref_high"]) == ("7", "16")
        assert igg.lower == 7 and igg.upper == 16
        assert by_test["esr"]["ref_low"] == ""  # no lower limit
    dictionary = read_csv(bundle_texts(run_export(data_manager))["data_dictionary.csv"])
    described = {row["field"]: row for row in dictionary if row["form"] == "dosing_labresult"}
    assert described["ref_flag"]["label"] and described["ref_low"]["type"] == "float"


def test_every_deviation_row_has_its_visit_date_from_its_visit_or_its_own_date(
    participant, coordinator_pumch, data_manager
):
    from datetime import timedelta

    from dosing import services as dosing_services
    from tests.factories.crf import make_visit, today

    visit = make_visit(participant, "W12", user=coordinator_pumch)
    args = {"participant": participant, "user": coordinator_pumch, "today": today()}
    category = sorted(dosing_services.MANUAL_CATEGORIES)[0]
    dosing_services.deviation_create(
        **args,
        category=category,
        occurred_on=visit.visit_date + timedelta(days=1),
        description="At a visit",
        visit_code="W12",
    )
    dosing_services.deviation_create(
        **args, category=category, occurred_on=today(), description="No visit"
    )
    for kwargs in ({}, {"labels": True}):
        rows = read_csv(bundle_texts(run_export(data_manager, **kwargs))["dosing_deviation.csv"])
        by_text = {row["description"]: row for row in rows}
        assert by_text["At a visit"]["visit_date"] == visit.visit_date.isoformat()
        assert by_text["No visit"]["visit_date"] == today().isoformat()
        assert all(row["visit_date"] for row in rows)
