"""The ODM 1.3.2 export made complete (issue 18): odmlib's strict loading and the XSD,
units, derived scores, range checks, the schedule of assessments, questions in English and
Chinese, the full audit history, screen failures and queries."""

from __future__ import annotations

import time

import pytest
from lxml import etree

from exports import services
from tests.test_exports import NS, ODM_XSD, run_export

pytestmark = pytest.mark.django_db


@pytest.fixture
def demo_trial(db):
    """The full demo trial (every CRF, AEs, queries, screen failures, signed visits)."""
    from django.utils import timezone

    from demo import seed as demo

    demo.seed_sites_and_users()
    demo.seed_trial_data(timezone.localdate())


def odm_path(export) -> str:
    assert export.status == "done", export.error
    return str(services.export_dir() / export.file_name)


def strictly_loaded(path: str):
    """The file as odmlib's strict XML loader reads it (it raises on what it refuses)."""
    import odmlib.loader as LD
    import odmlib.odm_loader as OL

    loader = LD.ODMLoader(OL.XMLODMLoader(model_package="odm_1_3_2"))
    loader.open_odm_document(path)
    return loader.load_odm()


def test_the_full_demo_odm_loads_strictly_in_odmlib_and_validates(demo_trial, data_manager):
    started = time.perf_counter()
    path = odm_path(run_export(data_manager, kind="odm"))
    print(f"ODM export of the demo trial: {time.perf_counter() - started:.2f} s")
    document = etree.parse(path)
    schema = etree.XMLSchema(etree.parse(str(ODM_XSD)))
    assert schema.validate(document), schema.error_log
    odm = strictly_loaded(path)
    assert odm.ODMVersion == "1.3.2"
    assert len(odm.ClinicalData[0].SubjectData) == len(
        document.xpath("//odm:SubjectData", namespaces=NS)
    )
