"""Exports: CSV round trip, de-identification, ODM against the official schema, casebook PDF,
access and the audit trail."""

from __future__ import annotations

import csv
import io
import zipfile
from datetime import date
from decimal import Decimal
from pathlib import Path

import pghistory.models
import pytest
from django.conf import settings
from django.urls import reverse
from lxml import etree

from eligibility.models import Screening, ScreeningLab
from enrollment.models import Participant
from exports import services
from exports.models import Export
from exports.registry import export_forms
from exports.rows import ExportFilters, ExportOptions
from tests.factories.enrollment import make_participant
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


def test_csv_values_round_trip(participants, data_manager):
    export = run_export(data_manager)
    bundle = read_bundle(export)
    assert export.status == "done"

    screenings = {row["screening_number"]: row for row in bundle["eligibility_screening.csv"]}
    for screening in Screening.objects.all():
        row = screenings[screening.number]
        assert row["date_of_birth"] == screening.date_of_birth.isoformat()
        assert row["sex"] == screening.sex
        assert Decimal(row["schirmer_mm_5min"]) == screening.schirmer_mm_5min
        assert row["systemic_involvement"] == "|".join(screening.systemic_involvement)
        assert row["subject_id"] == screening.participant.subject_id
    labs = bundle["eligibility_screeninglab.csv"]
    assert len(labs) == ScreeningLab.objects.count()
    for row in labs:
        lab = ScreeningLab.objects.get(pk=row["record_id"])
        assert Decimal(row["value"]) == lab.value
        assert row["taken_on"] == lab.taken_on.isoformat()
    subjects = [row["subject_id"] for row in bundle["enrollment_participant.csv"]]
    assert subjects == sorted(p.subject_id for p in participants)
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

    from trialsite import demo

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
