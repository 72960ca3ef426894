"""Synthetic trial data at scale, for ``make bench`` and the query-budget tests.

``generate()`` writes what a site would have entered for each participant, in the
volumes a real course produces: a screening with every item, its labs and prior
therapies, consent (and assent), the investigator's eligibility signature, the
enrolment, Day 0, four rituximab and six belimumab infusions (each with its visit,
e-signed prescription and infusion record), B-cell results, the pre-belimumab gate
labs, the baseline, week 12 and week 28 visits with ESSDAI, ESSPRI, physician global,
gland function, vitals and the lab panel, vitals and the safety review at every
infusion visit, a few adverse events (some serious, alerted and acknowledged) and
concomitant medications, automatic deviations, and some edits with a reason (so the
audit trail has updates, not only inserts).  Screen failures are added beside them.

Fast: rows go in with ``COPY ... FROM STDIN``, a few hundred participants per
transaction.  The audit triggers (django-pghistory) fire for every row, as they
would for a site's entries, and the audit context (who, why) is set for each batch.
Dates are placed relative to ``today``: enrolments are spread over ``span_days``, so
most participants have finished and the most recent ones are mid-course.

The protocol's own code decides what the data means: the schedule engine computes
each participant's phase and automatic deviations, the dose rules the proposed doses,
the criteria the screening assessment, the signature module the signed hashes.

Not for a database with real data: it assigns primary keys from the sequences' current
values and assumes it is the only writer while it runs.
"""

from __future__ import annotations

import json
import random
import time as clock
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.contrib.postgres.fields import ArrayField
from django.db import connection, models, transaction

from crf import essdai
from crf.models import (
    AdverseEvent,
    AdverseEventUpdate,
    ConcomitantMedication,
    EssdaiAssessment,
    EsspriAssessment,
    GlandFunction,
    PhysicianGlobal,
    SaeAcknowledgement,
    SafetyReview,
    SeriousAeAlert,
    Vitals,
)
from crf.services import outcome_state_rebuild, visit_forms_rebuild
from demo.screenings import ELIGIBLE_ITEMS, ELIGIBLE_LABS
from dosing import engine
from dosing.models import (
    BCellResult,
    Day0Confirmation,
    Deviation,
    Infusion,
    LabResult,
    Premedication,
    Prescription,
    Visit,
    VisitKind,
)
from dosing.services import propose_dose
from dosing.stored_course import courses_rebuild
from eligibility.classification import Serology
from eligibility.criteria import ScreeningFacts, assent_required, exc5_infection
from eligibility.models import PriorTherapy, Screening, ScreeningLab, ScreeningStatus
from eligibility.selectors import assessment_for, signature_payload
from enrollment.models import (
    Consent,
    ConsentFormVersion,
    ConsentKind,
    ConsentWithdrawal,
    Participant,
    StatusChange,
)
from enrollment.rules import DiscontinuationReason, ParticipantStatus
from trialsite import dbcopy, protocol, units
from trialsite.models import Signature, SignatureMeaning, Site, User
from trialsite.signatures import seal

GENERATOR_VERSION = 1
DEFAULT_SPAN_DAYS = 3 * 365
DEFAULT_BATCH = 250

# Of 100 enrolled participants, how many also had a screen failure at the site, and how
# many stop early (consent withdrawn; discontinued by the investigator).
SCREEN_FAILURES_PER_100 = 25
WITHDRAWN_PER_100 = 3
DISCONTINUED_PER_100 = 3
# Of 100 participants, how many had a belimumab infusion 5 days late (window +-3).
LATE_BELIMUMAB_PER_100 = 5
# Of 100 saved forms, how many were later corrected with a reason (audit updates).
CORRECTED_PER_100 = 8
# Forms of visits younger than this are entered only in part (data-entry lag).
ENTRY_LAG_DAYS = 10

# --- COPY plumbing ---------------------------------------------------------------------


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")


def _array(values: Iterable[object]) -> str:
    items = ",".join('"' + str(v).replace("\\", "\\\\").replace('"', '\\"') + '"' for v in values)
    return _escape("{" + items + "}")


def _formatter(model_field: models.Field) -> Callable[[object], str]:
    if isinstance(model_field, ArrayField):
        return _array
    if isinstance(model_field, models.JSONField):
        return lambda value: _escape(json.dumps(value))
    if isinstance(model_field, models.BooleanField):
        return lambda value: "t" if value else "f"
    if isinstance(model_field, models.DateField | models.TimeField):  # DateTimeField too
        return lambda value: value.isoformat()
    if isinstance(model_field, models.DecimalField | models.IntegerField | models.ForeignKey):
        return str
    return lambda value: _escape(str(value))


class Table:
    """Rows of one model, buffered as COPY text and written with ``COPY FROM STDIN``."""

    def __init__(self, model: type[models.Model]) -> None:
        self.model = model
        self.name = model._meta.db_table
        fields = list(model._meta.concrete_fields)
        self.attnames = [f.attname for f in fields]
        self.columns = ", ".join(connection.ops.quote_name(f.column) for f in fields)
        self.formatters = [_formatter(f) for f in fields]
        self.defaults = {f.attname: f.get_default() for f in fields}
        self.buffer: list[str] = []
        self.count = 0
        self.next_id = 1

    def start_ids(self) -> None:
        """Continue after the highest id the sequence handed out."""
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_get_serial_sequence(%s, 'id')", [self.name])
            (sequence,) = cursor.fetchone()
            cursor.execute(f"SELECT last_value, is_called FROM {sequence}")
            last, called = cursor.fetchone()
        self.sequence = sequence
        self.next_id = last + 1 if called else last

    def add(self, **values: object) -> int:
        pk = values.get("id")
        if pk is None:
            pk = values["id"] = self.next_id
            self.next_id += 1
        cells = []
        for attname, fmt in zip(self.attnames, self.formatters, strict=True):
            value = values[attname] if attname in values else self.defaults.get(attname)
            cells.append("\\N" if value is None else fmt(value))
        self.buffer.append("\t".join(cells) + "\n")
        return pk

    def flush(self, cursor) -> int:
        if not self.buffer:
            return 0
        dbcopy.copy_in(
            cursor, f'COPY "{self.name}" ({self.columns}) FROM STDIN', "".join(self.buffer)
        )
        written = len(self.buffer)
        self.count += written
        self.buffer = []
        cursor.execute("SELECT setval(%s, %s)", [self.sequence, self.next_id - 1])
        return written


# --- The people and the places -----------------------------------------------------------


@dataclass(frozen=True)
class Staff:
    """Who enters and signs at a site."""

    coordinator: User
    investigator: User


@dataclass
class Report:
    participants: int = 0
    screenings: int = 0
    rows: dict[str, int] = field(default_factory=dict)
    audit_events: int = 0
    seconds: float = 0.0
    not_eligible: int = 0  # enrolled candidates the criteria would refuse (should stay 0)

    @property
    def total_rows(self) -> int:
        return sum(self.rows.values())

    @property
    def rows_per_second(self) -> float:
        return (self.total_rows + self.audit_events) / self.seconds if self.seconds else 0.0


# --- Value generators ---------------------------------------------------------------------

NORMAL_LABS: dict[str, tuple[float, float, int]] = {
    # analyte: (mean, spread, decimal places), canonical units
    "wbc": (6.2, 1.5, 1),
    "neutrophils": (3.4, 1.0, 1),
    "lymphocytes": (2.0, 0.5, 2),
    "monocytes": (0.5, 0.15, 2),
    "eosinophils": (0.2, 0.08, 2),
    "basophils": (0.03, 0.01, 2),
    "haemoglobin": (125, 10, 0),
    "platelets": (260, 50, 0),
    "igg": (15.0, 3.5, 1),
    "iga": (1.8, 0.5, 2),
    "igm": (1.1, 0.3, 2),
    "c3": (1.0, 0.2, 2),
    "c4": (0.17, 0.05, 2),
    "beta2_microglobulin": (2.0, 0.5, 1),
    "esr": (20, 10, 0),
    "crp": (3.0, 2.0, 1),
    "rf": (30, 25, 0),
    "creatinine": (48, 8, 0),
}

ADVERSE_EVENTS = (
    # term, grade, serious criteria, related to rituximab, action, days after Day 0
    ("Upper respiratory infection", 1, (), "unlikely", "none", 40),
    ("Infusion related reaction", 2, (), "probable", "infusion_interrupted", 0),
    ("Urticaria", 1, (), "possible", "none", 8),
    ("Neutropenia", 3, (), "possible", "dose_delayed", 60),
    ("Lung infection", 3, ("hospitalisation",), "possible", "dose_delayed", 100),
    ("Febrile neutropenia", 3, ("hospitalisation", "important_medical_event"), "probable",
     "dose_delayed", 70),
    ("Headache", 1, (), "unlikely", "none", 90),
)  # fmt: skip

CON_MEDS = (
    # drug, dose, unit, frequency, indication, start (days from Day 0), stop (or None)
    ("hydroxychloroquine", "200", "mg", "qd", "Sjögren's syndrome", -300, None),
    ("prednisone", "10", "mg", "qd", "Sjögren's disease activity", -120, 83),
    ("prednisone", "5", "mg", "qd", "Sjögren's disease activity (tapering)", 84, 180),
    ("cetirizine", "10", "mg", "prn", "Urticaria", 8, 12),
    ("artificial tears", "1", "other", "tid", "Dry eyes (one drop each eye)", -400, None),
)


def _decimal(value: float, places: int) -> Decimal:
    return Decimal(str(round(value, places))) if places else Decimal(int(round(value)))


def _essdai_levels(rng: random.Random, activity: float) -> dict[str, int]:
    """Domain levels for a disease of ``activity`` (0 none .. 1 high): every level is one
    the domain has (the database refuses any other)."""
    levels = {}
    for domain in essdai.DOMAINS:
        allowed = sorted(domain.allowed_levels)
        if rng.random() < activity * 0.6:
            levels[domain.code] = allowed[min(len(allowed) - 1, 1 + int(rng.random() * 2))]
        else:
            levels[domain.code] = 0
    return levels


@dataclass
class Course:
    """What happened to one participant, as dates (from the protocol's schedule)."""

    day_0: date
    rituximab: list[date]
    belimumab: list[date]
    b_cells: list[tuple[date, Decimal, Decimal]]  # taken on, %, absolute x10^6/L
    gate_labs_on: date | None
    visits: dict[str, date]  # BASELINE, W12, W28
    stopped: tuple[str, date] | None  # ("withdrawn" | "discontinued", on)


def plan_course(rng: random.Random, day_0: date, today: date) -> Course:
    """Four rituximab (weekly, +-2 days), B cells after the second, third and fourth (depleted
    after the fourth), gate labs within 10 days before the first belimumab, six belimumab
    every 28 days, the assessment visits; cut at ``today`` or where the participant stopped."""
    rituximab = [day_0]
    for _n in range(protocol.RITUXIMAB_MAX_INFUSIONS - 1):
        rituximab.append(rituximab[-1] + timedelta(days=7 + rng.choice((-1, 0, 0, 0, 1))))
    b_cells: list[tuple[date, Decimal, Decimal]] = []
    for index, given in enumerate(rituximab[1:], start=2):
        depleted = index == protocol.RITUXIMAB_MAX_INFUSIONS
        percent = Decimal(
            str(round(rng.uniform(0.05, 0.4) if depleted else rng.uniform(0.8, 4), 2))
        )
        absolute = Decimal(rng.randint(1, 15) if depleted else rng.randint(25, 120))
        b_cells.append((given + timedelta(days=3), percent, absolute))
    first_target = rituximab[-1] + timedelta(days=protocol.BELIMUMAB_FIRST_OFFSET_DAYS)
    first = first_target + timedelta(days=rng.choice((-1, 0, 0, 0, 1)))
    targets = engine.belimumab_targets(first_target, first, day_0)
    late = rng.randrange(100) < LATE_BELIMUMAB_PER_100
    belimumab = [first]
    for index, target in enumerate(targets[1:], start=2):
        shift = 5 if late and index == 2 else rng.choice((-1, 0, 0, 1))
        belimumab.append(target + timedelta(days=shift))
    visits = {protocol.BASELINE_VISIT_CODE: day_0}
    for code, day in protocol.ASSESSMENT_VISITS:
        visits[code] = day_0 + timedelta(days=day + rng.choice((-2, -1, 0, 0, 1, 2)))
    stopped = None
    roll = rng.randrange(100)
    if roll < WITHDRAWN_PER_100 + DISCONTINUED_PER_100:
        kind = "withdrawn" if roll < WITHDRAWN_PER_100 else "discontinued"
        stopped = (kind, day_0 + timedelta(days=rng.randint(10, 150)))
    end = today if stopped is None else min(today, stopped[1])
    if stopped is not None and stopped[1] > today:
        stopped = None
    return Course(
        day_0=day_0,
        rituximab=[d for d in rituximab if d <= end],
        belimumab=[d for d in belimumab if d <= end],
        b_cells=[b for b in b_cells if b[0] <= end],
        gate_labs_on=first_target - timedelta(days=rng.randint(2, 8)),
        visits={code: on for code, on in visits.items() if on <= end},
        stopped=stopped,
    )


# --- The generator ------------------------------------------------------------------------


class Generator:
    """Builds the rows of a batch of participants and writes them with COPY."""

    def __init__(self, *, today: date, seed: int) -> None:
        self.today = today
        self.rng = random.Random(seed)
        self.tz = ZoneInfo(settings.TIME_ZONE)
        self.data_managers = list(
            User.objects.filter(groups__name="Data manager", is_active=True).order_by("pk")
        )
        self.consent_version, self.assent_version = _consent_versions()
        self.content_types = {
            model: ContentType.objects.get_for_model(model).pk
            for model in (Screening, Prescription)
        }
        self.tables = {
            model: Table(model)
            for model in (
                Screening,
                ScreeningLab,
                PriorTherapy,
                Consent,
                Signature,
                Participant,
                StatusChange,
                ConsentWithdrawal,
                Day0Confirmation,
                Visit,
                Prescription,
                Infusion,
                BCellResult,
                LabResult,
                Vitals,
                EssdaiAssessment,
                EsspriAssessment,
                PhysicianGlobal,
                GlandFunction,
                SafetyReview,
                AdverseEvent,
                AdverseEventUpdate,
                SeriousAeAlert,
                SeriousAeAlert.recipients.through,
                SaeAcknowledgement,
                ConcomitantMedication,
                Deviation,
            )
        }
        for table in self.tables.values():
            table.start_ids()
        # Corrections made after entry (audit "update" events), per table.
        self.corrections: dict[type[models.Model], list[int]] = {}
        self.screenings_enrolled: list[int] = []
        # The subject ID of each participant row (prescription signatures cover it).
        self.subject_ids: dict[int, str] = {}
        self.status_updates: list[tuple[int, str]] = []
        # Enrolled candidates the criteria would not find eligible (should stay 0).
        self.not_eligible = 0

    # --- helpers ---------------------------------------------------------------------

    def at(self, day: date, hour: int = 10) -> datetime:
        return datetime.combine(day, time(hour, self.rng.randint(0, 59)), tzinfo=self.tz)

    def stamp(self, user: User, day: date, hour: int = 10) -> dict[str, object]:
        moment = self.at(min(day, self.today), hour)
        return {
            "created_at": moment,
            "updated_at": moment,
            "created_by_id": user.pk,
            "updated_by_id": user.pk,
        }

    def add(self, model: type[models.Model], **values: object) -> int:
        return self.tables[model].add(**values)

    def maybe_correct(self, model: type[models.Model], pk: int) -> None:
        if self.rng.randrange(100) < CORRECTED_PER_100:
            self.corrections.setdefault(model, []).append(pk)

    # --- screening ---------------------------------------------------------------------

    def screening(
        self,
        *,
        site: Site,
        sequence: int,
        staff: Staff,
        screened: date,
        day_0: date,
        born: date,
        sex: str,
        status: str,
        items: dict[str, object] | None = None,
        failure: str = "",
    ) -> tuple[int, Screening]:
        values = {
            **ELIGIBLE_ITEMS,
            **(items or {}),
            "site_id": site.pk,
            "sequence": sequence,
            "number": f"{site.code}-S{sequence:03d}",
            "screening_date": screened,
            "date_of_birth": born,
            "sex": sex,
            "planned_day_0": day_0,
            "status": status,
            "screen_failure_reason": failure,
            "no_prior_therapy": False,
            "serology_date": screened,
            "tests_not_performed": [],
            **self.stamp(staff.coordinator, screened),
        }
        table = self.tables[Screening]
        values["id"] = pk = table.next_id
        table.next_id += 1
        instance = Screening(**{k: v for k, v in values.items() if k != "site_id"}, site=site)
        labs, therapies = [], []
        for analyte, value, unit in ELIGIBLE_LABS:
            jitter = Decimal(str(round(self.rng.uniform(0.9, 1.1), 2)))
            entered = (value * jitter).quantize(Decimal("0.1"))
            lab = {
                "screening_id": pk,
                "analyte": analyte,
                "value_entered": entered,
                "unit_entered": unit,
                "value": units.to_canonical(analyte, entered, unit),
                "taken_on": screened,
                **self.stamp(staff.coordinator, screened),
            }
            labs.append(ScreeningLab(**lab))
            self.add(ScreeningLab, **lab)
        for drug, drug_class, years in (
            ("methotrexate", "immunosuppressant", 3),
            ("mycophenolate mofetil", "immunosuppressant", 2),
            ("prednisone", "glucocorticoid", 3),
        ):
            therapy = {
                "screening_id": pk,
                "drug_name": drug,
                "drug_class": drug_class,
                "start": screened - timedelta(days=365 * years + self.rng.randint(0, 200)),
                "stop": None,
                **self.stamp(staff.coordinator, screened),
            }
            therapies.append(PriorTherapy(**therapy))
            self.add(PriorTherapy, **therapy)
        # The assessment as the criteria compute it (the screening log shows it).
        instance._prefetched_objects_cache = {"labs": labs, "prior_therapies": therapies}
        assessment = assessment_for(instance)
        values["failed_codes"] = list(assessment.failed_codes)
        values["missing_items"] = [str(item) for item in assessment.missing_items]
        values["criteria_sets_met"] = [str(s) for s in assessment.criteria_sets_met]
        if status == ScreeningStatus.ELIGIBLE and assessment.outcome != "eligible":
            self.not_eligible += 1
        self.add(Screening, **values)
        return pk, signature_payload(instance)

    def eligibility_signature(self, screening_pk: int, payload: dict, staff: Staff, on: date):
        key_id, data_hash = seal(payload)
        self.add(
            Signature,
            content_type_id=self.content_types[Screening],
            object_id=screening_pk,
            signer_id=staff.investigator.pk,
            printed_name=staff.investigator.printed_name,
            meaning=SignatureMeaning.ELIGIBILITY,
            signed_at=self.at(on, 15),
            data_hash=data_hash,
            key_id=key_id,
            voided_at=None,
            void_reason="",
        )

    def screen_failure(self, *, site: Site, sequence: int, staff: Staff, screened: date) -> None:
        born = screened - timedelta(days=365 * self.rng.randint(6, 17) + self.rng.randint(0, 364))
        if self.rng.random() < 0.5:
            status, items, failure = ScreeningStatus.NOT_ELIGIBLE, {"hbsag": Serology.POSITIVE}, ""
        else:
            status = ScreeningStatus.SCREEN_FAILED
            items = {"live_vaccine": True, "live_vaccine_date": screened - timedelta(days=20)}
            failure = "Live vaccine 3 weeks before screening (EXC5)."
        self.screening(
            site=site,
            sequence=sequence,
            staff=staff,
            screened=screened,
            day_0=screened + timedelta(days=14),
            born=born,
            sex=self.rng.choice("FFFFM"),
            status=status,
            items=items,
            failure=failure,
        )

    # --- one participant ------------------------------------------------------------------

    def participant(
        self, *, site: Site, sequence: int, screening_sequence: int, staff: Staff, day_0: date
    ) -> None:
        rng = self.rng
        screened = day_0 - timedelta(days=rng.randint(8, 26))
        enrolled_on = max(screened, day_0 - timedelta(days=7))
        age = rng.randint(protocol.MIN_AGE_YEARS, protocol.MAX_AGE_YEARS - 1)
        born = screened - timedelta(days=365 * age + rng.randint(30, 330))
        screening_pk, payload = self.screening(
            site=site,
            sequence=screening_sequence,
            staff=staff,
            screened=screened,
            day_0=day_0,
            born=born,
            sex=rng.choice("FFFFM"),
            status=ScreeningStatus.ELIGIBLE,
        )
        self.screenings_enrolled.append(screening_pk)
        self.eligibility_signature(screening_pk, payload, staff, screened)
        coordinator = staff.coordinator
        self.add(
            Consent,
            screening_id=screening_pk,
            kind=ConsentKind.GUARDIAN_CONSENT,
            form_version_id=self.consent_version.pk,
            signed_on=screened,
            guardian_relationship=rng.choice(("mother", "mother", "father", "grandparent")),
            obtained_by_id=coordinator.pk,
            **self.stamp(coordinator, screened),
        )
        if assent_required(born, screened):
            self.add(
                Consent,
                screening_id=screening_pk,
                kind=ConsentKind.CHILD_ASSENT,
                form_version_id=self.assent_version.pk,
                signed_on=screened,
                guardian_relationship="",
                obtained_by_id=coordinator.pk,
                **self.stamp(coordinator, screened),
            )
        if day_0 > self.today:
            course = Course(day_0, [], [], [], None, {}, None)
        else:
            course = plan_course(rng, day_0, self.today)
        status = self.status_of(course)
        participant_pk = self.add(
            Participant,
            site_id=site.pk,
            sequence=sequence,
            subject_id=f"{site.code}-{sequence:03d}",
            screening_id=screening_pk,
            enrolled_on=enrolled_on,
            planned_day_0=day_0,
            enrolled_by_id=coordinator.pk,
            status=ParticipantStatus.ENROLLED,
            **self.stamp(coordinator, enrolled_on),
        )
        self.subject_ids[participant_pk] = f"{site.code}-{sequence:03d}"
        self.status_history(participant_pk, course, status, enrolled_on, staff)
        if status != ParticipantStatus.ENROLLED:
            self.status_updates.append((participant_pk, status))
        weight = Decimal(str(round(12 + age * 2.6 + rng.uniform(-3, 5), 1)))
        height = Decimal(str(round(80 + age * 5.6 + rng.uniform(-6, 6), 1)))
        self.treatment(participant_pk, course, staff, weight, height)
        self.safety_logs(participant_pk, course, staff)

    def status_of(self, course: Course) -> str:
        if course.stopped is not None:
            return (
                ParticipantStatus.WITHDRAWN
                if course.stopped[0] == "withdrawn"
                else ParticipantStatus.DISCONTINUED
            )
        if not course.rituximab:
            return ParticipantStatus.ENROLLED
        if not course.belimumab:
            return ParticipantStatus.RITUXIMAB
        if engine.completed_on(engine.build_course(self.inputs(course))) is not None:
            return ParticipantStatus.COMPLETED
        return ParticipantStatus.BELIMUMAB

    def inputs(self, course: Course, today: date | None = None) -> engine.CourseFacts:
        infusions = [engine.Infusion(engine.Drug.RITUXIMAB, d) for d in course.rituximab]
        infusions += [engine.Infusion(engine.Drug.BELIMUMAB, d) for d in course.belimumab]
        return engine.CourseFacts(
            planned_day_0=course.day_0,
            today=today or self.today,
            infusions=tuple(sorted(infusions, key=lambda i: i.given_on)),
            b_cell_results=tuple(
                engine.BCellResult(taken_on=on, cd19_percent=p, cd19_absolute_10e6_l=a)
                for on, p, a in course.b_cells
            ),
            visits_done=tuple(
                engine.VisitDone(code, on) for code, on in sorted(course.visits.items())
            ),
        )

    def status_history(
        self, participant_pk: int, course: Course, status: str, enrolled_on: date, staff: Staff
    ) -> None:
        steps = [("", ParticipantStatus.ENROLLED, enrolled_on, "Enrolled from screening", "")]
        if course.rituximab:
            steps.append(
                (
                    ParticipantStatus.ENROLLED,
                    ParticipantStatus.RITUXIMAB,
                    course.rituximab[0],
                    "First rituximab infusion given (Day 0).",
                    "",
                )
            )
        if course.belimumab:
            steps.append(
                (
                    ParticipantStatus.RITUXIMAB,
                    ParticipantStatus.BELIMUMAB,
                    course.belimumab[0],
                    "First belimumab infusion given.",
                    "",
                )
            )
        if status == ParticipantStatus.COMPLETED:
            steps.append(
                (
                    ParticipantStatus.BELIMUMAB,
                    ParticipantStatus.COMPLETED,
                    course.visits[protocol.WEEK_28_VISIT_CODE],
                    "Treatment complete and the week 28 visit recorded.",
                    "",
                )
            )
        if course.stopped is not None:
            kind, on = course.stopped
            previous = steps[-1][1]
            if kind == "withdrawn":
                steps.append(
                    (previous, ParticipantStatus.WITHDRAWN, on, f"Consent withdrawn on {on}", "")
                )
                self.add(
                    ConsentWithdrawal,
                    participant_id=participant_pk,
                    withdrawn_on=on,
                    data_may_be_kept=True,
                    notes="Family moved away.",
                    **self.stamp(staff.coordinator, on),
                )
            else:
                steps.append(
                    (
                        previous,
                        ParticipantStatus.DISCONTINUED,
                        on,
                        "Investigator decision after an adverse event.",
                        DiscontinuationReason.ADVERSE_EVENT,
                    )
                )
        for from_status, to_status, on, reason, discontinuation in steps:
            self.add(
                StatusChange,
                participant_id=participant_pk,
                from_status=from_status,
                to_status=to_status,
                changed_on=on,
                reason=reason,
                discontinuation_reason=discontinuation,
                **self.stamp(staff.coordinator, on),
            )

    # --- dosing and visits -------------------------------------------------------------------

    def visit(self, participant_pk: int, code: str, kind: str, on: date, user: User) -> int:
        return self.add(
            Visit,
            participant_id=participant_pk,
            visit_code=code,
            kind=kind,
            visit_date=on,
            out_of_window_explanation="",
            **self.stamp(user, on),
        )

    def treatment(
        self, participant_pk: int, course: Course, staff: Staff, weight: Decimal, height: Decimal
    ) -> None:
        if not course.rituximab:
            return
        rng = self.rng
        day_0 = course.day_0
        coordinator, investigator = staff.coordinator, staff.investigator
        facts = ScreeningFacts(
            screening_date=day_0,
            planned_day_0=day_0,
            chronic_infection_suppressive_therapy=False,
            infection_hospitalisation=False,
            parenteral_antimicrobials=False,
            live_vaccine=False,
            high_infection_risk=False,
        )
        self.add(
            Day0Confirmation,
            participant_id=participant_pk,
            confirmed_on=day_0,
            chronic_infection_suppressive_therapy=False,
            infection_hospitalisation_last_date=None,
            parenteral_antimicrobials_last_date=None,
            live_vaccine_date=None,
            high_infection_risk=False,
            passed=True,
            explanation=str(exc5_infection(facts).reason),
            **self.stamp(investigator, day_0),
        )
        assessment_visits = {}
        for code, on in course.visits.items():
            kind = (
                VisitKind.BASELINE if code == protocol.BASELINE_VISIT_CODE else VisitKind.ASSESSMENT
            )
            assessment_visits[code] = (self.visit(participant_pk, code, kind, on, coordinator), on)
        proposals = {
            drug: propose_dose(drug, weight_kg=weight, height_cm=height)
            for drug in (engine.Drug.RITUXIMAB, engine.Drug.BELIMUMAB)
        }
        infusion_visits = []
        for drug, dates, prefix in (
            (engine.Drug.RITUXIMAB, course.rituximab, protocol.RITUXIMAB_VISIT_PREFIX),
            (engine.Drug.BELIMUMAB, course.belimumab, protocol.BELIMUMAB_VISIT_PREFIX),
        ):
            proposal = proposals[drug]
            for number, on in enumerate(dates, start=1):
                code = f"{prefix}{number}"
                visit_pk = self.visit(participant_pk, code, VisitKind.INFUSION, on, coordinator)
                infusion_visits.append((visit_pk, on))
                prescription = {
                    "participant_id": participant_pk,
                    "drug": drug.value,
                    "planned_on": on,
                    "weight_kg": weight,
                    "height_cm": height,
                    "anthropometry_measured_on": on,
                    "bsa_m2": proposal.bsa_m2,
                    "proposed_dose_mg": proposal.dose_mg,
                    "dose_cap_applied": proposal.capped,
                    "proposal_explanation": proposal.explanation,
                    "prescribed_dose_mg": proposal.dose_mg,
                    "dose_difference_reason": "",
                    "dose_flagged": False,
                    "prescribed_by_id": investigator.pk,
                    **self.stamp(investigator, on - timedelta(days=1), 16),
                }
                prescription_pk = self.add(Prescription, **prescription)
                signed = Prescription(
                    **{k: v for k, v in prescription.items() if not k.endswith("_id")},
                    participant=Participant(subject_id=self.subject_ids[participant_pk]),
                )
                key_id, data_hash = seal(signed.signature_payload())
                self.add(
                    Signature,
                    content_type_id=self.content_types[Prescription],
                    object_id=prescription_pk,
                    signer_id=investigator.pk,
                    printed_name=investigator.printed_name,
                    meaning=SignatureMeaning.PRESCRIPTION,
                    signed_at=self.at(on - timedelta(days=1), 16),
                    data_hash=data_hash,
                    key_id=key_id,
                    voided_at=None,
                    void_reason="",
                )
                rituximab = drug is engine.Drug.RITUXIMAB
                reaction = rituximab and number == 1 and rng.random() < 0.1
                self.add(
                    Infusion,
                    participant_id=participant_pk,
                    visit_id=visit_pk,
                    prescription_id=prescription_pk,
                    drug=drug.value,
                    number=number,
                    given_on=on,
                    start_time=time(9, 0),
                    stop_time=time(14, 30) if rituximab else time(10, 15),
                    weight_kg=weight,
                    height_cm=height,
                    anthropometry_measured_on=on,
                    bsa_m2=proposal.bsa_m2,
                    proposed_dose_mg=proposal.dose_mg,
                    dose_cap_applied=proposal.capped,
                    prescribed_dose_mg=proposal.dose_mg,
                    prescribed_by_id=investigator.pk,
                    administered_dose_mg=proposal.dose_mg,
                    dose_difference_reason="",
                    dose_flagged=False,
                    lot_number="RTX-H0421" if rituximab else "BEL-7C112",
                    premedication=[
                        Premedication.ANTIPYRETIC,
                        Premedication.ANTIHISTAMINE,
                        Premedication.GLUCOCORTICOID,
                    ]
                    if rituximab
                    else [Premedication.ANTIHISTAMINE],
                    premedication_details="",
                    infusion_reaction=reaction,
                    reaction_grade=2 if reaction else None,
                    reaction_action="Infusion slowed, symptoms resolved." if reaction else "",
                    **self.stamp(coordinator, on, 15),
                )
        # B cells after rituximab 2-4 (not tied to a visit) and at the assessment visits.
        for on, percent, absolute in course.b_cells:
            self.b_cell(participant_pk, None, on, percent, absolute, coordinator)
        for code, (visit_pk, on) in assessment_visits.items():
            percent, absolute = {
                protocol.BASELINE_VISIT_CODE: ("14.5", 310),
                protocol.WEEK_12_VISIT_CODE: ("0.1", 2),
                protocol.WEEK_28_VISIT_CODE: ("0.9", 18),
            }[code]
            # The baseline shares Day 0 with the first rituximab: not tied to either visit.
            linked = None if code == protocol.BASELINE_VISIT_CODE else visit_pk
            self.b_cell(
                participant_pk, linked, on, Decimal(percent), Decimal(absolute), coordinator
            )
        if course.belimumab and course.gate_labs_on is not None:
            for analyte, value in (
                ("igg", "7.1"),
                ("iga", "0.9"),
                ("wbc", "5.4"),
                ("neutrophils", "2.8"),
            ):
                self.lab(
                    participant_pk, None, analyte, Decimal(value), course.gate_labs_on, coordinator
                )
        # Visit forms: the full set at assessments, vitals and the review at infusions.
        activity = rng.uniform(0.2, 0.9)
        for _code, (visit_pk, on) in sorted(assessment_visits.items(), key=lambda kv: kv[1][1]):
            if course.stopped and course.stopped[0] == "withdrawn" and on >= course.stopped[1]:
                continue
            lagging = (self.today - on).days < ENTRY_LAG_DAYS
            self.full_set(
                participant_pk, visit_pk, on, coordinator, (weight, height), activity, lagging
            )
            activity *= rng.uniform(0.5, 0.9)
        for visit_pk, on in infusion_visits:
            lagging = (self.today - on).days < ENTRY_LAG_DAYS and rng.random() < 0.5
            self.vitals(visit_pk, on, coordinator, weight, height)
            if not lagging:
                self.add(
                    SafetyReview,
                    visit_id=visit_pk,
                    new_adverse_events=False,
                    medication_changes=False,
                    notes="",
                    **self.stamp(coordinator, on, 17),
                )
        # Automatic deviations, as the schedule engine finds them (until the participant
        # stopped: the schedule is no longer followed after that).
        until = course.stopped[1] if course.stopped else self.today
        for deviation in engine.build_course(self.inputs(course, until)).deviations:
            reviewed = (self.today - deviation.on).days > 30
            self.add(
                Deviation,
                participant_id=participant_pk,
                category=deviation.code.value,
                automatic=True,
                visit_code=deviation.visit_code,
                occurred_on=deviation.on,
                description=str(deviation.description),
                explanation="Family could not travel that week." if reviewed else "",
                corrective_action="",
                reviewed_by_id=investigator.pk if reviewed else None,
                reviewed_at=self.at(deviation.on + timedelta(days=14)) if reviewed else None,
                review_comment="",
                created_at=self.at(deviation.on),
                updated_at=self.at(deviation.on),
                created_by_id=coordinator.pk,
                updated_by_id=coordinator.pk,
            )

    def b_cell(
        self,
        participant_pk: int,
        visit_pk: int | None,
        on: date,
        percent: Decimal,
        absolute: Decimal,
        user: User,
    ) -> None:
        self.add(
            BCellResult,
            participant_id=participant_pk,
            visit_id=visit_pk,
            taken_on=on,
            cd19_percent=percent,
            cd19_absolute_entered=absolute,
            cd19_absolute_unit="cells/uL",
            cd19_absolute=absolute,
            lymphocytes_10e9_l=None,
            **self.stamp(user, on, 12),
        )

    def lab(
        self,
        participant_pk: int,
        visit_pk: int | None,
        analyte: str,
        value: Decimal,
        on: date,
        user: User,
    ) -> None:
        entered, unit = value, units.get_analyte(analyte).canonical_unit.key
        if analyte == "igg" and visit_pk is not None:
            entered, unit = value * 100, "mg/dL"  # as many Chinese laboratories report it
        pk = self.add(
            LabResult,
            participant_id=participant_pk,
            visit_id=visit_pk,
            analyte=analyte,
            value_entered=entered,
            unit_entered=unit,
            value=units.to_canonical(analyte, entered, unit),
            taken_on=on,
            **self.stamp(user, on, 13),
        )
        self.maybe_correct(LabResult, pk)

    def vitals(self, visit_pk: int, on: date, user: User, weight: Decimal, height: Decimal) -> None:
        rng = self.rng
        systolic = rng.randint(95, 122)
        pk = self.add(
            Vitals,
            visit_id=visit_pk,
            weight_kg=weight,
            height_cm=height,
            temperature_c=Decimal(str(round(rng.uniform(36.3, 37.3), 1))),
            heart_rate_bpm=rng.randint(68, 112),
            respiratory_rate=rng.randint(16, 24),
            systolic_mmhg=systolic,
            diastolic_mmhg=rng.randint(55, min(80, systolic - 15)),
            **self.stamp(user, on, 9),
        )
        self.maybe_correct(Vitals, pk)

    def full_set(
        self,
        participant_pk: int,
        visit_pk: int,
        on: date,
        user: User,
        size: tuple[Decimal, Decimal],
        activity: float,
        lagging: bool,
    ) -> None:
        rng = self.rng
        self.vitals(visit_pk, on, user, *size)
        levels = _essdai_levels(rng, activity)
        self.add(
            EssdaiAssessment,
            visit_id=visit_pk,
            instrument_version=protocol.ESSDAI_VERSION,
            **levels,
            **self.stamp(user, on, 11),
        )
        scale = max(1, round(activity * 10))
        self.add(
            EsspriAssessment,
            visit_id=visit_pk,
            dryness=min(10, scale + rng.randint(-1, 2)),
            fatigue=min(10, max(0, scale + rng.randint(-2, 2))),
            pain=min(10, max(0, scale + rng.randint(-3, 1))),
            instrument_version=protocol.ESSPRI_VERSION,
            **self.stamp(user, on, 11),
        )
        self.add(
            PhysicianGlobal,
            visit_id=visit_pk,
            score=Decimal(str(round(min(10.0, activity * 10 + rng.uniform(-1, 1)), 1))).max(
                Decimal(0)
            ),
            **self.stamp(user, on, 11),
        )
        self.add(
            GlandFunction,
            visit_id=visit_pk,
            schirmer_mm_5min=Decimal(str(round(rng.uniform(1, 15), 1))),
            unstimulated_saliva_ml_15min=Decimal(str(round(rng.uniform(0.2, 2.0), 2))),
            not_done_reason="",
            **self.stamp(user, on, 11),
        )
        if lagging:
            return  # the labs and the review come back later: shown as "to enter"
        for analyte, (mean, spread, places) in NORMAL_LABS.items():
            value = max(mean * 0.1, rng.gauss(mean * (0.8 + activity * 0.4), spread))
            self.lab(participant_pk, visit_pk, analyte, _decimal(value, places), on, user)
        self.add(
            SafetyReview,
            visit_id=visit_pk,
            new_adverse_events=False,
            medication_changes=False,
            notes="",
            **self.stamp(user, on, 17),
        )

    # --- logs -------------------------------------------------------------------------------

    def safety_logs(self, participant_pk: int, course: Course, staff: Staff) -> None:
        if not course.rituximab:
            return
        rng = self.rng
        user = staff.coordinator
        end = min(self.today, course.stopped[1] if course.stopped else self.today)
        for term, grade, criteria, related, action, offset in rng.sample(
            ADVERSE_EVENTS, rng.choice((0, 1, 1, 2, 2, 3))
        ):
            onset = course.day_0 + timedelta(days=offset + rng.randint(0, 10))
            if onset > end:
                continue
            ended = onset + timedelta(days=rng.randint(1, 12))
            finished = ended <= self.today
            pk = self.add(
                AdverseEvent,
                participant_id=participant_pk,
                term=term,
                onset_date=onset,
                end_date=ended if finished else None,
                grade=grade,
                serious=bool(criteria),
                serious_criteria=list(criteria),
                related_rituximab=related,
                related_belimumab="not_applicable" if offset < 40 else "unlikely",
                action_taken=action,
                outcome="recovered" if finished else "recovering",
                description="",
                # Its follow-up below reports no new grade: the state is the event's own.
                current_grade=grade,
                current_outcome="recovered" if finished else "recovering",
                worst_grade=grade,
                **self.stamp(user, onset + timedelta(days=1)),
            )
            if finished and rng.random() < 0.4:
                self.add(
                    AdverseEventUpdate,
                    adverse_event_id=pk,
                    reported_on=ended,
                    grade=None,
                    outcome="recovered",
                    notes="Resolved without sequelae.",
                    **self.stamp(user, ended),
                )
            if criteria:
                self.alert(pk, onset + timedelta(days=1), staff)
        for drug, dose, unit, frequency, indication, start, stop in CON_MEDS:
            if rng.random() < 0.45:
                continue
            starts = course.day_0 + timedelta(days=start)
            if starts > end:
                continue
            stops = None if stop is None else course.day_0 + timedelta(days=stop)
            self.add(
                ConcomitantMedication,
                participant_id=participant_pk,
                drug=drug,
                dose=Decimal(dose),
                dose_unit=unit,
                route="ophthalmic" if unit == "other" else "oral",
                frequency=frequency,
                start_date=starts,
                stop_date=stops if stops is None or stops <= self.today else None,
                indication=indication,
                **self.stamp(user, max(starts, course.day_0 - timedelta(days=14))),
            )

    def alert(self, event_pk: int, raised: date, staff: Staff) -> None:
        alert_pk = self.add(
            SeriousAeAlert,
            adverse_event_id=event_pk,
            raised_at=self.at(raised, 11),
            raised_by_id=staff.coordinator.pk,
            emailed_at=self.at(raised, 11),
        )
        recipients = [staff.investigator, *self.data_managers]
        for user in recipients:
            self.add(SeriousAeAlert.recipients.through, seriousaealert_id=alert_pk, user_id=user.pk)
            if (self.today - raised).days > 7:
                self.add(
                    SaeAcknowledgement,
                    alert_id=alert_pk,
                    user_id=user.pk,
                    acknowledged_at=self.at(raised + timedelta(days=1), 9),
                )

    # --- writing -----------------------------------------------------------------------------

    def flush(self, context: dict[str, object]) -> tuple[int, int]:
        """Write the buffered rows and the later corrections; (rows, audit events)."""
        written = 0
        with connection.cursor() as cursor:
            _set_audit_context(cursor, context)
            for table in self.tables.values():
                written += table.flush(cursor)
            events = self._corrections(cursor, context)
            _set_audit_context(cursor, None)
        return written, events

    def _corrections(self, cursor, context: dict[str, object]) -> int:
        """The edits a site makes after entry: screening status (enrolled), the participant's
        status, and corrections of values with a reason (audit "update" events)."""
        updates = 0
        _set_audit_context(cursor, {**context, "reason": "enrolment"})
        if self.screenings_enrolled:
            cursor.execute(
                f'UPDATE "{Screening._meta.db_table}" SET status = %s, version = version + 1 '
                "WHERE id = ANY(%s)",
                [ScreeningStatus.ENROLLED, self.screenings_enrolled],
            )
            updates += cursor.rowcount
        by_status: dict[str, list[int]] = {}
        for pk, status in self.status_updates:
            by_status.setdefault(status, []).append(pk)
        _set_audit_context(cursor, {**context, "reason": "participant status changed"})
        for status, pks in by_status.items():
            cursor.execute(
                f'UPDATE "{Participant._meta.db_table}" SET status = %s, version = version + 1 '
                "WHERE id = ANY(%s)",
                [status, pks],
            )
            updates += cursor.rowcount
        _set_audit_context(cursor, {**context, "reason": "transcription error corrected"})
        for model, pks in self.corrections.items():
            column = "temperature_c" if model is Vitals else "taken_on"
            change = f"{column} + 0.1" if model is Vitals else column
            cursor.execute(
                f'UPDATE "{model._meta.db_table}" SET {column} = {change}, version = version + 1, '
                "updated_at = updated_at + interval '1 day' WHERE id = ANY(%s)",
                [pks],
            )
            updates += cursor.rowcount
        self.corrections, self.screenings_enrolled, self.status_updates = {}, [], []
        return updates


def _set_audit_context(cursor, metadata: dict[str, object] | None) -> None:
    """What pghistory's context manager does, for statements it cannot wrap (COPY)."""
    if metadata is None:
        cursor.execute(
            "SELECT set_config('pghistory.context_id', '', true), "
            "set_config('pghistory.context_metadata', '', true)"
        )
        return
    cursor.execute(
        "SELECT set_config('pghistory.context_id', %s, true), "
        "set_config('pghistory.context_metadata', %s, true)",
        [str(uuid.uuid4()), json.dumps(metadata)],
    )


def _consent_versions() -> tuple[ConsentFormVersion, ConsentFormVersion]:
    consent, _created = ConsentFormVersion.objects.get_or_create(
        kind=ConsentKind.GUARDIAN_CONSENT,
        version="1.0",
        defaults={"effective_from": date(2024, 3, 1)},
    )
    assent, _created = ConsentFormVersion.objects.get_or_create(
        kind=ConsentKind.CHILD_ASSENT, version="1.0", defaults={"effective_from": date(2024, 3, 1)}
    )
    return consent, assent


def _day_0s(rng: random.Random, n: int, today: date, span_days: int) -> list[date]:
    """Planned Day 0 of ``n`` participants, spread over the recruitment period, in order."""
    return sorted(today - timedelta(days=rng.randint(-14, span_days)) for _n in range(n))


def generate(
    *,
    participants: int,
    sites: list[Site],
    staff: dict[int, Staff],
    today: date,
    seed: int = 2026,
    span_days: int = DEFAULT_SPAN_DAYS,
    batch: int = DEFAULT_BATCH,
    progress: Callable[[Report], None] = lambda report: None,
) -> Report:
    """Write ``participants`` participants spread evenly over ``sites``; returns the counts."""
    started = clock.perf_counter()
    generator = Generator(today=today, seed=seed)
    report = Report()
    rng = generator.rng
    counted_links = 0
    for index, site in enumerate(sites):
        n = participants // len(sites) + (1 if index < participants % len(sites) else 0)
        people = staff[site.pk]
        day_0s = _day_0s(rng, n, today, span_days)
        sequence = Participant.objects.filter(site=site).count()
        screening_sequence = Screening.objects.filter(site=site).count()
        for start in range(0, n, batch):
            for day_0 in day_0s[start : start + batch]:
                if rng.randrange(100) < SCREEN_FAILURES_PER_100:
                    screening_sequence += 1
                    generator.screen_failure(
                        site=site,
                        sequence=screening_sequence,
                        staff=people,
                        screened=day_0 - timedelta(days=rng.randint(20, 60)),
                    )
                    report.screenings += 1
                sequence += 1
                screening_sequence += 1
                generator.participant(
                    site=site,
                    sequence=sequence,
                    screening_sequence=screening_sequence,
                    staff=people,
                    day_0=day_0,
                )
                report.participants += 1
                report.screenings += 1
            context = {
                "user": people.coordinator.pk,
                "username": people.coordinator.username,
                "reason": "initial entry",
                "source": "generate_load_data",
            }
            with transaction.atomic():
                written, updates = generator.flush(context)
            # Every tracked row written is an "insert" event; corrections are "update" events
            # (the many-to-many link table is the one table without audit triggers).
            links = generator.tables[SeriousAeAlert.recipients.through].count
            report.audit_events += written + updates - (links - counted_links)
            counted_links = links
            report.rows = {t.name: t.count for t in generator.tables.values()}
            report.seconds = clock.perf_counter() - started
            progress(report)
    # The pages read the stored course: built for every participant, as their writes would.
    courses_rebuild(Participant.objects.order_by("pk"), today, batch=2000)
    # ... and the stored form completeness of every visit (the dashboard counts it).
    visit_forms_rebuild(Visit.objects.all())
    # ... and the outcome review's stored numbers of every participant.
    outcome_state_rebuild(Participant.objects.all())
    report.seconds = clock.perf_counter() - started
    report.not_eligible = generator.not_eligible
    return report


# --- Sites and staff of a load-test database -----------------------------------------------

# Bench databases only (never a real one): every generated user has this password and an
# authenticator with this key (hex, as django-otp stores it), from which the bench's
# client computes the codes.
PASSWORD = "demo-pass-2026"
TOTP_KEY = "62656e63682d6f6e6c792d746f74702d6b6579"  # b"bench-only-totp-key"


def bench_staff() -> tuple[list[Site], dict[int, Staff]]:
    """The twelve sites, a coordinator and an investigator at each (``coordinator_pumch``,
    ``investigator_pumch``, ...), a monitor and a data manager; idempotent."""
    from django.contrib.auth.hashers import make_password
    from django.contrib.auth.models import Group
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from trialsite.audit import audit_context
    from trialsite.roles import Role

    encoded = make_password(PASSWORD)  # one hash for all: hashing is slow on purpose
    groups = {role: Group.objects.get(name=role.group_name) for role in Role}

    def person(username: str, first: str, last: str, role: Role, sites: list[Site]) -> User:
        user, _created = User.objects.get_or_create(
            username=username,
            defaults={
                "first_name": first,
                "last_name": last,
                "email": f"{username}@example.org",
                "password": encoded,
                "is_staff": role is Role.DATA_MANAGER,
            },
        )
        user.groups.set([groups[role]])
        user.sites.set(sites)
        # Everyone, not only those who must (accounts/mfa.py): the login asks each the code.
        TOTPDevice.objects.get_or_create(
            user=user, name="authenticator", defaults={"key": TOTP_KEY, "confirmed": True}
        )
        return user

    staff: dict[int, Staff] = {}
    with transaction.atomic(), audit_context(None, "load data: sites and staff"):
        sites = [
            Site.objects.update_or_create(
                code=code,
                defaults={
                    "name": name,
                    "name_zh": protocol.SITE_NAMES_ZH.get(code, ""),
                    "city": city,
                },
            )[0]
            for code, name, city in protocol.SITES
        ]
        for site in sites:
            key, code = site.code.lower(), site.code
            staff[site.pk] = Staff(
                person(f"coordinator_{key}", "Coordinator", code, Role.COORDINATOR, [site]),
                person(f"investigator_{key}", "Investigator", code, Role.INVESTIGATOR, [site]),
            )
        person("monitor", "Min", "Zhao", Role.MONITOR, sites[:2])
        person("datamanager", "Lei", "Wang", Role.DATA_MANAGER, [])
    return sites, staff
