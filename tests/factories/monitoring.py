"""Monitoring data built through the real services: a visit with its full set of forms,
queries, verifications, locks and sign-offs.

``complete_visit`` fills every form a baseline visit expects (the B-cell result through
dosing's service), so a sign-off is not refused for missing forms unless a test wants it.
"""

from __future__ import annotations

from decimal import Decimal

from crf.models import LabResult
from dosing.services import b_cell_result_record
from monitoring import services
from monitoring.models import DataQuery
from tests.factories.crf import fill_full_set, make_participant, make_visit, today
from tests.factories.trialsite import PASSWORD


def enrolled(*, site, coordinator, investigator):
    return make_participant(site=site, coordinator=coordinator, investigator=investigator)


def complete_visit(participant, user, code: str = "BASELINE", **values):
    """A visit with every expected form entered (labs within the reference ranges)."""
    visit = make_visit(participant, code, user=user)
    fill_full_set(visit, user, **values)
    b_cell_result_record(
        participant=participant,
        user=user,
        taken_on=visit.visit_date,
        cd19_percent=Decimal("12"),
        today=today(),
    )
    return visit


def lab(visit, analyte: str = "igg") -> LabResult:
    return LabResult.objects.active().get(visit=visit, analyte=analyte)


def raise_query(record, user, field_name: str = "", question: str = "Please check.") -> DataQuery:
    return services.query_open(record=record, user=user, question=question, field_name=field_name)


def sign_visit(visit, investigator):
    return services.visit_sign(visit=visit, user=investigator, password=PASSWORD)
