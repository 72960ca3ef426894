"""The treatment engine of NCT06410833: SCH1–SCH3, the EXC10/EXC11 gate and the visits.

Pure Python, no database, no clock: ``build_course(facts)`` is the one function that decides
a participant's phase, Day 0, completion, next event, belimumab plan and deviations; every
page and service asks it (or reads its stored output, ``dosing.models.CourseEvent``).

One module per clause (shared/protocol/PROTOCOL.md):

* ``sch1_rituximab``: rituximab weekly (±2 days), 2 to 4 infusions, walked with SCH2;
* ``sch2_depletion``: B-cell depletion, and which result decides;
* ``sch3_belimumab``: belimumab every 28 days from the first dose actually given;
* ``gate``: EXC10/EXC11 before the first belimumab, and the date it is judged against;
* ``events``: the infusions and the assessment visits (baseline, week 12, week 28);
* ``deviations``: the automatic protocol deviations;
* ``refusals``: the infusions the protocol has no place for;
* ``build``: the course itself; ``facts``: the codes, the inputs and the outputs.
"""

from dosing.engine.build import build_course, completed_on
from dosing.engine.facts import (
    AbsoluteCountUnit,
    BCellResult,
    Course,
    CourseFacts,
    Decision,
    DecisionCode,
    Depletion,
    Deviation,
    DeviationCategory,
    Drug,
    Event,
    EventKind,
    EventStatus,
    Flag,
    FlagCode,
    GateFailure,
    GateOutcome,
    GateResult,
    Infusion,
    LabValue,
    NotDone,
    Phase,
    Refusal,
    RefusalCode,
    VisitDone,
)
from dosing.engine.gate import (
    GATE_TESTS,
    analyte_label,
    analyte_unit,
    belimumab_lab_gate,
    gate_reference_date,
)
from dosing.engine.labels import drug_label, event_label, infusion_visit_code
from dosing.engine.refusals import (
    Judgement,
    check_infusion_allowed,
    judge_infusion,
    not_done_refusal,
)
from dosing.engine.sch2_depletion import (
    b_cell_absolute,
    b_cell_depleted,
    cd19_absolute_in_canonical,
)
from dosing.engine.sch3_belimumab import belimumab_targets, most_belimumab_infusions
from dosing.engine.windows import num

__all__ = [
    "GATE_TESTS",
    "AbsoluteCountUnit",
    "BCellResult",
    "Course",
    "CourseFacts",
    "Decision",
    "DecisionCode",
    "Depletion",
    "Deviation",
    "DeviationCategory",
    "Drug",
    "Event",
    "EventKind",
    "EventStatus",
    "Flag",
    "FlagCode",
    "GateFailure",
    "GateOutcome",
    "GateResult",
    "Infusion",
    "Judgement",
    "LabValue",
    "NotDone",
    "Phase",
    "Refusal",
    "RefusalCode",
    "VisitDone",
    "analyte_label",
    "analyte_unit",
    "b_cell_absolute",
    "b_cell_depleted",
    "belimumab_lab_gate",
    "belimumab_targets",
    "build_course",
    "cd19_absolute_in_canonical",
    "check_infusion_allowed",
    "completed_on",
    "drug_label",
    "event_label",
    "gate_reference_date",
    "infusion_visit_code",
    "judge_infusion",
    "not_done_refusal",
    "most_belimumab_infusions",
    "num",
]
