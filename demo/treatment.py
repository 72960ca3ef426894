"""Demo data of the dosing app (called by demo.seed.seed_trial_data).

Each demo participant gets what its key says, entered through the real services in
the order it happened: every call is made with ``today`` set to the day of the event,
as a site entering data on the day would, so the schedule (and its automatic
deviations) sees what the site saw at the time.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, time, timedelta
from decimal import Decimal
from typing import Any

from dosing import services
from dosing.models import Drug, Premedication
from enrollment.models import Participant
from enrollment.services import withdraw_consent
from trialsite import protocol
from trialsite.models import User

# The study day of each assessment visit (on its target).
WEEK_DAYS = dict(protocol.ASSESSMENT_VISITS)


@dataclass
class _Site:
    coordinator: User
    investigator: User
    password: str


@dataclass
class _Child:
    participant: Participant
    staff: _Site
    weight: Decimal
    height: Decimal
    # Entered late: every record is entered on this day (the site's data entry), not on
    # the day it happened.
    entered: date | None = None

    def day(self, n: int) -> date:
        return self.participant.planned_day_0 + timedelta(days=n)

    def entry_day(self, n: int) -> date:
        """The "today" of the write recording what happened on study day ``n``."""
        return self.entered or self.day(n)


def _staff(site_code: str, password: str) -> _Site:
    return _Site(
        User.objects.get(username=f"coordinator_{site_code.lower()}"),
        User.objects.get(username=f"investigator_{site_code.lower()}"),
        password,
    )


def _day_0(child: _Child) -> None:
    on = child.day(0)
    services.day_0_confirmation_record(
        participant=child.participant,
        user=child.staff.investigator,
        confirmed_on=on,
        chronic_infection_suppressive_therapy=False,
        infection_hospitalisation_last_date=None,
        parenteral_antimicrobials_last_date=None,
        live_vaccine_date=None,
        high_infection_risk=False,
        today=child.entered or on,
    )
    services.visit_record(
        participant=child.participant,
        user=child.staff.coordinator,
        visit_code=protocol.BASELINE_VISIT_CODE,
        visit_date=on,
        today=child.entered or on,
    )


def _infuse(child: _Child, drug: str, n: int, lot: str) -> None:
    on = child.day(n)
    proposal = services.propose_dose(drug, weight_kg=child.weight, height_cm=child.height)
    prescription = services.prescription_create(
        participant=child.participant,
        user=child.staff.investigator,
        password=child.staff.password,
        drug=drug,
        planned_on=on,
        weight_kg=child.weight,
        height_cm=child.height,
        anthropometry_measured_on=on,
        prescribed_dose_mg=proposal.dose_mg,
        today=child.entered or on,
    )
    rituximab = drug == Drug.RITUXIMAB
    services.infusion_record(
        participant=child.participant,
        user=child.staff.coordinator,
        prescription=prescription,
        given_on=on,
        start_time=time(9, 0),
        stop_time=time(14, 30) if rituximab else time(10, 15),
        administered_dose_mg=prescription.prescribed_dose_mg,
        lot_number=lot,
        premedication=(
            [Premedication.ANTIPYRETIC, Premedication.ANTIHISTAMINE, Premedication.GLUCOCORTICOID]
            if rituximab
            else [Premedication.ANTIHISTAMINE]
        ),
        today=child.entered or on,
    )


def _rituximab(child: _Child, *days: int) -> None:
    for n in days:
        _infuse(child, Drug.RITUXIMAB, n, "RTX-H0421")


def _belimumab(child: _Child, *days: int) -> None:
    for n in days:
        _infuse(child, Drug.BELIMUMAB, n, "BEL-7C112")


def _b_cells(child: _Child, n: int, percent: str, per_ul: str) -> None:
    services.b_cell_result_record(
        participant=child.participant,
        user=child.staff.coordinator,
        taken_on=child.day(n),
        cd19_percent=Decimal(percent),
        cd19_absolute_entered=Decimal(per_ul),
        cd19_absolute_unit="cells/uL",
        today=child.entry_day(n),
    )


def _gate_labs(child: _Child, n: int, igg: str, iga: str, wbc: str, neutrophils: str) -> None:
    on = child.day(n)
    services.gate_labs_record(
        participant=child.participant,
        user=child.staff.coordinator,
        entries=[
            services.LabEntry("igg", Decimal(igg), "g/L", on),
            services.LabEntry("iga", Decimal(iga), "g/L", on),
            services.LabEntry("wbc", Decimal(wbc), "10^9/L", on),
            services.LabEntry("neutrophils", Decimal(neutrophils), "10^9/L", on),
        ],
        today=child.entered or on,
    )


def _visit(child: _Child, code: str, n: int) -> None:
    services.visit_record(
        participant=child.participant,
        user=child.staff.coordinator,
        visit_code=code,
        visit_date=child.day(n),
        today=child.entry_day(n),
    )


def seed(today: date, participants: dict[str, Any], password: str | None = None) -> list[str]:
    """Add this app's demo data to the demo participants; returns summary lines."""
    if not participants:
        return []
    if password is None:
        from demo.seed import DEMO_PASSWORD

        password = DEMO_PASSWORD
    staff = {code: _staff(code, password) for code in ("PUMCH", "CHCMU")}

    def child(key: str, weight: str, height: str) -> _Child:
        participant = participants[key]
        return _Child(participant, staff[participant.site.code], Decimal(weight), Decimal(height))

    # enrolled: nothing yet (Day 0 is ahead).

    # rituximab: two infusions, the B-cell result after the second is awaited.
    c = child("rituximab", "34.5", "142.0")
    _day_0(c)
    _rituximab(c, 0, 7)

    # belimumab: depleted after 2, gate labs pass, 2 belimumab given, week 12 overdue.
    c = child("belimumab", "31.0", "136.5")
    _day_0(c)
    _rituximab(c, 0, 7)
    _b_cells(c, 10, "0.2", "3")
    _gate_labs(c, 31, "7.1", "0.9", "5.4", "2.8")
    _belimumab(c, 35, 63)

    # completed: not depleted after 2, depleted after 3, six belimumab, W12 and W28.
    for key, weight, height in (
        ("completed", "41.0", "151.0"),
        ("completed_stable", "38.5", "147.0"),
        ("completed_responder", "33.0", "140.5"),
        ("completed_flare", "29.5", "133.0"),
    ):
        if key not in participants:
            continue
        c = child(key, weight, height)
        _day_0(c)
        _rituximab(c, 0, 7)
        _b_cells(c, 10, "2.1", "35")
        _rituximab(c, 14)
        _b_cells(c, 17, "0.3", "6")
        _gate_labs(c, 40, "6.4", "0.7", "6.1", "3.3")
        _belimumab(c, 42, 70)
        _visit(c, protocol.WEEK_12_VISIT_CODE, WEEK_DAYS[protocol.WEEK_12_VISIT_CODE])
        _belimumab(c, 98, 126, 154, 182)
        _visit(c, protocol.WEEK_28_VISIT_CODE, WEEK_DAYS[protocol.WEEK_28_VISIT_CODE])

    # belimumab_deviation: first belimumab 5 days late (window ±3) -> automatic deviation.
    c = child("belimumab_deviation", "24.0", "124.0")
    _day_0(c)
    _rituximab(c, 0, 7)
    _b_cells(c, 9, "0.1", "2")
    _gate_labs(c, 36, "5.2", "0.4", "4.4", "2.0")
    _belimumab(c, 40, 68)

    # discontinued_gate: rituximab complete after 3, IgG below 4 g/L -> discontinued.
    c = child("discontinued_gate", "22.5", "121.0")
    _day_0(c)
    _rituximab(c, 0, 7)
    _b_cells(c, 10, "1.8", "40")
    _rituximab(c, 14)
    _b_cells(c, 17, "0.2", "4")
    _gate_labs(c, 38, "3.2", "0.5", "4.0", "1.9")
    services.gate_failure_confirm(participant=c.participant, user=c.staff.investigator, today=today)

    # awaiting_first_belimumab: depleted after 2; today is day 30, the first belimumab is
    # due on day 35 (window 32-38) and its EXC10/EXC11 labs are not taken yet (gate pending).
    c = child("awaiting_first_belimumab", "27.0", "131.0")
    _day_0(c)
    _rituximab(c, 0, 7)
    _b_cells(c, 11, "0.2", "4")

    # withdrawn: two rituximab, not depleted, then the guardian withdrew consent.
    c = child("withdrawn", "48.0", "160.0")
    _day_0(c)
    _rituximab(c, 0, 7)
    _b_cells(c, 10, "3.5", "90")
    withdraw_consent(
        participant=c.participant,
        user=c.staff.coordinator,
        withdrawn_on=c.day(12),
        data_may_be_kept=True,
        notes="家庭移居国外。",
    )

    # late_entry: treated seven months ago, her paper CRFs entered only today: Day 0, two
    # rituximab, depletion, the gate labs and the first belimumab so far.  Belimumab 2
    # onwards and week 12 are "not recorded", never missed by time alone; treatment is not
    # complete (issue 15).
    if "late_entry" in participants:
        c = child("late_entry", "30.0", "138.0")
        c.entered = today
        _day_0(c)
        _rituximab(c, 0, 7)
        _b_cells(c, 10, "0.2", "3")
        _gate_labs(c, 33, "6.8", "0.8", "5.2", "2.6")
        _belimumab(c, 35)

    for participant in participants.values():
        services.deviations_sync(participant=participant, user=None, today=today)
    return [
        "dosing: Day 0 confirmations, prescriptions, infusions, B-cell results, gate labs,"
        " visits and deviations for the treated demo participants",
    ]
