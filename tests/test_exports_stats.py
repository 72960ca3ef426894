"""Statistics-package files and the analysis-ready tables (issue 18): SPSS, Stata and SAS
transport files with their labels, values as the application decides them."""

from __future__ import annotations

import csv
import io
import zipfile
from decimal import Decimal

import pyreadstat
import pytest
from django.utils import timezone

from dosing.engine import Drug, completed_on
from dosing.selectors import courses_for
from enrollment.models import Participant
from exports import services
from exports.models import Export
from exports.rows import ExportFilters, ExportOptions
from exports.stats import XPT_LABEL, XPT_NAME, participant_table
from trialsite.dates import age_in_completed_years

pytestmark = pytest.mark.django_db


@pytest.fixture
def demo_trial(db):
    from demo import seed as demo

    demo.seed_sites_and_users()
    demo.seed_trial_data(timezone.localdate())


def run_export(user, kind: str, **options) -> Export:
    export = services.export_create(
        user=user, kind=kind, filters=ExportFilters(), options=ExportOptions(**options)
    )
    export = services.export_run(export)
    assert export.status == "done", export.error
    return export


def unpack(export: Export, directory) -> dict[str, bytes]:
    with zipfile.ZipFile(services.export_dir() / export.file_name) as bundle:
        bundle.extractall(directory)
        return {name: bundle.read(name) for name in bundle.namelist()}


def treated_participant() -> Participant:
    """A demo participant who has had both drugs."""
    for participant, course in courses_for(Participant.objects.active(), timezone.localdate()):
        drugs = {event.drug for event in course.events if event.actual and event.drug}
        if drugs == {Drug.RITUXIMAB, Drug.BELIMUMAB}:
            return participant
    raise AssertionError("the demo trial has a participant on belimumab")


def test_spss_stata_and_sas_files_read_back_with_labels_and_the_apps_values(
    demo_trial, data_manager, tmp_path
):
    files = unpack(run_export(data_manager, "stats"), tmp_path)
    assert {"particip.sav", "particip.dta", "particip.xpt", "outcomes.sav"} <= set(files)
    participant = treated_participant()
    [course] = [c for _p, c in courses_for([participant], timezone.localdate())]
    given = {
        drug: sorted(e.actual for e in course.events if e.drug is drug and e.actual)
        for drug in Drug
    }
    screening = participant.screening
    for suffix, read in (("sav", pyreadstat.read_sav), ("dta", pyreadstat.read_dta)):
        frame, meta = read(str(tmp_path / f"particip.{suffix}"))
        assert meta.column_names_to_labels["day_0"] == "Day 0", suffix
        assert meta.variable_value_labels["sex"] == {1: "Female", 2: "Male"}, suffix
        assert meta.variable_value_labels["treated"] == {0: "No", 1: "Yes"}, suffix
        [row] = frame[frame["subject_id"] == participant.subject_id].to_dict("records")
        assert row["day_0"] == course.day_0
        assert row["rituximab_first"] == given[Drug.RITUXIMAB][0]
        assert row["belimumab_last"] == given[Drug.BELIMUMAB][-1]
        assert row["rituximab_n"] == len(given[Drug.RITUXIMAB])
        assert row["belimumab_n"] == len(given[Drug.BELIMUMAB])
        assert row["age_at_enrolment"] == age_in_completed_years(
            screening.date_of_birth, participant.enrolled_on
        )
        assert meta.variable_value_labels["sex"][row["sex"]] == screening.get_sex_display()
        assert row["treated"] == 1
        assert row["completed_w28"] == int(completed_on(course) is not None)
        outcomes, outcome_meta = read(str(tmp_path / f"outcomes.{suffix}"))
        assert outcome_meta.column_names_to_labels["essdai_chg_w28"].startswith("ESSDAI total")
        assert outcomes["essdai_bl"].notna().any()
    # SAS transport v5: 8-character names, labels cut to 40, value labels in formats.sas.
    frame, meta = pyreadstat.read_xport(str(tmp_path / "particip.xpt"))
    assert all(len(name) <= XPT_NAME for name in meta.column_names)
    assert all(len(label) <= XPT_LABEL for label in meta.column_labels)
    assert meta.column_names_to_labels["DAY0"] == "Day 0"
    assert meta.original_variable_types["SEX"] == "SEXF"
    assert participant.subject_id in set(frame["SUBJID"])
    outcomes, outcome_meta = pyreadstat.read_xport(str(tmp_path / "outcomes.xpt"))
    assert "ESSDC28" in outcome_meta.column_names
    formats = files["formats.sas"].decode()
    assert "VALUE SEXF 1='Female' 2='Male';" in formats
    assert "FORMAT SEX SEXF.;" in formats


def test_the_analysis_tables_are_in_the_csv_bundle_and_de_identified_exports_shift_dates(
    demo_trial, data_manager
):
    texts = {}
    for shift in (False, True):
        export = run_export(data_manager, "csv", shift_dates=shift)
        with zipfile.ZipFile(services.export_dir() / export.file_name) as bundle:
            texts[shift] = {
                name: list(csv.DictReader(io.StringIO(bundle.read(name).decode())))
                for name in ("analysis_participants.csv", "analysis_outcomes.csv")
            }
    participant = treated_participant()
    plain, shifted = (
        next(
            r
            for r in texts[s]["analysis_participants.csv"]
            if r["subject_id"] == participant.subject_id
        )
        for s in (False, True)
    )
    offset = participant.export_date_shift.offset_days
    from datetime import date, timedelta

    assert date.fromisoformat(shifted["day_0"]) == date.fromisoformat(plain["day_0"]) + timedelta(
        days=offset
    )
    assert shifted["age_at_enrolment"] == plain["age_at_enrolment"] != ""
    assert texts[False]["analysis_outcomes.csv"]
    # The outcome table holds the outcome review's values.
    from crf.selectors import outcome_review

    review = {
        r.participant.subject_id: r for r in outcome_review(data_manager, timezone.localdate()).rows
    }
    for row in texts[False]["analysis_outcomes.csv"]:
        base = review[row["subject_id"]].baseline
        assert row["essdai_bl"] == (str(base.essdai.total) if base.essdai else "")
        if base.esspri:
            assert Decimal(row["esspri_bl"]) == base.esspri.score


def test_the_participant_table_of_a_new_participant_says_not_treated(
    site_pumch, coordinator_pumch, investigator_pumch, data_manager
):
    from tests.factories.crf import make_participant

    participant = make_participant(
        site=site_pumch, coordinator=coordinator_pumch, investigator=investigator_pumch
    )
    table = participant_table(
        user=data_manager,
        filters=ExportFilters(),
        options=ExportOptions(),
        today=timezone.localdate(),
    )
    [row] = table.rows
    assert row["subject_id"] == participant.subject_id
    assert (row["treated"], row["rituximab_n"], row["rituximab_first"]) == (0, 0, None)
    assert row["enrolled"] == 1 and row["completed_w28"] == 0


# --- The casebook: linked from the participant page, listed with the exports --------------


def test_the_participant_page_links_the_casebook_for_those_who_may_export_it(
    client_for, site_pumch, coordinator_pumch, investigator_pumch, data_manager
):
    from django.urls import reverse

    from tests.factories.crf import make_participant

    participant = make_participant(
        site=site_pumch, coordinator=coordinator_pumch, investigator=investigator_pumch
    )
    page = reverse("participant_detail", args=[participant.subject_id])
    link = reverse("exports:casebook", args=[participant.subject_id])
    for user in (data_manager, investigator_pumch):
        html = client_for(user).get(page).content.decode()
        assert f'href="{link}" data-casebook-link' in html, user
    assert link not in client_for(coordinator_pumch).get(page).content.decode()
    # Followed, it gives the PDF; the export list then shows it with the other exports.
    client = client_for(data_manager)
    response = client.get(link)
    assert response["Content-Type"] == "application/pdf" and response.content.startswith(b"%PDF")
    run_export(data_manager, "csv")
    listing = client.get(reverse("exports:list")).content.decode()
    assert f'href="{link}" data-casebook' in listing
    assert f"Casebook of {participant.subject_id} (PDF)" in listing
    assert "CSV bundle" in listing
