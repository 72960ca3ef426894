"""Dosing facts built through the real services: a child, and what happened to it.

``Course`` reads like the protocol: ``course.day_0().rituximab(0, 7).b_cells(10, "0.3")``;
every call is made with ``today`` set to the day of the event (as a site entering data
on the day), dates are study days from the participant's planned Day 0.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

import factory

from demo.participants import enrol_candidate
from dosing import services
from dosing.models import BCellResult, Drug, Infusion, Prescription
from enrollment.models import Participant
from tests.factories.eligibility import ServiceFactory
from tests.factories.enrollment import ParticipantFactory
from tests.factories.trialsite import PASSWORD
from trialsite.models import Site, User

WEIGHT = Decimal("32.0")
HEIGHT = Decimal("138.0")
PASSING_LABS = {"igg": "6.2", "iga": "0.8", "wbc": "5.1", "neutrophils": "2.4"}
LAB_UNITS = {"igg": "g/L", "iga": "g/L", "wbc": "10^9/L", "neutrophils": "10^9/L"}


def make_participant(*, site: Site, coordinator: User, investigator: User, day_0: date):
    """An enrolled participant whose planned Day 0 is ``day_0`` (enrolled a week before)."""
    return enrol_candidate(
        site=site,
        coordinator=coordinator,
        investigator=investigator,
        investigator_password=PASSWORD,
        day_0=day_0,
    )


@dataclass
class Course:
    participant: Participant
    coordinator: User
    investigator: User

    @property
    def day_0_date(self) -> date:
        return self.participant.planned_day_0

    def day(self, n: int) -> date:
        return self.day_0_date + timedelta(days=n)

    def refresh(self) -> Participant:
        self.participant = Participant.objects.get(pk=self.participant.pk)
        return self.participant

    # --- the steps ------------------------------------------------------------------

    def day_0(self, n: int = 0, *, live_vaccine: date | None = None, visit: bool = True):
        services.day_0_confirmation_record(
            participant=self.participant,
            user=self.investigator,
            confirmed_on=self.day(n),
            chronic_infection_suppressive_therapy=False,
            infection_hospitalisation_last_date=None,
            parenteral_antimicrobials_last_date=None,
            live_vaccine_date=live_vaccine,
            high_infection_risk=False,
            today=self.day(n),
        )
        if visit:
            self.visit("BASELINE", n)
        return self

    def prescribe(
        self,
        drug: str,
        n: int,
        *,
        dose: Decimal | None = None,
        reason: str = "",
        measured: int | None = None,
        today: int | None = None,
    ) -> Prescription:
        proposal = services.propose_dose(drug, weight_kg=WEIGHT, height_cm=HEIGHT)
        today = n if today is None else today
        measured = min(n, today) if measured is None else measured
        return services.prescription_create(
            participant=self.participant,
            user=self.investigator,
            password=PASSWORD,
            drug=drug,
            planned_on=self.day(n),
            weight_kg=WEIGHT,
            height_cm=HEIGHT,
            anthropometry_measured_on=self.day(measured),
            prescribed_dose_mg=proposal.dose_mg if dose is None else dose,
            dose_difference_reason=reason,
            today=self.day(today),
        )

    def give(
        self,
        prescription: Prescription,
        n: int,
        *,
        administered: Decimal | None = None,
        reason: str = "",
        today: int | None = None,
    ) -> Infusion:
        return services.infusion_record(
            participant=self.participant,
            user=self.coordinator,
            prescription=prescription,
            given_on=self.day(n),
            administered_dose_mg=(
                prescription.prescribed_dose_mg if administered is None else administered
            ),
            dose_difference_reason=reason,
            lot_number="LOT-1",
            today=self.day(n if today is None else today),
        )

    def infuse(self, drug: str, *days: int):
        for n in days:
            self.give(self.prescribe(drug, n), n)
        self.refresh()
        return self

    def rituximab(self, *days: int):
        return self.infuse(Drug.RITUXIMAB, *days)

    def belimumab(self, *days: int):
        return self.infuse(Drug.BELIMUMAB, *days)

    def b_cells(self, n: int, percent: str | None = None, absolute: str | None = None):
        services.b_cell_result_record(
            participant=self.participant,
            user=self.coordinator,
            taken_on=self.day(n),
            cd19_percent=None if percent is None else Decimal(percent),
            cd19_absolute_entered=None if absolute is None else Decimal(absolute),
            cd19_absolute_unit="10e6/L",
            today=self.day(n),
        )
        return self

    def depleted(self, n: int):
        return self.b_cells(n, "0.3", "5")

    def not_depleted(self, n: int):
        return self.b_cells(n, "2.1", "35")

    def labs(self, n: int, **values: str):
        entries = [
            services.LabEntry(code, Decimal(value), LAB_UNITS[code], self.day(n))
            for code, value in {**PASSING_LABS, **values}.items()
        ]
        services.gate_labs_record(
            participant=self.participant, user=self.coordinator, entries=entries, today=self.day(n)
        )
        return self

    def visit(self, code: str, n: int, explanation: str = ""):
        services.visit_record(
            participant=self.participant,
            user=self.coordinator,
            visit_code=code,
            visit_date=self.day(n),
            out_of_window_explanation=explanation,
            today=self.day(n),
        )
        return self


def make_course(
    *, site: Site, coordinator: User, investigator: User, day_0: date = date(2026, 3, 2)
) -> Course:
    participant = make_participant(
        site=site, coordinator=coordinator, investigator=investigator, day_0=day_0
    )
    return Course(participant, coordinator, investigator)


def ready_for_belimumab(course: Course) -> Course:
    """Day 0 confirmed, rituximab on days 0 and 7, depleted on day 10: belimumab 1 due day 35."""
    return course.day_0().rituximab(0, 7).depleted(10)


# --- factory-boy factories ---------------------------------------------------------------


class BCellResultFactory(ServiceFactory):
    """A CD19⁺ result entered on the day of the sample (``b_cell_result_record``).

    BCellResultFactory(participant=p, taken_on=d, cd19_percent=Decimal("0.3"))
    """

    class Meta:
        model = BCellResult

    class Params:
        user = None

    participant = factory.SubFactory(ParticipantFactory)
    taken_on = factory.LazyAttribute(lambda o: o.participant.planned_day_0 + timedelta(days=10))
    cd19_percent = Decimal("0.3")
    cd19_absolute_entered = None
    cd19_absolute_unit = ""
    lymphocytes_10e9_l = None
    created_by = factory.SelfAttribute("user")

    @classmethod
    def _create(cls, model_class, *, participant, created_by=None, **values) -> BCellResult:
        return services.b_cell_result_record(
            participant=participant,
            user=created_by or participant.enrolled_by,
            today=values["taken_on"],
            **values,
        )
