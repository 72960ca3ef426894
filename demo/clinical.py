"""Demo data of the crf app (called by demo.seed.seed_trial_data, after dosing's).

Every form is filled through the real forms and services, so the demo data passes the
same checks as a site's.  The baseline, week 12 and week 28 visits that are past get the
full set (a spread of ESSDAI changes), infusion visits get vitals and the safety review
(the latest one of the ``belimumab`` child is left to enter, to show on the dashboards),
and the logs get adverse events (one serious acknowledged, one serious not yet) and
concomitant medication with glucocorticoids.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from crf import forms, services
from crf.essdai import DOMAIN_CODES
from crf.models import EssdaiAssessment
from crf.selectors import visit_labs
from dosing.models import Drug, Infusion, Visit, VisitKind
from enrollment.models import Participant
from enrollment.rules import ParticipantStatus
from trialsite import protocol, workflow
from trialsite.audit import audit_context
from trialsite.models import User

# Follow-up visits on their target day (PROTOCOL.md "Visits and assessments").
TIME_POINTS: tuple[tuple[str, int], ...] = (
    (protocol.BASELINE_VISIT_CODE, 0),
    *protocol.ASSESSMENT_VISITS,
)


@dataclass(frozen=True)
class TimePointData:
    essdai: dict[str, int]  # non-zero domain levels; the rest are 0
    esspri: tuple[int, int, int]  # dryness, fatigue, pain
    physician_global: str
    schirmer: str
    saliva: str
    labs: dict[str, str] = field(default_factory=dict)  # overrides of the normal panel


@dataclass(frozen=True)
class Plan:
    weight: str
    height: str
    points: dict[str, TimePointData]


# CD19⁺ B cells at the assessment visits (% of lymphocytes, cells/µL): present before
# rituximab, depleted at week 12, starting to return by week 28 (B-cell recovery).
B_CELLS_AT: dict[str, tuple[str, str]] = {
    protocol.BASELINE_VISIT_CODE: ("14.5", "310"),
    protocol.WEEK_12_VISIT_CODE: ("0.1", "2"),
    protocol.WEEK_28_VISIT_CODE: ("0.9", "18"),
}


# A normal panel in canonical units; each time point overrides what its disease shows.
NORMAL_LABS: dict[str, str] = {
    "wbc": "6.2",
    "neutrophils": "3.4",
    "lymphocytes": "2.1",
    "monocytes": "0.5",
    "eosinophils": "0.2",
    "basophils": "0.03",
    "haemoglobin": "138",  # within every sex and age band of the ranges (boys 12+: 130)
    "platelets": "265",
    "igg": "13.5",
    "iga": "1.8",
    "igm": "1.1",
    "c3": "1.05",
    "c4": "0.18",
    "beta2_microglobulin": "1.9",
    "esr": "14",
    "crp": "2.1",
    "rf": "12",
    "creatinine": "55",  # within every age band (boys 15+: from 50)
}

ACTIVE = TimePointData


PLANS: dict[str, Plan] = {
    # High activity falling to low: MCII at week 12 and 28, composite responder.
    "completed": Plan(
        "41.0",
        "151.0",
        {
            protocol.BASELINE_VISIT_CODE: ACTIVE(
                {
                    "constitutional": 1,
                    "lymphadenopathy": 1,
                    "glandular": 2,
                    "articular": 1,
                    "haematological": 1,
                    "biological": 2,
                },
                (8, 7, 6),
                "6.0",
                "3",
                "0.60",
                {"esr": "38", "igg": "21.5", "rf": "85", "c4": "0.07", "lymphocytes": "0.9"},
            ),
            protocol.WEEK_12_VISIT_CODE: ACTIVE(
                {
                    "lymphadenopathy": 1,
                    "glandular": 1,
                    "articular": 1,
                    "haematological": 1,
                    "biological": 1,
                },
                (6, 5, 3),
                "4.5",
                "4",
                "0.70",
                {"esr": "22", "igg": "19.0", "rf": "64", "c4": "0.09", "lymphocytes": "0.95"},
            ),
            protocol.WEEK_28_VISIT_CODE: ACTIVE(
                {"glandular": 1, "biological": 1},
                (4, 4, 2),
                "2.5",
                "6",
                "0.90",
                {"esr": "12", "igg": "17.8", "rf": "52", "c4": "0.12"},
            ),
        },
    ),
    # Moderate activity, a fall of 2 at week 12: no MCII.
    "belimumab": Plan(
        "31.0",
        "136.5",
        {
            protocol.BASELINE_VISIT_CODE: ACTIVE(
                {"glandular": 1, "articular": 2, "haematological": 1, "biological": 1},
                (7, 6, 5),
                "5.0",
                "5",
                "1.10",
                {"esr": "31", "igg": "17.2", "rf": "40", "platelets": "128"},
            ),
            protocol.WEEK_12_VISIT_CODE: ACTIVE(
                {"glandular": 1, "articular": 1, "haematological": 1, "biological": 1},
                (6, 6, 4),
                "4.0",
                "5",
                "1.20",
                {"esr": "26", "igg": "16.1", "rf": "35", "platelets": "140"},
            ),
        },
    ),
    # High activity falling fast: the largest improvement.
    "completed_responder": Plan(
        "33.0",
        "140.5",
        {
            protocol.BASELINE_VISIT_CODE: ACTIVE(
                {"articular": 2, "cutaneous": 2, "glandular": 1, "biological": 2},
                (7, 8, 7),
                "7.0",
                "2",
                "0.50",
                {"esr": "52", "igg": "24.0", "rf": "140"},
            ),
            protocol.WEEK_12_VISIT_CODE: ACTIVE(
                {"articular": 1, "cutaneous": 1, "glandular": 1, "biological": 1},
                (5, 6, 4),
                "4.0",
                "5",
                "0.80",
                {"esr": "30", "igg": "19.5", "rf": "90"},
            ),
            protocol.WEEK_28_VISIT_CODE: ACTIVE(
                {"glandular": 1, "biological": 1},
                (3, 4, 2),
                "2.0",
                "8",
                "1.10",
                {"esr": "15", "igg": "16.0", "rf": "60"},
            ),
        },
    ),
    # Low activity that does not move: no MCII.
    "completed_stable": Plan(
        "38.5",
        "147.0",
        {
            protocol.BASELINE_VISIT_CODE: ACTIVE(
                {"glandular": 1, "articular": 1, "biological": 1},
                (5, 5, 4),
                "4.0",
                "6",
                "1.00",
                {"esr": "20", "igg": "15.5"},
            ),
            protocol.WEEK_12_VISIT_CODE: ACTIVE(
                {"glandular": 1, "articular": 1, "biological": 1},
                (5, 4, 4),
                "4.0",
                "6",
                "1.00",
                {"esr": "19", "igg": "15.1"},
            ),
            protocol.WEEK_28_VISIT_CODE: ACTIVE(
                {"glandular": 1, "articular": 1, "biological": 1},
                (4, 5, 4),
                "3.5",
                "7",
                "1.05",
                {"esr": "18", "igg": "15.0"},
            ),
        },
    ),
    # Worse at week 28 (a flare): the change is positive.
    "completed_flare": Plan(
        "29.5",
        "133.0",
        {
            protocol.BASELINE_VISIT_CODE: ACTIVE(
                {"glandular": 1, "biological": 1},
                (4, 4, 3),
                "3.0",
                "7",
                "1.20",
                {"esr": "16", "igg": "14.0"},
            ),
            protocol.WEEK_12_VISIT_CODE: ACTIVE(
                {"glandular": 1, "articular": 1, "biological": 1},
                (5, 5, 4),
                "4.0",
                "6",
                "1.10",
                {"esr": "22", "igg": "15.8"},
            ),
            protocol.WEEK_28_VISIT_CODE: ACTIVE(
                {"glandular": 1, "articular": 2, "biological": 2},
                (6, 6, 6),
                "5.5",
                "5",
                "0.90",
                {"esr": "35", "igg": "20.5"},
            ),
        },
    ),
    "rituximab": Plan(
        "34.5",
        "142.0",
        {
            protocol.BASELINE_VISIT_CODE: ACTIVE(
                {"constitutional": 1, "lymphadenopathy": 1, "glandular": 2, "biological": 2},
                (6, 8, 4),
                "6.5",
                "2",
                "0.40",
                {"esr": "45", "igg": "23.0", "rf": "120", "beta2_microglobulin": "3.4"},
            ),
        },
    ),
    "belimumab_deviation": Plan(
        "24.0",
        "124.0",
        {
            protocol.BASELINE_VISIT_CODE: ACTIVE(
                {"renal": 1, "glandular": 1, "biological": 1},
                (5, 5, 3),
                "4.5",
                "6",
                "1.40",
                {"esr": "24", "igg": "16.8", "creatinine": "52"},
            ),
        },
    ),
    "discontinued_gate": Plan(
        "22.5",
        "121.0",
        {
            protocol.BASELINE_VISIT_CODE: ACTIVE(
                {"articular": 2, "glandular": 1},
                (4, 6, 6),
                "4.0",
                "7",
                "1.60",
                {"esr": "29", "igg": "9.1", "c3": "0.82"},
            ),
        },
    ),
}

# Participants the plans above do not know (demo data added later) get these in turn.
_FALLBACK: tuple[TimePointData, ...] = (
    ACTIVE({"glandular": 2, "articular": 1, "biological": 1}, (6, 6, 5), "5.5", "4", "0.9"),
    ACTIVE({"glandular": 1, "biological": 1}, (5, 5, 4), "4.0", "5", "1.0"),
    ACTIVE({"glandular": 1, "articular": 1, "biological": 1}, (5, 6, 4), "4.5", "4", "1.0"),
)


def _plan_for(key: str, index: int) -> Plan:
    if key in PLANS:
        return PLANS[key]
    baseline = _FALLBACK[index % len(_FALLBACK)]
    follow = _FALLBACK[(index + 1) % len(_FALLBACK)]
    return Plan(
        "30.0",
        "135.0",
        {
            protocol.BASELINE_VISIT_CODE: baseline,
            protocol.WEEK_12_VISIT_CODE: follow,
            protocol.WEEK_28_VISIT_CODE: follow,
        },
    )


# --- Helpers --------------------------------------------------------------------------


def _valid(form: Any) -> Any:
    if not form.is_valid():
        raise ValueError(f"demo data refused by {type(form).__name__}: {form.errors.as_json()}")
    return form


def _day_0(participant: Participant) -> date:
    """Day 0 = the first rituximab given, else the planned one (PROTOCOL.md "Time")."""
    first = (
        Infusion.objects.active()
        .filter(participant=participant, drug=Drug.RITUXIMAB)
        .order_by("given_on")
        .values_list("given_on", flat=True)
        .first()
    )
    return first or participant.planned_day_0


def _visit(participant: Participant, code: str, on: date, user: User) -> Visit:
    """The current visit with that code, created only if the dosing demo has not."""
    visit = Visit.objects.active().filter(participant=participant, visit_code=code).first()
    if visit is not None:
        return visit
    kind = VisitKind.BASELINE if code == protocol.BASELINE_VISIT_CODE else VisitKind.ASSESSMENT
    with audit_context(user, "demo data: visit"):
        visit = Visit.objects.create(
            participant=participant,
            visit_code=code,
            kind=kind,
            visit_date=on,
            created_by=user,
            updated_by=user,
        )
        workflow.record_changed(visit, user=user)
    return visit


def _vitals(visit: Visit, plan: Plan, user: User, today: date, temperature: str = "36.7") -> None:
    data = {
        "weight_kg": plan.weight,
        "height_cm": plan.height,
        "temperature_c": temperature,
        "heart_rate_bpm": "92",
        "respiratory_rate": "18",
        "systolic_mmhg": "108",
        "diastolic_mmhg": "68",
    }
    form = forms.VitalsForm(data=data, visit=visit, today=today)
    services.visit_crf_save(form=_valid(form), user=user)


def _review(visit: Visit, user: User, today: date, *, new_events: bool = False) -> None:
    data = {
        "new_adverse_events": str(new_events),
        "medication_changes": "False",
        "notes": "",
    }
    form = forms.SafetyReviewForm(data=data, visit=visit, today=today)
    services.visit_crf_save(form=_valid(form), user=user)


def _full_set(visit: Visit, plan: Plan, point: TimePointData, user: User, today: date) -> None:
    _vitals(visit, plan, user, today)
    levels = {code: str(point.essdai.get(code, 0)) for code in DOMAIN_CODES}
    services.visit_crf_save(
        form=_valid(forms.EssdaiForm(data=levels, visit=visit, today=today)), user=user
    )
    dryness, fatigue, pain = point.esspri
    services.visit_crf_save(
        form=_valid(
            forms.EsspriForm(
                data={"dryness": dryness, "fatigue": fatigue, "pain": pain},
                visit=visit,
                today=today,
            )
        ),
        user=user,
    )
    services.visit_crf_save(
        form=_valid(
            forms.PhysicianGlobalForm(
                data={"score": point.physician_global}, visit=visit, today=today
            )
        ),
        user=user,
    )
    services.visit_crf_save(
        form=_valid(
            forms.GlandFunctionForm(
                data={
                    "schirmer_mm_5min": point.schirmer,
                    "unstimulated_saliva_ml_15min": point.saliva,
                },
                visit=visit,
                today=today,
            )
        ),
        user=user,
    )
    labs = {**NORMAL_LABS, **point.labs}
    existing = visit_labs(visit)
    data: dict[str, str] = {
        "taken_on": visit.visit_date.isoformat(),
        "fingerprint": forms.labs_fingerprint(existing.values()),
    }
    for analyte, value in labs.items():
        data[f"{analyte}_value"] = value
        data[f"{analyte}_unit"] = ""  # the canonical unit
    # IgG as many Chinese laboratories report it, to show the conversion.
    data["igg_value"] = str(Decimal(labs["igg"]) * 100)
    data["igg_unit"] = "mg/dL"
    form = forms.VisitLabsForm(data=data, visit=visit, existing=existing, today=today)
    services.visit_labs_save(form=_valid(form), user=user)
    _review(visit, user, today)


def _b_cells(participant: Participant, visit: Visit, user: User, today: date) -> None:
    """CD19⁺ at an assessment visit, through the dosing app's own service (its table)."""
    from dosing.models import BCellResult
    from dosing.services import b_cell_result_record

    if BCellResult.objects.active().filter(participant=participant, taken_on=visit.visit_date):
        return
    percent, per_ul = B_CELLS_AT[visit.visit_code]
    b_cell_result_record(
        participant=participant,
        user=user,
        taken_on=visit.visit_date,
        cd19_percent=Decimal(percent),
        cd19_absolute_entered=Decimal(per_ul),
        cd19_absolute_unit="cells/uL",
        today=today,
    )


def _adverse_event(participant: Participant, user: User, today: date, data: dict[str, Any]) -> Any:
    form = forms.AdverseEventForm(data={"description": "", **data}, today=today)
    return services.adverse_event_save(form=_valid(form), user=user, participant=participant)


def _con_med(participant: Participant, user: User, today: date, data: dict[str, Any]) -> None:
    form = forms.ConMedForm(data={"route": "oral", "stop_date": "", **data}, today=today)
    services.con_med_save(form=_valid(form), user=user, participant=participant)


def _iso(day: date) -> str:
    return day.isoformat()


# --- Seed ------------------------------------------------------------------------------


def seed(today: date, participants: dict[str, Any]) -> list[str]:
    """Add this app's demo data to the demo participants; returns summary lines."""
    if not participants or EssdaiAssessment.objects.exists():
        return []
    coordinators = {
        code: User.objects.get(username=f"coordinator_{code.lower()}")
        for code in ("PUMCH", "CHCMU")
    }
    n_visits = 0
    for index, key in enumerate(sorted(participants)):
        participant = Participant.objects.select_related("site").get(pk=participants[key].pk)
        user = coordinators.get(participant.site.code) or participant.enrolled_by
        if participant.status == ParticipantStatus.WITHDRAWN:
            continue  # visit forms are closed after withdrawal; safety data below
        plan = _plan_for(key, index)
        day_0 = _day_0(participant)
        for code, offset in TIME_POINTS:
            on = day_0 + timedelta(days=offset)
            if on > today or code not in plan.points:
                continue
            visit = _visit(participant, code, on, user)
            _full_set(visit, plan, plan.points[code], user, today)
            _b_cells(participant, visit, user, today)
            n_visits += 1
        infusion_visits = list(
            Visit.objects.active()
            .filter(participant=participant, kind=VisitKind.INFUSION)
            .order_by("visit_date")
        )
        for visit in infusion_visits:
            _vitals(visit, plan, user, today)
            if key == "belimumab" and visit == infusion_visits[-1]:
                continue  # left to enter: shows on the form-status matrix and dashboard
            _review(visit, user, today)
            n_visits += 1
    _safety_logs(today, participants, coordinators)
    return [
        f"crf: visit forms for {n_visits} visits, adverse events (serious ones alerted),"
        " concomitant medication",
    ]


def _safety_logs(today: date, participants: dict[str, Any], coordinators: dict[str, User]) -> None:
    from crf.models import SeriousAeAlert

    def day(key: str, n: int) -> date:
        return min(_day_0(participants[key]) + timedelta(days=n), today)

    def who(key: str) -> User:
        return coordinators[participants[key].site.code]

    if "completed" in participants:
        p, user = participants["completed"], who("completed")
        _adverse_event(
            p,
            user,
            today,
            {
                "term": "输液相关反应",
                "onset_date": _iso(day("completed", 0)),
                "end_date": _iso(day("completed", 0)),
                "grade": "2",
                "serious": "False",
                "related_rituximab": "probable",
                "related_belimumab": "not_applicable",
                "action_taken": "infusion_interrupted",
                "outcome": "recovered",
                "description": "首次利妥昔单抗输注开始40 min后出现寒战和潮红。",
            },
        )
        infection = _adverse_event(
            p,
            user,
            today,
            {
                "term": "肺部感染",
                "onset_date": _iso(day("completed", 100)),
                "end_date": _iso(day("completed", 110)),
                "grade": "3",
                "serious": "True",
                "serious_criteria": ["hospitalisation"],
                "related_rituximab": "possible",
                "related_belimumab": "possible",
                "action_taken": "dose_delayed",
                "outcome": "recovered",
                "description": "社区获得性肺炎，静脉抗生素治疗7天。",
            },
        )
        update = forms.AdverseEventUpdateForm(
            data={
                "reported_on": _iso(day("completed", 110)),
                "grade": "",
                "outcome": "recovered",
                "notes": "已出院；胸片未见异常。",
            },
            adverse_event=infection,
            today=today,
        )
        services.adverse_event_update_add(form=_valid(update), user=user)
        alert = SeriousAeAlert.objects.get(adverse_event=infection)
        for recipient in alert.recipients.all():
            services.sae_alert_acknowledge(alert=alert, user=recipient)
        _con_med(
            p,
            user,
            today,
            {
                "drug": "prednisone",
                "dose": "10",
                "dose_unit": "mg",
                "frequency": "qd",
                "start_date": _iso(day("completed", -120)),
                "stop_date": _iso(day("completed", 83)),
                "indication": "干燥综合征疾病活动",
            },
        )
        _con_med(
            p,
            user,
            today,
            {
                "drug": "prednisone",
                "dose": "5",
                "dose_unit": "mg",
                "frequency": "qd",
                "start_date": _iso(day("completed", 84)),
                "stop_date": _iso(day("completed", 180)),
                "indication": "干燥综合征疾病活动（减量中）",
            },
        )
        _con_med(
            p,
            user,
            today,
            {
                "drug": "hydroxychloroquine",
                "dose": "200",
                "dose_unit": "mg",
                "frequency": "qd",
                "start_date": _iso(day("completed", -200)),
                "indication": "干燥综合征",
            },
        )

    if "belimumab" in participants:
        p, user = participants["belimumab"], who("belimumab")
        _adverse_event(
            p,
            user,
            today,
            {
                "term": "发热性中性粒细胞减少",
                "onset_date": _iso(today - timedelta(days=3)),
                "grade": "3",
                "serious": "True",
                "serious_criteria": ["hospitalisation", "important_medical_event"],
                "related_rituximab": "probable",
                "related_belimumab": "unlikely",
                "action_taken": "dose_delayed",
                "outcome": "recovering",
                "description": "发热38.9 °C，中性粒细胞0.4 ×10⁹/L；住院静脉抗生素治疗。",
            },
        )
        _con_med(
            p,
            user,
            today,
            {
                "drug": "methylprednisolone",
                "dose": "8",
                "dose_unit": "mg",
                "frequency": "qd",
                "start_date": _iso(day("belimumab", -60)),
                "indication": "关节炎",
            },
        )

    if "rituximab" in participants:
        p, user = participants["rituximab"], who("rituximab")
        _con_med(
            p,
            user,
            today,
            {
                "drug": "prednisone",
                "dose": "15",
                "dose_unit": "mg",
                "frequency": "qd",
                "start_date": _iso(day("rituximab", -30)),
                "indication": "腮腺肿大",
            },
        )

    if "belimumab_deviation" in participants:
        p, user = participants["belimumab_deviation"], who("belimumab_deviation")
        _adverse_event(
            p,
            user,
            today,
            {
                "term": "上呼吸道感染",
                "onset_date": _iso(day("belimumab_deviation", 20)),
                "end_date": _iso(day("belimumab_deviation", 26)),
                "grade": "1",
                "serious": "False",
                "related_rituximab": "unlikely",
                "related_belimumab": "not_applicable",
                "action_taken": "none",
                "outcome": "recovered",
            },
        )
        _con_med(
            p,
            user,
            today,
            {
                "drug": "prednisolone",
                "dose": "7.5",
                "dose_unit": "mg",
                "frequency": "qd",
                "start_date": _iso(day("belimumab_deviation", -90)),
                "indication": "肾小管酸中毒伴间质性肾炎",
            },
        )

    if "withdrawn" in participants:
        # Safety follow-up is still recorded after consent withdrawal.
        p, user = participants["withdrawn"], who("withdrawn")
        _adverse_event(
            p,
            user,
            today,
            {
                "term": "荨麻疹",
                "onset_date": _iso(day("withdrawn", 8)),
                "end_date": _iso(day("withdrawn", 10)),
                "grade": "1",
                "serious": "False",
                "related_rituximab": "possible",
                "related_belimumab": "not_applicable",
                "action_taken": "none",
                "outcome": "recovered",
            },
        )
        _con_med(
            p,
            user,
            today,
            {
                "drug": "cetirizine",
                "dose": "10",
                "dose_unit": "mg",
                "frequency": "qd",
                "start_date": _iso(day("withdrawn", 8)),
                "stop_date": _iso(day("withdrawn", 12)),
                "indication": "荨麻疹",
            },
        )
