"""Monitoring data built through the real services: a visit with its full set of forms,
queries, verifications, locks and sign-offs.

``complete_visit`` fills every form a baseline visit expects (the B-cell result through
dosing's service), so a sign-off is not refused for missing forms unless a test wants it.
"""

from __future__ import annotations

from decimal import Decimal

from dosing.models import LabResult
from dosing.services import b_cell_result_record
from monitoring import services
from monitoring.models import DataQuery
from tests.factories.crf import fill_full_set, make_participant, make_visit, today
from tests.factories.eligibility import ServiceFactory
from tests.factories.trialsite import PASSWORD, UserFactory
from trialsite.roles import Role


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


class DataQueryFactory(ServiceFactory):
    """A query on ``record`` (a field of it with ``field_name``) raised through
    ``query_open`` by a monitor of the record's site unless ``user`` is given."""

    class Meta:
        model = DataQuery

    _service_only = ("record", "user")

    record = None
    user = None
    field_name = ""
    question = "Please check against the source document."

    @classmethod
    def _create(cls, model_class, *, record, user=None, field_name, question) -> DataQuery:
        if user is None:
            site = record
            for part in type(record).site_field.split("__"):
                site = getattr(site, part)
            user = UserFactory(role=Role.MONITOR, sites=[site])
        return raise_query(record, user, field_name=field_name, question=question)
