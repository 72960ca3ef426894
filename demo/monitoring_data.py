"""Demo data of the monitoring app (called by demo.seed.seed_trial_data, last).

Everything goes through the real services: a few queries in every state (open, answered,
closed, one answered by a correction), source data verification of a visit and of a few
fields, and one visit signed by the investigator then locked by the data manager.  The
automatic edit checks have already opened their own queries while the crf demo saved
out-of-range labs.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from crf.models import AdverseEvent, Vitals
from dosing.models import LabResult, Visit
from enrollment.models import Participant
from monitoring import services
from monitoring.models import DataQuery, LockScope, QueryStatus
from trialsite import protocol
from trialsite.audit import audit_context
from trialsite.models import User


def _user(username: str) -> User | None:
    return User.objects.filter(username=username).first()


def _baseline(participant: Participant) -> Visit | None:
    return (
        Visit.objects.active()
        .filter(participant=participant, visit_code=protocol.BASELINE_VISIT_CODE)
        .first()
    )


def _age(query: DataQuery, days: int) -> None:
    """Demo queries of different ages (the query list shows the age in days)."""
    with audit_context(None, "demo data", source="seed_demo"):
        DataQuery.objects.filter(pk=query.pk).update(
            opened_at=query.opened_at - timedelta(days=days)
        )


def seed(today: date, participants: dict[str, Any], password: str = "") -> list[str]:
    """Add this app's demo data to the demo participants; returns summary lines."""
    monitor, manager = _user("monitor"), _user("datamanager")
    coordinator, investigator = _user("coordinator_pumch"), _user("investigator_pumch")
    if not participants or None in (monitor, manager, coordinator, investigator):
        return []
    if DataQuery.objects.filter(opened_by__isnull=False).exists():
        return []
    completed = participants.get("completed")
    belimumab = participants.get("belimumab")
    lines = []
    n_queries = 0
    if belimumab is not None and (visit := _baseline(belimumab)) is not None:
        esr = LabResult.objects.active().filter(visit=visit, analyte="esr").first()
        if esr is not None:
            open_query = services.query_open(
                record=esr,
                user=monitor,
                field_name="value_entered",
                question="源文件中的化验单ESR数值不同：请核对。",
            )
            _age(open_query, 12)
            n_queries += 1
        vitals = Vitals.objects.active().filter(visit=visit).first()
        if vitals is not None:
            answered = services.query_open(
                record=vitals,
                user=monitor,
                field_name="weight_kg",
                question="体重与护理记录相差2 kg。",
            )
            services.query_answer(
                query=answered,
                user=coordinator,
                response="护理记录为穿衣称重；CRF中的数值正确。",
            )
            _age(answered, 5)
            n_queries += 1
        for record in [vitals, *LabResult.objects.active().filter(visit=visit)[:3]]:
            if record is not None:
                services.verification_mark(record=record, user=monitor)
    if completed is not None:
        event = AdverseEvent.objects.active().filter(participant=completed).first()
        if event is not None:
            closed = services.query_open(
                record=event,
                user=manager,
                field_name="onset_date",
                question="发生日期早于其所称的前一次输注：请确认。",
            )
            services.query_answer(query=closed, user=coordinator, response="已根据门诊病历确认。")
            services.query_close(query=closed, user=manager, note="谢谢。")
            _age(closed, 40)
            n_queries += 1
        visit = _baseline(completed)
        if visit is not None:
            # The site confirms the out-of-range labs the edit checks queried; the monitor
            # closes them, verifies the visit; the investigator signs; the data manager locks.
            for query in DataQuery.objects.filter(visit=visit, status=QueryStatus.OPEN):
                services.query_answer(
                    query=query,
                    user=coordinator,
                    response="数值已与化验报告核对无误。",
                )
                services.query_close(query=query, user=monitor, note="已与源文件核对。")
            for record in _visit_records(visit):
                services.verification_mark(record=record, user=monitor)
            if password and not services.visit_signoff_refusals(visit):
                services.visit_sign(visit=visit, user=investigator, password=password)
            services.lock_create(
                user=manager,
                participant=completed,
                scope=LockScope.VISIT,
                visit=visit,
                reason="基线数据已清理并签名。",
            )
            lines.append(f"monitoring: {completed.subject_id} baseline verified and locked")
    n_automatic = DataQuery.objects.filter(opened_by__isnull=True).count()
    lines.insert(
        0,
        f"monitoring: {n_queries} demo queries (open, answered, closed) and "
        f"{n_automatic} opened by the automatic edit checks",
    )
    return lines


def _visit_records(visit: Visit) -> list:
    from monitoring.selectors import visit_records

    return visit_records(visit)
