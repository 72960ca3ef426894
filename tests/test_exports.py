"""Exports: CSV round trip, de-identification, ODM against the official schema, casebook PDF,
access and the audit trail."""

from __future__ import annotations

import csv
import io
import zipfile
from datetime import UTC, date, timedelta
from decimal import Decimal
from pathlib import Path

import pghistory.models
import pytest
from django.conf import settings
from django.db import connection
from django.db import models as dj_models
from django.test import override_settings
from django.urls import reverse
from django.utils import timezone
from lxml import etree

from enrollment.models import Participant
from exports import services
from exports.models import Export
from exports.registry import export_forms
from exports.rows import ExportFilters, ExportOptions
from tests.factories.enrollment import make_participant
from tests.jobs import run_queued_jobs
from trialsite.models import ClinicalRecord

pytestmark = pytest.mark.django_db

# The official CDISC schema, vendored (MIT licence) so a fresh clone can validate.
ODM_XSD = Path(settings.BASE_DIR) / "exports/schema/cdisc-odm-1.3.2/ODM1-3-2.xsd"


@pytest.fixture
def participants(
    site_pumch,
    site_chcmu,
    coordinator_pumch,
    investigator_pumch,
    coordinator_chcmu,
    investigator_chcmu,
):
    return [
        make_participant(
            site=site_pumch, coordinator=coordinator_pumch, investigator=investigator_pumch
        ),
        make_participant(
            site=site_pumch,
            coordinator=coordinator_pumch,
            investigator=investigator_pumch,
            day_0=date(2026, 10, 1),
        ),
        make_participant(
            site=site_chcmu, coordinator=coordinator_chcmu, investigator=investigator_chcmu
        ),
    ]


@pytest.fixture
def demo_trial(db):
    """The full demo trial (every CRF, AEs, queries, a signed visit), as other tests use it."""
    from demo import seed as demo

    demo.seed_sites_and_users()
    demo.seed_trial_data(timezone.localdate())


def run_export(user, kind="csv", **options) -> Export:
    filters = options.pop("filters", ExportFilters())
    export = services.export_create(
        user=user, kind=kind, filters=filters, options=ExportOptions(**options)
    )
    return services.export_run(export)


def read_bundle(export: Export) -> dict[str, list[dict[str, str]]]:
    path = services.export_dir() / export.file_name
    with zipfile.ZipFile(path) as bundle:
        return {
            name: list(csv.DictReader(io.TextIOWrapper(bundle.open(name), encoding="utf-8")))
            for name in bundle.namelist()
            if name.endswith(".csv")
        } | {"README.txt": bundle.read("README.txt").decode()}


def test_the_vendored_schema_is_the_official_one():
    import hashlib

    foundation = ODM_XSD.with_name("ODM1-3-2-foundation.xsd").read_bytes()
    # SHA-256 of CDISC's published ODM1-3-2-foundation.xsd (as in ../shared/standards).
    assert hashlib.sha256(foundation).hexdigest() == (
        "3f94ee334d63757430054d160990e3ad4588400a35c5b06f8dba6302b317764c"
    )
    shared = Path(settings.BASE_DIR).parent / "shared/standards/cdisc-odm-1.3.2"
    if shared.exists():  # beside the workplace's copy, the files are identical
        assert (shared / "ODM1-3-2.xsd").read_bytes() == ODM_XSD.read_bytes()


def test_every_clinical_model_is_exported():
    exported = {form.model for form in export_forms()}
    from django.apps import apps

    clinical = {
        m for m in apps.get_models() if issubclass(m, ClinicalRecord) and not m._meta.abstract
    }
    assert clinical == exported


def expected_cell(record, item) -> str:
    """The text a CSV cell must hold for ``item`` of ``record``, computed independently of
    the exporter from the value the ORM reads."""
    from datetime import datetime

    if item.lookup.endswith("__username"):
        user = getattr(record, item.name)
        return user.username if user else ""
    value = getattr(record, item.field.attname)
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return "|".join(str(v) for v in value)
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat().replace("+00:00", "Z")
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def follow(record, path: str | None):
    """The object at ``path`` from ``record`` (None where a link is missing)."""
    from django.core.exceptions import ObjectDoesNotExist

    for part in path.split("__") if path else []:
        try:
            record = getattr(record, part)
        except ObjectDoesNotExist:
            return None
        if record is None:
            return None
    return record


def same_cell(cell: str, expected: str, item) -> bool:
    if isinstance(item.field, dj_models.DecimalField) and cell and expected:
        return Decimal(cell) == Decimal(expected)  # 6.2 and 6.2000 are one value
    return cell == expected


def test_csv_values_round_trip_for_every_form(demo_trial, data_manager):
    export = run_export(data_manager)
    assert export.status == "done", export.error
    bundle = read_bundle(export)

    for form in export_forms():
        rows = bundle[f"{form.code}.csv"]
        records = form.model._default_manager.all()
        assert len(rows) == records.count(), form.code
        by_pk = {r.pk: r for r in records}
        for row in rows:
            record = by_pk[int(row["record_id"])]
            for item in form.items:
                if item.options:  # multi-choice: a 0/1 column per option
                    chosen = getattr(record, item.name)
                    for code, _label in item.options:
                        cell = "" if chosen is None else str(int(code in chosen))
                        assert row[item.option_column(code)] == cell, (form.code, item.name)
                    continue
                expected = expected_cell(record, item)
                assert same_cell(row[item.column], expected, item), (form.code, item.name, row)
            assert row["record_status"] == ("voided" if record.voided_at else "active")
            assert row["version"] == str(record.version)
            subject = follow(record, form.participant_path)
            assert row["subject_id"] == (subject.subject_id if subject else ""), form.code
            if form.visit_path:
                visit = record.visit
                assert row["visit_code"] == (visit.visit_code if visit else "")
                assert row["visit_date"] == (visit.visit_date.isoformat() if visit else "")
    # Every CRF form of the demo is in the bundle, with rows.
    for code in ("crf_essdaiassessment", "crf_vitals", "dosing_labresult", "crf_adverseevent"):
        assert bundle[f"{code}.csv"], code
    subjects = [row["subject_id"] for row in bundle["enrollment_participant.csv"]]
    assert subjects == sorted(Participant.objects.values_list("subject_id", flat=True))
    assert set(export.participants) == set(subjects)


def test_the_bundle_has_a_dictionary_and_a_readme(participants, data_manager):
    bundle = read_bundle(run_export(data_manager, labels=True))
    dictionary = bundle["data_dictionary.csv"]
    sex = next(
        r for r in dictionary if r["form"] == "eligibility_screening" and r["field"] == "sex"
    )
    assert sex["allowed_values"] == "F=Female; M=Male"
    assert any(r["derivation"] for r in dictionary)
    assert "eligibility_screening.csv: 3 rows" in bundle["README.txt"]
    assert "Software version: " in bundle["README.txt"]
    assert bundle["eligibility_screening.csv"][0]["sex_label"] in ("Female", "Male")


def test_filters_by_site_and_participant(participants, data_manager):
    bundle = read_bundle(run_export(data_manager, filters=ExportFilters(site_codes=("CHCMU",))))
    assert {r["site"] for r in bundle["enrollment_participant.csv"]} == {"CHCMU"}
    only = participants[0].subject_id
    bundle = read_bundle(run_export(data_manager, filters=ExportFilters(subject_ids=(only,))))
    assert [r["subject_id"] for r in bundle["enrollment_participant.csv"]] == [only]


def test_date_shifting_keeps_intervals_and_removes_date_of_birth(participants, data_manager):
    plain = read_bundle(run_export(data_manager))
    shifted = read_bundle(run_export(data_manager, shift_dates=True, drop_date_of_birth=True))
    assert "date_of_birth" not in shifted["eligibility_screening.csv"][0]

    def dates(bundle, subject):
        [screening] = [r for r in bundle["eligibility_screening.csv"] if r["subject_id"] == subject]
        [participant] = [
            r for r in bundle["enrollment_participant.csv"] if r["subject_id"] == subject
        ]
        return date.fromisoformat(screening["screening_date"]), date.fromisoformat(
            participant["enrolled_on"]
        )

    for p in participants:
        real_screened, real_enrolled = dates(plain, p.subject_id)
        shifted_screened, shifted_enrolled = dates(shifted, p.subject_id)
        assert shifted_screened != real_screened
        assert shifted_enrolled - shifted_screened == real_enrolled - real_screened
    # The offsets are kept: a second de-identified export shifts the same way.
    again = read_bundle(run_export(data_manager, shift_dates=True))
    assert dates(again, participants[0].subject_id) == dates(shifted, participants[0].subject_id)


def test_odm_export_validates_against_the_official_schema(participants, data_manager):
    export = run_export(data_manager, kind="odm")
    assert export.status == "done", export.error
    document = etree.parse(str(services.export_dir() / export.file_name))
    schema = etree.XMLSchema(etree.parse(str(ODM_XSD)))
    assert schema.validate(document), schema.error_log
    ns = {"odm": "http://www.cdisc.org/ns/odm/v1.3"}
    subjects = document.xpath("//odm:SubjectData/@SubjectKey", namespaces=ns)
    assert sorted(subjects) == sorted(p.subject_id for p in participants)
    assert document.xpath("//odm:FormData/odm:AuditRecord/odm:UserRef", namespaces=ns)
    signatures = document.xpath(
        "//odm:FormData/odm:Signature/odm:SignatureRef/@SignatureOID", namespaces=ns
    )
    assert "SD.ELIGIBILITY" in signatures
    assert document.xpath("//odm:MetaDataVersion/odm:CodeList", namespaces=ns)


def test_the_casebook_pdf_opens_and_names_the_subject_and_the_signature(
    client_for, participants, investigator_pumch
):
    from pypdf import PdfReader

    participant = participants[0]
    response = client_for(investigator_pumch).get(
        reverse("exports:casebook", args=[participant.subject_id])
    )
    assert response.status_code == 200
    reader = PdfReader(io.BytesIO(response.content))
    text = "\n".join(page.extract_text() for page in reader.pages)
    assert len(reader.pages) >= 3
    assert participant.subject_id in text
    flat = " ".join(text.split())
    assert "Ivan Chen" in flat and "meets all eligibility criteria" in flat, text
    assert f"Page 1 of {len(reader.pages)}" in text


def test_a_coordinator_cannot_export(client_for, coordinator_pumch, participants):
    client = client_for(coordinator_pumch)
    assert client.get(reverse("exports:list")).status_code == 403
    assert client.post(reverse("exports:list"), {"kind": "csv"}).status_code == 403
    casebook = reverse("exports:casebook", args=[participants[0].subject_id])
    assert client.get(casebook).status_code == 403


def test_an_investigator_cannot_export_another_sites_casebook(
    client_for, investigator_pumch, participants
):
    other = next(p for p in participants if p.site.code == "CHCMU")
    response = client_for(investigator_pumch).get(
        reverse("exports:casebook", args=[other.subject_id])
    )
    assert response.status_code == 404


def test_only_the_data_manager_who_made_an_export_downloads_it(client_for, data_manager, db):
    from tests.factories.trialsite import UserFactory
    from trialsite.roles import Role

    export = run_export(data_manager)
    other = UserFactory(username="dora", role=Role.DATA_MANAGER)
    assert client_for(other).get(reverse("exports:download", args=[export.pk])).status_code == 404
    response = client_for(data_manager).get(reverse("exports:download", args=[export.pk]))
    assert response.status_code == 200
    assert zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content))).testzip() is None


def test_an_export_through_the_page_is_in_the_audit_trail(client_for, data_manager, participants):
    response = client_for(data_manager).post(
        reverse("exports:list"),
        {"kind": "csv", "sites": ["PUMCH"], "participants": "", "labels": "on"},
    )
    assert run_queued_jobs("exports.tasks.run_export") == 1  # what the worker does
    export = Export.objects.get()
    assert response["Location"] == reverse("exports:detail", args=[export.pk])
    event = pghistory.models.Events.objects.tracks(export).order_by("pgh_id").first()
    assert event.pgh_context["username"] == data_manager.username
    assert event.pgh_data["filters"]["sites"] == ["PUMCH"]
    assert export.participants == sorted(
        p.subject_id for p in Participant.objects.filter(site__code="PUMCH")
    )


def test_a_bad_participant_list_is_a_form_error(client_for, data_manager):
    response = client_for(data_manager).post(
        reverse("exports:list"), {"kind": "csv", "participants": "PUMCH-001, <script>"}
    )
    assert response.status_code == 200
    assert "participants" in response.context["form"].errors
    assert not Export.objects.exists()


def test_scores_are_exported_as_computed_columns_with_their_derivation(data_manager, db):
    from datetime import timedelta

    from django.utils import timezone

    from demo import seed as demo

    demo.seed_sites_and_users()
    demo.seed_trial_data(timezone.localdate() - timedelta(days=0))
    bundle = read_bundle(run_export(data_manager))
    from crf.models import EssdaiAssessment

    rows = bundle["crf_essdaiassessment.csv"]
    assert rows, "the demo has ESSDAI assessments"
    for row in rows:
        record = EssdaiAssessment.objects.get(pk=row["record_id"])
        assert int(row["essdai_total"]) == record.score.total
        assert row["essdai_category"] == record.score.category.value
    derivations = {
        r["field"]: r["derivation"]
        for r in bundle["data_dictionary.csv"]
        if r["form"] == "crf_essdaiassessment"
    }
    assert "weight x level" in derivations["essdai_total"]


# --- Date filter, de-identified ODM, sign-offs, units, the past-exports page, failures ------

NS = {"odm": "http://www.cdisc.org/ns/odm/v1.3"}


def parse_odm(export: Export) -> etree._ElementTree:
    assert export.status == "done", export.error
    document = etree.parse(str(services.export_dir() / export.file_name))
    schema = etree.XMLSchema(etree.parse(str(ODM_XSD)))
    assert schema.validate(document), schema.error_log
    return document


def test_a_date_filter_keeps_only_the_rows_in_range_in_every_form(demo_trial, data_manager):
    from exports.odm import form_oid

    start, end = timezone.localdate() - timedelta(days=150), timezone.localdate() - timedelta(60)
    filters = ExportFilters(date_from=start, date_to=end)
    bundle = read_bundle(run_export(data_manager, filters=filters))
    document = parse_odm(run_export(data_manager, kind="odm", filters=filters))

    for form in export_forms():
        assert form.date_field, f"{form.code} has dates but no date filter"
        rows = bundle[f"{form.code}.csv"]
        for row in rows:
            assert start <= date.fromisoformat(row[form.date_column]) <= end, (form.code, row)
        in_range = form.model._default_manager.filter(**{f"{form.date_field}__range": (start, end)})
        assert {int(r["record_id"]) for r in rows} == set(in_range.values_list("pk", flat=True))
        in_odm = document.xpath(
            f"//odm:FormData[@FormOID='{form_oid(form)}']/@FormRepeatKey", namespaces=NS
        )
        assert sorted(map(int, in_odm)) == sorted(int(r["record_id"]) for r in rows), form.code
    # The range cuts through the demo's visit CRFs: some kept, some left out.
    assert bundle["crf_vitals.csv"]
    assert len(bundle["crf_vitals.csv"]) < form_count("crf_vitals")
    readme = bundle["README.txt"]
    assert "crf_vitals.csv: visit_date (the date of the visit the form belongs to)" in readme
    assert "crf_adverseeventupdate.csv: reported_on" in readme


def form_count(code: str) -> int:
    from exports.registry import form_by_code

    return form_by_code(code).model._default_manager.count()


def signed_participant():
    """The demo participant whose baseline visit the investigator signed off."""
    from monitoring.models import Signoff

    return Signoff.objects.get(kind="visit").participant


def sign_directly(obj, user):
    """Sign through the e-signature service (without the sign-off page's refusals)."""
    from demo.seed import DEMO_PASSWORD
    from trialsite import signatures

    reauth = signatures.reauthenticate(user=user, password=DEMO_PASSWORD)
    return signatures.sign(obj=obj, user=user, reauth=reauth, meaning=obj.meaning)


def test_a_de_identified_odm_shows_no_real_date_of_the_participant(demo_trial, data_manager):
    from exports.models import DateShift

    participant = signed_participant()
    # Far beyond the span of the data, so no shifted date can equal a real one by chance.
    DateShift.objects.create(participant=participant, offset_days=3001)
    only = ExportFilters(subject_ids=(participant.subject_id,))
    plain = parse_odm(run_export(data_manager, kind="odm", filters=only))
    shifted = parse_odm(run_export(data_manager, kind="odm", filters=only, shift_dates=True))

    real_dates = {stamp[:10] for stamp in plain.xpath("//odm:DateTimeStamp/text()", namespaces=NS)}
    real_dates |= set(plain.xpath("//odm:ItemData/@Value[string-length(.) >= 10]", namespaces=NS))
    real_dates = {d[:10] for d in real_dates if len(d) >= 10 and d[4] == "-" and d[7] == "-"}
    assert len(real_dates) > 5
    [subject] = shifted.xpath("//odm:SubjectData", namespaces=NS)
    text = etree.tostring(subject, encoding="unicode")
    assert subject.xpath(".//odm:AuditRecord/odm:DateTimeStamp", namespaces=NS)
    stamps = subject.xpath(".//odm:Signature/odm:DateTimeStamp/text()", namespaces=NS)
    assert stamps, "the signed visit's signature is exported"
    leaked = {d: text[text.index(d) - 200 : text.index(d) + 50] for d in real_dates if d in text}
    assert leaked == {}


def test_the_odm_of_the_whole_demo_trial_validates_with_its_signatures(
    demo_trial, data_manager, investigator_pumch
):
    from crf.models import Vitals
    from crf.services import crf_void
    from exports.odm import form_oid
    from exports.registry import form_by_code
    from monitoring.models import Signoff
    from tests.factories.crf import make_visit, save_vitals
    from trialsite.models import Signature

    participant = signed_participant()
    investigator = Signature.objects.filter(meaning="visit").first().signer
    # An unscheduled visit with its vitals, and a record voided in error.
    unscheduled = make_visit(participant, "UNS1", on=timezone.localdate() - timedelta(days=3))
    save_vitals(unscheduled, investigator)
    voided = Vitals.objects.active().exclude(visit=unscheduled).first()
    crf_void(record=voided, user=investigator, reason="entered for the wrong visit")
    # A second visit signed, then its data changed (the signature is void); then the
    # casebook signed off over the data as it now is.
    week_12 = participant.visits.get(visit_code="W12")
    later = Signoff.objects.create(
        kind="visit", site=participant.site, participant=participant, visit=week_12
    )
    sign_directly(later, investigator)
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE crf_vitals SET heart_rate_bpm = heart_rate_bpm + 1 WHERE visit_id = %s",
            [week_12.pk],
        )
    casebook = Signoff.objects.create(
        kind="casebook", site=participant.site, participant=participant
    )
    sign_directly(casebook, investigator)

    document = parse_odm(run_export(data_manager, kind="odm"))

    from eligibility.models import Screening

    subjects = document.xpath("//odm:SubjectData/@SubjectKey", namespaces=NS)
    # Screen failures are subjects too (issue 18), keyed by their screening number.
    never_enrolled = Screening.objects.filter(participant__isnull=True).values_list(
        "number", flat=True
    )
    assert sorted(subjects) == sorted(
        [*Participant.objects.values_list("subject_id", flat=True), *never_enrolled]
    )
    [subject] = document.xpath(
        f"//odm:SubjectData[@SubjectKey='{participant.subject_id}']", namespaces=NS
    )
    assert subject.xpath("odm:Signature/odm:SignatureRef/@SignatureOID", namespaces=NS) == [
        "SD.CASEBOOK"
    ]
    baseline = subject.xpath("odm:StudyEventData[@StudyEventOID='SE.BASELINE']", namespaces=NS)
    assert baseline[0].xpath("odm:Signature/odm:SignatureRef/@SignatureOID", namespaces=NS) == [
        "SD.VISIT"
    ]
    w12 = subject.xpath("odm:StudyEventData[@StudyEventOID='SE.W12']", namespaces=NS)
    assert w12 and not w12[0].xpath("odm:Signature", namespaces=NS), "a void signature went out"
    assert subject.xpath(
        "odm:StudyEventData[@StudyEventOID='SE.UNS'][@StudyEventRepeatKey='1']/odm:FormData",
        namespaces=NS,
    )
    removed = document.xpath(
        f"//odm:FormData[@FormOID='{form_oid(form_by_code('crf_vitals'))}']"
        f"[@FormRepeatKey='{voided.pk}']/odm:ItemGroupData/@TransactionType",
        namespaces=NS,
    )
    assert removed == ["Remove"]
    adverse_events = document.xpath(
        f"//odm:FormData[@FormOID='{form_oid(form_by_code('crf_adverseevent'))}']",
        namespaces=NS,
    )
    assert len(adverse_events) == form_count("crf_adverseevent") > 0
    assert len(document.xpath("//odm:Signature", namespaces=NS)) >= 3


def test_a_signature_made_void_by_a_later_change_is_not_exported(participants, data_manager):
    participant = participants[0]
    before = parse_odm(run_export(data_manager, kind="odm"))
    path = "//odm:SubjectData[@SubjectKey='{}']//odm:Signature/odm:SignatureRef/@SignatureOID"
    assert "SD.ELIGIBILITY" in before.xpath(path.format(participant.subject_id), namespaces=NS)
    with connection.cursor() as cursor:  # behind the application's back
        cursor.execute(
            "UPDATE eligibility_screening SET schirmer_mm_5min = schirmer_mm_5min + 1 "
            "WHERE id = %s",
            [participant.screening_id],
        )
    after = parse_odm(run_export(data_manager, kind="odm"))
    assert "SD.ELIGIBILITY" not in after.xpath(path.format(participant.subject_id), namespaces=NS)


def test_fields_have_their_declared_units_and_lab_rows_their_canonical_unit(
    participants, data_manager
):
    from dosing.models import LabResult
    from tests.factories.crf import make_visit, save_labs

    visit = make_visit(participants[0], "BASELINE")
    save_labs(visit, participants[0].screening.created_by, wbc=("6200", "/uL"))
    bundle = read_bundle(run_export(data_manager))
    units = {(r["form"], r["field"]): r["unit"] for r in bundle["data_dictionary.csv"]}
    assert units[("crf_vitals", "temperature_c")] == "°C"
    assert units[("crf_vitals", "weight_kg")] == "kg"
    assert units[("crf_vitals", "systolic_mmhg")] == "mmHg"
    assert units[("dosing_bcellresult", "cd19_absolute")] == "×10⁶/L"
    assert units[("dosing_labresult", "value")] == "see value_unit"
    assert units[("eligibility_screeninglab", "value")] == "see value_unit"
    assert units[("dosing_deviation", "reviewed_by")] == ""
    assert units[("crf_concomitantmedication", "drug")] == ""
    [wbc] = [r for r in bundle["dosing_labresult.csv"] if r["analyte"] == "wbc"]
    assert wbc["value_unit"] == "×10⁹/L" and Decimal(wbc["value"]) == Decimal("6.2")
    assert LabResult.objects.get(pk=wbc["record_id"]).unit_entered == "/uL"
    screening_units = {
        r["analyte"]: r["value_unit"] for r in bundle["eligibility_screeninglab.csv"]
    }
    assert screening_units["igg"] == "g/L" and screening_units["creatinine"] == "µmol/L"

    document = parse_odm(run_export(data_manager, kind="odm"))
    names = set(document.xpath("//odm:MeasurementUnit/@Name", namespaces=NS))
    assert {"°C", "kg", "×10⁹/L", "g/L", "mmHg"} <= names
    assert not names & {"investigator", "generic name", "0-10", "canonical unit"}
    allowed = {"%", "/min", "cm", "g/2 min", "m²", "mg", "mmHg", "mm/5 min", "mL/10 min"}
    allowed |= {"mL/15 min", "foci/4 mm²", "kg", "°C", "×10⁶/L", "×10⁹/L"}
    # The units values are entered in (lab values, CD19 counts, doses) carry theirs too.
    allowed |= {"/µL", "cells/µL", "g/dL", "mg/dL", "IU", "g", "µg", "mL"}
    from exports.dictionary import lab_units

    assert names <= allowed | set(lab_units())
    lab_value = document.xpath(
        "//odm:ItemData[@ItemOID='I.DOSING_LABRESULT.VALUE']/odm:MeasurementUnitRef"
        "/@MeasurementUnitOID",
        namespaces=NS,
    )
    assert lab_value and len(lab_value) == LabResult.objects.count()


def test_every_measured_field_declares_its_unit_or_that_it_has_none():
    from exports.dictionary import FIELD_UNITS, ROW_UNITS, UNITLESS, data_type

    for form in export_forms():
        label = form.model._meta.label
        for item in form.items:
            if data_type(item.field) not in ("float", "integer"):
                continue
            declared = (
                item.name in FIELD_UNITS.get(label, {})
                or item.name in ROW_UNITS.get(label, {})
                or item.name in UNITLESS.get(label, set())
            )
            assert declared, f"{label}.{item.name}: declare its unit in exports/dictionary.py"


def test_past_exports_show_date_filters_as_dates(client_for, data_manager, participants):
    filters = ExportFilters(
        site_codes=("PUMCH", "CHCMU"), date_from=date(2026, 1, 5), date_to=date(2026, 12, 31)
    )
    run_export(data_manager, filters=filters)
    page = client_for(data_manager).get(reverse("exports:list")).content.decode()
    assert "date_from: 2026-01-05" in page
    assert "date_to: 2026-12-31" in page
    assert "sites: PUMCH, CHCMU" in page
    assert "2, 0, 2, 6" not in page


def test_an_export_that_cannot_write_its_file_is_recorded_as_failed(
    data_manager, participants, tmp_path
):
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("a file where the export folder should be")
    with override_settings(EXPORT_ROOT=blocked):
        export = run_export(data_manager)
    assert export.status == "failed"
    assert export.error and export.finished_at is not None


def test_a_casebook_that_cannot_be_built_is_recorded_as_failed(
    client_for, investigator_pumch, participants, monkeypatch
):
    from reportlab.platypus import SimpleDocTemplate

    def broken_build(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(SimpleDocTemplate, "build", broken_build)  # the PDF library fails
    subject_id = participants[0].subject_id
    response = client_for(investigator_pumch).get(reverse("exports:casebook", args=[subject_id]))
    assert response.status_code == 302
    export = Export.objects.get(kind="casebook")
    assert export.status == "failed" and export.error == "disk full"


def test_an_export_running_past_the_limit_shows_as_stopped(client_for, data_manager, db):
    from exports.models import ExportKind

    now = timezone.now()
    stuck = services.export_create(
        user=data_manager, kind=ExportKind.CSV, filters=ExportFilters(), options=ExportOptions()
    )
    fresh = services.export_create(
        user=data_manager, kind=ExportKind.ODM, filters=ExportFilters(), options=ExportOptions()
    )
    Export.objects.filter(pk=stuck.pk).update(created_at=now - timedelta(hours=3))
    client = client_for(data_manager)
    with override_settings(EXPORT_STALE_MINUTES=120):
        page = client.get(reverse("exports:list")).content.decode()
        detail = client.get(reverse("exports:detail", args=[stuck.pk])).content.decode()
        fresh_detail = client.get(reverse("exports:detail", args=[fresh.pk])).content.decode()
    assert page.count('data-export-status="stale"') == 1
    assert page.count('data-export-status="running"') == 1
    assert 'data-export-status="stale"' in detail and 'http-equiv="refresh"' not in detail
    assert 'data-export-status="running"' in fresh_detail


def test_an_export_is_stale_only_while_running_past_the_limit():
    now = timezone.now()
    limit = timedelta(minutes=120)
    old = now - timedelta(minutes=121)
    assert Export(status="running", created_at=old).is_stale(now, limit)
    assert not Export(status="running", created_at=now - timedelta(minutes=119)).is_stale(
        now, limit
    )
    assert not Export(status="done", created_at=old).is_stale(now, limit)


def test_the_casebook_of_a_demo_participant_has_its_visits_and_signatures(client_for, demo_trial):
    from pypdf import PdfReader

    from dosing.models import Visit
    from trialsite.models import Signature

    participant = signed_participant()
    signature = Signature.objects.get(meaning="visit", voided_at__isnull=True)
    investigator = signature.signer
    response = client_for(investigator).get(
        reverse("exports:casebook", args=[participant.subject_id])
    )
    assert response.status_code == 200
    reader = PdfReader(io.BytesIO(response.content))
    text = "\n".join(page.extract_text() for page in reader.pages)
    flat = " ".join(text.split())

    visits = Visit.objects.filter(participant=participant).count()
    # A title page, one page (at least) per visit, the signatures, the audit trail appendix.
    assert visits >= 5
    assert visits + 3 <= len(reader.pages) <= 6 * (visits + 3)
    assert f"Page {len(reader.pages)} of {len(reader.pages)}" in text
    assert participant.subject_id in text
    for page in reader.pages:
        assert participant.subject_id in page.extract_text()  # the page header
    assert "Visit BASELINE sign-off" in flat
    assert investigator.printed_name in flat
    assert "I have reviewed the data of this visit and confirm it is accurate." in flat
    assert signature.signed_at.astimezone(UTC).strftime("%Y-%m-%d %H:%M") in flat
    assert "ESSDAI assessment" in flat and "Vitals" in flat
    assert "temperature (°C)" in flat and "°C" in flat.split("temperature (°C)")[1][:40]
    assert "×109/L" in flat  # ×10⁹/L of the counts, the 9 set as a superscript
    assert "■" not in text  # no character the PDF font lacks


def test_the_csv_postgresql_writes_is_the_csv_python_writes_for_every_form(demo_trial):
    """The bundle lets PostgreSQL write most forms (COPY, issue 10): byte for byte what
    ``rows`` and csv.writer give, including the awkward values."""
    from crf.models import ConcomitantMedication
    from dosing.models import Infusion
    from exports.csv_bundle import _copy_form, _python_form
    from exports.rows import columns, copy_query

    medication = ConcomitantMedication.objects.order_by("pk").first()
    ConcomitantMedication.objects.filter(pk=medication.pk).update(
        indication='dry eyes, "severe"\nsecond line\r\nthird: 口干 ü',
        dose=Decimal("12.50"),
    )
    ConcomitantMedication.objects.filter(pk=medication.pk).update(
        voided_at=timezone.now(), void_reason="entered twice, see 2026-01-05"
    )
    infusion = Infusion.objects.order_by("pk").first()
    Infusion.objects.filter(pk=infusion.pk).update(start_time="09:05:07.25", stop_time="10:00")
    with connection.cursor() as cursor:  # a timestamp without fractional seconds
        cursor.execute(
            "UPDATE dosing_infusion SET updated_at = date_trunc('second', updated_at) "
            "WHERE id = %s",
            [infusion.pk],
        )

    filters, options = ExportFilters(), ExportOptions()
    by_python, by_postgresql = io.BytesIO(), io.BytesIO()
    in_python_only = []
    with (
        zipfile.ZipFile(by_python, "w") as python_zip,
        zipfile.ZipFile(by_postgresql, "w") as copy_zip,
    ):
        for form in export_forms():
            query = copy_query(form, filters, options)
            if query is None:
                in_python_only.append(form.code)
                continue
            python_subjects, copy_subjects = set(), set()
            python_rows = _python_form(
                python_zip, form, filters, options, python_subjects, lambda done: None
            )
            copy_rows = _copy_form(copy_zip, form, query, columns(form, options), copy_subjects)
            assert (copy_rows, copy_subjects) == (python_rows, python_subjects), form.code
    # Only the screening (its list of missing items is JSON) and the labs (their flags come
    # from the app's own function, trialsite.reference_ranges.flag) stay with Python.
    assert in_python_only == [
        "eligibility_screening",
        "eligibility_screeninglab",
        "dosing_labresult",
    ]
    with zipfile.ZipFile(by_python) as python_zip, zipfile.ZipFile(by_postgresql) as copy_zip:
        assert python_zip.namelist() == copy_zip.namelist()
        for name in python_zip.namelist():
            assert copy_zip.read(name) == python_zip.read(name), name
        medications = python_zip.read("crf_concomitantmedication.csv").decode()
        infusions = python_zip.read("dosing_infusion.csv").decode()
    assert '"dry eyes, ""severe""\nsecond line\r\nthird: 口干 ü"' in medications
    assert ",12.5," in medications and '"entered twice, see 2026-01-05"' in medications
    assert ",09:05:07.250000,10:00:00," in infusions
