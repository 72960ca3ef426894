"""The ODM 1.3.2 export made complete (issue 18): odmlib's strict loading and the XSD,
units, derived scores, range checks, the schedule of assessments, questions in English and
Chinese, the full audit history, screen failures and queries."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.urls import reverse
from lxml import etree

from exports import services
from exports.rows import ExportFilters
from tests.test_exports import NS, ODM_XSD, run_export

pytestmark = pytest.mark.django_db


@pytest.fixture
def demo_trial(db):
    """The full demo trial (every CRF, AEs, queries, screen failures, signed visits)."""
    from django.utils import timezone

    from demo import seed as demo

    demo.seed_sites_and_users()
    demo.seed_trial_data(timezone.localdate())


@pytest.fixture
def participant(site_pumch, coordinator_pumch, investigator_pumch):
    from tests.factories.enrollment import make_participant

    return make_participant(
        site=site_pumch, coordinator=coordinator_pumch, investigator=investigator_pumch
    )


def valid_odm(export) -> tuple[str, etree._ElementTree]:
    """The file's path and tree, after odmlib's strict loader and the XSD accept it."""
    import odmlib.loader as LD
    import odmlib.odm_loader as OL

    assert export.status == "done", export.error
    path = str(services.export_dir() / export.file_name)
    document = etree.parse(path)
    schema = etree.XMLSchema(etree.parse(str(ODM_XSD)))
    assert schema.validate(document), schema.error_log
    loader = LD.ODMLoader(OL.XMLODMLoader(model_package="odm_1_3_2"))
    loader.open_odm_document(path)
    odm = loader.load_odm()  # raises on what it refuses (a Signature without ID…)
    assert odm.ODMVersion == "1.3.2"
    assert len(odm.ClinicalData[0].SubjectData) == len(
        document.xpath("//odm:SubjectData", namespaces=NS)
    )
    return path, document


def xpath(node, path: str, **variables):
    return node.xpath(path, namespaces=NS, **variables)


def test_the_full_demo_odm_loads_strictly_in_odmlib_and_is_complete(demo_trial, data_manager):
    _path, document = valid_odm(run_export(data_manager, kind="odm"))
    check_units(document)
    check_derived_scores(document)
    check_range_checks(document)
    check_schedule(document)
    check_questions(document)
    check_screen_failures(document)
    check_queries(document)


def check_units(document) -> None:
    """Units: every lab value carries its unit; every reference is to a unit with a UCUM code."""
    from dosing.models import LabResult
    from exports.odm_metadata import UCUM

    units = {
        unit.get("OID"): xpath(unit, "string(odm:Symbol/odm:TranslatedText)")
        for unit in xpath(document, "//odm:MeasurementUnit")
    }
    assert units and all(UCUM.get(name) for name in xpath(document, "//odm:MeasurementUnit/@Name"))
    assert set(units.values()) >= {"10*9/L", "g/L", "umol/L", "mm/h", "kg", "cm", "Cel"}
    labs = xpath(document, "//odm:ItemData[@ItemOID='I.DOSING_LABRESULT.VALUE']")
    assert len(labs) == LabResult.objects.count() > 0
    assert all(xpath(value, "odm:MeasurementUnitRef") for value in labs)
    refs = xpath(document, "//odm:ItemData/odm:MeasurementUnitRef/@MeasurementUnitOID")
    assert set(refs) <= set(units)
    for oid in ("I.CRF_VITALS.WEIGHT_KG", "I.CRF_GLANDFUNCTION.SCHIRMER_MM_5MIN"):
        [unit] = set(
            xpath(
                document,
                f"//odm:ItemData[@ItemOID='{oid}']/odm:MeasurementUnitRef/@MeasurementUnitOID",
            )
        )
        assert units[unit] in ("kg", "mm/(5.min)")


def check_derived_scores(document) -> None:
    """Derived scores: the app's own scorers' values, with their method."""
    from crf.models import EssdaiAssessment, EsspriAssessment
    from crf.outcomes import esspri_score

    for model, oid, score in (
        (EssdaiAssessment, "I.CRF_ESSDAIASSESSMENT.ESSDAI_TOTAL", lambda r: str(r.score.total)),
        (
            EssdaiAssessment,
            "I.CRF_ESSDAIASSESSMENT.ESSDAI_CATEGORY",
            lambda r: r.score.category.value,
        ),
        (EsspriAssessment, "I.CRF_ESSPRIASSESSMENT.ESSPRI_SCORE", None),
    ):
        values = {
            int(data.getparent().getparent().get("FormRepeatKey")): data.get("Value")
            for data in xpath(document, f"//odm:ItemData[@ItemOID='{oid}']")
        }
        assert values and len(values) == model.objects.count(), oid
        for record in model.objects.filter(pk__in=values):
            if score is None:
                expected = esspri_score(
                    dryness=record.dryness, fatigue=record.fatigue, pain=record.pain
                ).score
                assert Decimal(values[record.pk]) == expected, oid
            else:
                assert values[record.pk] == score(record), oid
        [method] = xpath(document, f"//odm:ItemRef[@ItemOID='{oid}']/@MethodOID")
        assert xpath(
            document, f"//odm:MethodDef[@OID='{method}'][@Type='Computation']/odm:Description"
        )


def check_range_checks(document) -> None:
    """Range checks from the reference ranges: soft, per test on the lab values."""
    checks = xpath(document, "//odm:ItemDef[@OID='I.DOSING_LABRESULT.VALUE']/odm:RangeCheck")
    assert checks and {c.get("SoftHard") for c in checks} == {"Soft"}
    igg = [c for c in checks if "'igg'" in xpath(c, "string(odm:FormalExpression)")]
    assert sorted(c.get("Comparator") for c in igg) == ["GE", "LE"]


def check_schedule(document) -> None:
    """The schedule of assessments: each visit its forms; every form sits where it may."""
    forms_of = {
        event.get("OID"): set(xpath(event, "odm:FormRef/@FormOID"))
        for event in xpath(document, "//odm:StudyEventDef")
    }
    assert "F.CRF_ESSDAIASSESSMENT" in forms_of["SE.W12"]
    assert "F.CRF_ESSDAIASSESSMENT" not in forms_of["SE.RTX1"]
    assert (
        "F.DOSING_INFUSION" in forms_of["SE.RTX1"] and "F.DOSING_INFUSION" not in forms_of["SE.W28"]
    )
    assert forms_of["SE.SCREENING"] == {f for f in forms_of["SE.SCREENING"] if "ELIGIBILITY" in f}
    for form_data in xpath(document, "//odm:FormData"):
        event = form_data.getparent().get("StudyEventOID")
        assert form_data.get("FormOID") in forms_of[event], (event, form_data.get("FormOID"))
    assert xpath(
        document,
        "//odm:StudyEventDef[@OID='SE.W12']/odm:FormRef[@FormOID='F.CRF_ESSDAIASSESSMENT']/@Mandatory",
    ) == ["Yes"]
    mandatory = dict(
        zip(
            xpath(document, "//odm:ItemRef/@ItemOID"),
            xpath(document, "//odm:ItemRef/@Mandatory"),
            strict=True,
        )
    )
    assert (
        mandatory["I.CRF_VITALS.WEIGHT_KG"] == "Yes"
        and mandatory["I.CRF_VITALS.RESPIRATORY_RATE"] == "No"
    )


def check_questions(document) -> None:
    """Full questions in English and Chinese."""
    [question] = xpath(document, "//odm:ItemDef[@OID='I.DOSING_LABRESULT.ANALYTE']/odm:Question")
    texts = dict(
        zip(
            xpath(question, "odm:TranslatedText/@xml:lang"),
            xpath(question, "odm:TranslatedText/text()"),
            strict=True,
        )
    )
    assert texts["en"] == "Lab result: test"
    assert set(texts) == {"en", "zh-Hans"} and texts["zh-Hans"] != texts["en"]


def check_screen_failures(document) -> None:
    """Screen failures: subjects keyed by screening number, the screening event only."""
    from eligibility.models import Screening

    never_enrolled = Screening.objects.filter(participant__isnull=True)
    assert never_enrolled.exists()
    for screening in never_enrolled:
        [subject] = xpath(document, "//odm:SubjectData[@SubjectKey=$key]", key=screening.number)
        assert xpath(subject, "odm:StudyEventData/@StudyEventOID") == ["SE.SCREENING"]
    assert "screen failures" in xpath(document, "string(//odm:StudyDescription)")


def check_queries(document) -> None:
    """Queries: an Annotation on the item or form they are about, with status and messages."""
    from monitoring.models import DataQuery

    queries = xpath(document, "//odm:Annotation[starts-with(@ID, 'ANN.QUERY.')]")
    assert len(queries) == DataQuery.objects.count() > 0
    query = DataQuery.objects.exclude(field_name="").first()
    [note] = xpath(document, "//odm:ItemData/odm:Annotation[@ID=$id]", id=f"ANN.QUERY.{query.pk}")
    assert note.getparent().get("ItemOID").endswith("." + query.field_name.upper())
    assert xpath(note, "string(odm:Flag/odm:FlagValue)") == query.status
    assert query.question in xpath(note, "string(odm:Comment)")


def test_the_full_history_of_the_demo_loads_strictly_too(demo_trial, data_manager):
    _path, document = valid_odm(run_export(data_manager, kind="odm", full_history=True))
    assert document.getroot().get("FileType") == "Transactional"
    assert xpath(document, "//odm:FormData[@TransactionType='Update']/odm:AuditRecord")
    assert xpath(document, "//odm:ItemData[@TransactionType='Insert']/odm:AuditRecord")
    # The derived scores of each record as it now is, on its last change.
    assert xpath(
        document,
        "//odm:ItemData[@ItemOID='I.CRF_ESSDAIASSESSMENT.ESSDAI_TOTAL'][@TransactionType='Upsert']",
    )


def test_a_record_edited_twice_shows_two_audit_entries_in_the_odm(participant, data_manager):
    from crf import forms, services
    from crf.models import Vitals
    from tests.factories.crf import make_visit, save_vitals, today

    user = participant.screening.created_by
    visit = make_visit(participant, "BASELINE")
    save_vitals(visit, user, weight="40.0")
    for weight, why in (("41.0", "typing error"), ("42.5", "re-weighed, see source")):
        record = Vitals.objects.get(visit=visit)
        data = {
            "weight_kg": weight,
            "height_cm": "150.0",
            "temperature_c": "36.8",
            "heart_rate_bpm": "90",
            "respiratory_rate": "",
            "systolic_mmhg": "105",
            "diastolic_mmhg": "65",
            "version": str(record.version),
            "reason_for_change": why,
        }
        form = forms.VitalsForm(data=data, instance=record, visit=visit, today=today())
        assert form.is_valid(), form.errors
        services.visit_crf_save(form=form, user=user)
    record = Vitals.objects.get(visit=visit)
    assert record.weight_kg == Decimal("42.5")

    _path, full = valid_odm(run_export(data_manager, kind="odm", full_history=True))
    steps = xpath(
        full, "//odm:FormData[@FormOID='F.CRF_VITALS'][@FormRepeatKey=$pk]", pk=str(record.pk)
    )
    assert [s.get("TransactionType") for s in steps] == ["Insert", "Update", "Update"]
    weights = xpath(
        full,
        "//odm:FormData[@FormRepeatKey=$pk]//odm:ItemData[@ItemOID='I.CRF_VITALS.WEIGHT_KG']",
        pk=str(record.pk),
    )
    assert [(w.get("TransactionType"), Decimal(w.get("Value"))) for w in weights] == [
        ("Insert", Decimal("40")),
        ("Update", Decimal("41")),
        ("Update", Decimal("42.5")),
    ]
    reasons = [xpath(w, "string(odm:AuditRecord/odm:ReasonForChange)") for w in weights[1:]]
    assert reasons == ["typing error", "re-weighed, see source"]
    for weight in weights:
        assert xpath(weight, "odm:AuditRecord/odm:UserRef/@UserOID") == [
            f"USR.{user.username.upper()}"
        ]
        assert xpath(weight, "odm:MeasurementUnitRef/@MeasurementUnitOID")
    # Without the option: the latest values, one FormData per record.
    _path, snapshot = valid_odm(run_export(data_manager, kind="odm"))
    [latest] = xpath(
        snapshot, "//odm:FormData[@FormOID='F.CRF_VITALS'][@FormRepeatKey=$pk]", pk=str(record.pk)
    )
    assert (
        xpath(latest, "string(.//odm:ItemData[@ItemOID='I.CRF_VITALS.WEIGHT_KG']/@Value)") == "42.5"
    )


def test_a_de_identified_full_history_shifts_its_dates(participant, data_manager):
    from exports.models import DateShift

    DateShift.objects.create(participant=participant, offset_days=3001)
    only = {"filters": ExportFilters(subject_ids=(participant.subject_id,))}
    _path, plain = valid_odm(run_export(data_manager, kind="odm", full_history=True, **only))
    _path, shifted = valid_odm(
        run_export(data_manager, kind="odm", full_history=True, shift_dates=True, **only)
    )
    real = {s[:10] for s in xpath(plain, "//odm:AuditRecord/odm:DateTimeStamp/text()")}
    assert real
    [subject] = xpath(shifted, "//odm:SubjectData")  # the file's own creation date is no leak
    text = etree.tostring(subject, encoding="unicode")
    assert not {day for day in real if day in text}


def test_every_unit_the_export_declares_has_a_ucum_code():
    from exports.odm_metadata import UCUM, item_units
    from exports.registry import export_forms

    for form in export_forms():
        for item in form.items:
            for unit in item_units(item):
                assert UCUM.get(unit), f"{form.code}.{item.name}: give {unit!r} its UCUM code"
    from exports.dictionary import FIELD_UNITS

    declared = {unit for units in FIELD_UNITS.values() for unit in units.values()}
    assert declared <= set(UCUM)


def test_the_range_checks_follow_the_reference_table(settings):
    from exports.odm_metadata import lab_limits, range_checks
    from exports.registry import form_by_code

    settings.LAB_REFERENCE_RANGES = {"igg": [6.5, 17]}
    igg = next(limits for limits in lab_limits() if limits.analyte == "igg")
    assert (igg.lower, igg.upper, igg.unit) == (Decimal("6.5"), Decimal("17"), "g/L")
    form = form_by_code("dosing_bcellresult")
    [percent] = [item for item in form.items if item.name == "cd19_percent"]
    assert [(c, limits.analyte, cond) for c, limits, cond in range_checks(percent)] == [
        ("GE", "cd19_percent", None),
        ("LE", "cd19_percent", None),
    ]


def test_the_export_page_offers_the_full_history(client_for, data_manager):
    from exports.models import Export

    response = client_for(data_manager).post(
        reverse("exports:list"), {"kind": "odm", "participants": "", "full_history": "on"}
    )
    assert response.status_code == 302
    assert Export.objects.get().options["full_history"] is True
