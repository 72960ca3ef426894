"""Which clinical forms are exported and how: discovered from the models.

Every concrete ``ClinicalRecord`` of the clinical apps is a form; its path to
the participant, the site and the visit is derived from ``site_field`` and its
foreign keys, so a CRF added later is exported without touching this module
(``tests/test_exports.py`` checks that none is missed).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cache

from django.apps import apps
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.db.models import F, Func, TextField
from django.utils.translation import gettext_lazy as _

from trialsite.models import ClinicalRecord
from trialsite.records import record_form

CLINICAL_APPS = ("eligibility", "enrollment", "dosing", "crf")
# Bookkeeping kept once, at the end of every row, rather than as data fields.
BOOKKEEPING = {
    "id",
    "created_at",
    "created_by",
    "updated_at",
    "updated_by",
    "version",
    "voided_at",
    "voided_by",
    "void_reason",
    # A generated text's code and parameters (trialsite.texts): how the app writes it in the
    # reader's language.  Exports carry its English text, whose dates a de-identified export
    # shifts; the parameters would carry them unshifted.
    "text_code",
    "text_params",
}
# The date a form's date-range filter looks at, in order of preference.
DATE_FIELDS = (
    "visit_date",
    "given_on",
    "taken_on",
    "planned_on",
    "onset_date",
    "start_date",
    "start",
    "signed_on",
    "occurred_on",
    "reported_on",
    "changed_on",
    "confirmed_on",
    "withdrawn_on",
    "enrolled_on",
    "report_date",
    "screening_date",
)

KEY_COLUMNS = ("subject_id", "screening_number", "site", "visit_code", "visit_date", "record_id")
TRAILER_COLUMNS = ("record_status", "void_reason", "version", "last_changed_at")
# SAS and Stata take variable names of at most 32 characters, and R, SAS and Stata rename or
# refuse a repeated one: every CSV column name is unique and at most this long.
MAX_COLUMN_NAME = 32
# The CSV name of each field whose own name is longer (the data dictionary gives the full
# name and the label; ODM keeps the full name). tests/test_exports_csv.py fails on a new
# field whose name, or ``<name>_label``, would be too long.
SHORT_NAMES = {
    "tear_substitutes_over_3_times_daily": "tear_substitutes_over_3_daily",
    "recurrent_salivary_gland_swelling": "recurrent_salivary_swelling",
    "drinks_liquids_to_swallow_dry_food": "liquids_to_swallow_dry_food",
    "diffuse_sialectasis_on_sialography": "diffuse_sialectasis",
    "chronic_infection_suppressive_therapy": "chronic_infection_suppressive",
    "infection_hospitalisation_last_date": "infection_hosp_last_date",
    "parenteral_antimicrobials_last_date": "parenteral_antimicrob_last_date",
    "severe_uncontrolled_other_disease": "severe_uncontrolled_disease",
    "other_disease_needing_systemic_corticosteroids": "other_disease_needing_steroids",
}


def _criterion_codes() -> list[tuple[str, str]]:
    """Every eligibility criterion code, in protocol order (INC1 ... EXC11): the functions of
    ``eligibility.criteria.CRITERIA`` are named ``<code>_<what>``."""
    from eligibility.criteria import CRITERIA

    codes = [criterion.__name__.split("_")[0].upper() for criterion in CRITERIA]
    return [(code, code) for code in codes]


def _criteria_sets() -> list[tuple[str, str]]:
    from eligibility.classification import CriteriaSet

    return [(code, str(label)) for code, label in CriteriaSet.choices]


# The options of the multi-choice fields computed by the application (no choices on the
# field): each is one 0/1 column in the CSV, like the options of an entered field.
ARRAY_OPTIONS: dict[str, Callable[[], list[tuple[str, str]]]] = {
    "eligibility.Screening.failed_codes": _criterion_codes,
    "eligibility.Screening.criteria_sets_met": _criteria_sets,
}


@dataclass(frozen=True)
class Item:
    """One exported data field of a form."""

    name: str
    field: models.Field
    lookup: str  # what ``values()`` reads

    @property
    def label(self) -> str:
        return str(self.field.verbose_name)

    @property
    def column(self) -> str:
        """The field's column name in the CSV files (at most ``MAX_COLUMN_NAME`` long)."""
        return SHORT_NAMES.get(self.name, self.name)

    @property
    def choices(self) -> list[tuple[object, str]]:
        base = self.field.base_field if isinstance(self.field, ArrayField) else self.field
        return [(code, str(label)) for code, label in base.flatchoices] if base.choices else []

    @property
    def is_date(self) -> bool:
        return isinstance(self.field, models.DateField | models.DateTimeField)

    @property
    def options(self) -> list[tuple[str, str]]:
        """A multi-choice field's options (code, label): one 0/1 CSV column each; [] for a
        single-valued field."""
        if not isinstance(self.field, ArrayField):
            return []
        listed = ARRAY_OPTIONS.get(f"{self.field.model._meta.label}.{self.name}")
        return [(str(code), str(label)) for code, label in (listed() if listed else self.choices)]

    def option_column(self, code: str) -> str:
        """The CSV name of one option's 0/1 column: ``<field>_<code>``, at most 32 long."""
        return f"{self.column}_{code.lower()}"[:MAX_COLUMN_NAME]


@dataclass(frozen=True)
class Computed:
    """A column computed from the row's stored values (scores are never stored)."""

    name: str
    label: object
    derivation: str
    compute: Callable[[dict], object]
    # The same column as an SQL expression, for the CSV written by PostgreSQL
    # (exports/rows.py ``copy_query``); None: computed in Python only.
    sql: Callable[[], object] | None = None
    data_type: str = "text"  # as the data dictionary states it (dictionary.data_type)
    # Lookups beyond the form's own fields that ``compute`` reads (from the row's values).
    needs: tuple[str, ...] = ()
    # Also an ItemData of the ODM file, with its MethodDef (the ages: a de-identified ODM
    # has no date of birth).
    in_odm: bool = False


def _essdai(row: dict):
    from crf import essdai

    return essdai.score_essdai({code: row[code] for code in essdai.DOMAIN_CODES})


def _essdai_total_sql():
    """ESSDAI total in SQL from the instrument's own weights (crf/essdai.py): sum of weight
    x level; NULL (an empty cell) when a domain is unrated, as ``_essdai`` gives."""
    from django.db.models import F, Func, IntegerField

    from crf import essdai

    points = [
        # The weights are the instrument's integers, written into the SQL.
        Func(F(domain.code), template=f"(%(expressions)s * {int(domain.weight)})")
        for domain in essdai.DOMAINS
    ]
    return Func(
        *points, arg_joiner=" + ", template="(%(expressions)s)", output_field=IntegerField()
    )


def _essdai_total_text():
    from django.db.models import Func, TextField

    return Func(_essdai_total_sql(), template="%(expressions)s::text", output_field=TextField())


def _essdai_category_sql():
    from django.db.models import Func, TextField

    from crf.essdai import EssdaiCategory
    from trialsite.protocol import ESSDAI_HIGH_FROM, ESSDAI_MODERATE_FROM

    template = (
        f"CASE WHEN %(expressions)s >= {int(ESSDAI_HIGH_FROM)} THEN '{EssdaiCategory.HIGH.value}'"
        f" WHEN %(expressions)s >= {int(ESSDAI_MODERATE_FROM)}"
        f" THEN '{EssdaiCategory.MODERATE.value}'"
        f" WHEN %(expressions)s >= 0 THEN '{EssdaiCategory.LOW.value}' END"
    )
    return Func(_essdai_total_sql(), template=template, output_field=TextField())


def _esspri_score_sql():
    """ESSPRI in SQL: the mean of the three scales, rounded half up to 2 decimals as
    ``crf.outcomes.esspri_score`` does (the scales are whole numbers 0-10), then written
    as ``format_decimal`` writes it."""
    from django.db.models import F, Func, TextField

    return Func(
        F("dryness"),
        F("fatigue"),
        F("pain"),
        arg_joiner=" + ",
        template="trim_scale(round((%(expressions)s)::numeric / 3, 2))::text",
        output_field=TextField(),
    )


def _esspri(row: dict):
    from crf.outcomes import esspri_score

    return esspri_score(dryness=row["dryness"], fatigue=row["fatigue"], pain=row["pain"])


def _lab_unit(row: dict) -> str:
    from exports.dictionary import canonical_lab_unit

    return canonical_lab_unit(row["analyte"])


def _lab_unit_sql():
    from django.db.models import Case, TextField, Value, When

    from exports.dictionary import canonical_lab_unit
    from trialsite import units

    # One WHEN per known test, from the same function as ``_lab_unit``.
    whens = [
        When(analyte=key, then=Value(unit))
        for key in units.ANALYTES
        if (unit := canonical_lab_unit(key))
    ]
    return Case(*whens, default=None, output_field=TextField())


_LAB_UNIT = Computed(
    "value_unit",
    _("unit of the value (canonical unit of the test)"),
    "canonical unit of the test in analyte (trialsite/units.py); value is in this unit",
    _lab_unit,
    _lab_unit_sql,
)


# The record's values dict (``exports.rows``) keeps the flag its three columns share.
_FLAG_KEY = "__lab_flag"


def _lab_flag(row: dict):
    """The app's flag of a lab value (``trialsite.reference_ranges.flag``: the one function the
    pages, edit checks and casebook use), or None for a test without a range or no value;
    judged once per record for its three columns."""
    if _FLAG_KEY not in row:
        row[_FLAG_KEY] = _judged_flag(row)
    return row[_FLAG_KEY]


def _judged_flag(row: dict):
    from trialsite import reference_ranges

    if row["value"] is None:
        return None
    try:
        return reference_ranges.flag(row["analyte"], row["value"])
    except (reference_ranges.UnknownLabCode, TypeError, ValueError):
        return None


def _lab_limit(row: dict, which: str) -> object:
    result = _lab_flag(row)
    return None if result is None else getattr(result.range, which)


_LAB_RANGE = (
    Computed(
        "ref_low",
        _("reference range: lower limit"),
        "lower limit of the reference range in force for the test, in value_unit "
        "(trialsite/reference_ranges.py); empty: no lower limit",
        lambda row: _lab_limit(row, "lower"),
        data_type="float",
    ),
    Computed(
        "ref_high",
        _("reference range: upper limit"),
        "upper limit of the reference range in force for the test, in value_unit "
        "(trialsite/reference_ranges.py); empty: no upper limit",
        lambda row: _lab_limit(row, "upper"),
        data_type="float",
    ),
    Computed(
        "ref_flag",
        _("flag: H above, L below the reference range"),
        "H above ref_high, L below ref_low, empty within the range or without a range "
        "(trialsite/reference_ranges.flag, as on the pages)",
        lambda row: getattr(_lab_flag(row), "flag", None),
    ),
)


def _age(born: object, on: object) -> int | None:
    from trialsite.dates import age_in_completed_years

    if born is None or on is None:
        return None
    return age_in_completed_years(born, on)  # type: ignore[arg-type]


class _AgeSql(Func):
    """``trialsite.dates.age_in_completed_years(born, on)`` in SQL, as text: completed
    years, a birthday counting on the day itself."""

    output_field = TextField()

    def as_sql(self, compiler, connection, **extra):  # type: ignore[override]
        born, born_params = compiler.compile(self.source_expressions[0])
        on, on_params = compiler.compile(self.source_expressions[1])
        assert not born_params and not on_params  # columns: each is written twice below
        sql = (
            f"(date_part('year', {on}) - date_part('year', {born})"
            f" - CASE WHEN to_char({on}, 'MMDD') < to_char({born}, 'MMDD') THEN 1 ELSE 0 END"
            ")::int::text"
        )
        return sql, ()


def _age_column(name: str, label: object, born: str, on: str, when: str) -> Computed:
    return Computed(
        name,
        label,
        f"completed years from date of birth to {when} (trialsite/dates.py); kept when dates "
        "of birth are removed or dates shifted",
        lambda row: _age(row[born], row[on]),
        lambda: _AgeSql(F(born), F(on)),
        data_type="integer",
        needs=tuple(lookup for lookup in (born, on) if "__" in lookup),
        in_odm=True,
    )


_AGE_AT_SCREENING = _("age at screening (years)")
_AGE_AT_ENROLMENT = _("age at enrolment (years)")

# Derived columns, by model label: recomputed by the same pure scorers the pages use.
COMPUTED: dict[str, tuple[Computed, ...]] = {
    "crf.EssdaiAssessment": (
        Computed(
            "essdai_total",
            _("ESSDAI total"),
            "sum over the 12 domains of weight x level (crf/essdai.py)",
            lambda row: _essdai(row).total,
            _essdai_total_text,
            data_type="integer",
            in_odm=True,
        ),
        Computed(
            "essdai_category",
            _("ESSDAI activity category"),
            "low < 5, moderate 5-13, high >= 14 (Seror 2016)",
            lambda row: _essdai(row).category.value,
            _essdai_category_sql,
            in_odm=True,
        ),
    ),
    "eligibility.Screening": (
        _age_column(
            "age_at_screening", _AGE_AT_SCREENING, "date_of_birth", "screening_date", "screening"
        ),
    ),
    "enrollment.Participant": (
        _age_column(
            "age_at_screening",
            _AGE_AT_SCREENING,
            "screening__date_of_birth",
            "screening__screening_date",
            "screening",
        ),
        _age_column(
            "age_at_enrolment",
            _AGE_AT_ENROLMENT,
            "screening__date_of_birth",
            "enrolled_on",
            "the enrolment date",
        ),
    ),
    "dosing.LabResult": (_LAB_UNIT, *_LAB_RANGE),
    "eligibility.ScreeningLab": (_LAB_UNIT, *_LAB_RANGE),
    "crf.EsspriAssessment": (
        Computed(
            "esspri_score",
            _("ESSPRI score"),
            "mean of dryness, fatigue and pain, 2 decimals (crf/outcomes.py)",
            lambda row: _esspri(row).score,
            _esspri_score_sql,
            data_type="float",
            in_odm=True,
        ),
    ),
}


@dataclass(frozen=True)
class ExportForm:
    code: str  # file name and OID part, e.g. "crf_essdaiassessment"
    model: type[ClinicalRecord]
    participant_path: str | None  # None: the model is Participant itself
    screening_path: str | None
    visit_path: str | None  # None: no visit (logs, screening, Visit itself handled apart)
    # The lookup the date-range filter compares: the record's own date, or for a visit
    # form without one the visit's date ("visit__visit_date").
    date_field: str | None
    items: tuple[Item, ...]
    computed: tuple[Computed, ...] = ()

    @property
    def date_column(self) -> str | None:
        """The exported column holding the date the date-range filter looks at."""
        if self.date_field is None:
            return None
        return "visit_date" if self.date_field.endswith("__visit_date") else self.date_field

    @property
    def label(self) -> str:
        name = str(self.model._meta.verbose_name)
        return name[:1].upper() + name[1:]  # "ESSDAI assessment", not "Essdai assessment"

    @property
    def is_visit_model(self) -> bool:
        return self.model._meta.label == "dosing.Visit"

    def lookup(self, path: str | None, leaf: str) -> str:
        return f"{path}__{leaf}" if path else leaf


def _items(model: type[models.Model]) -> tuple[Item, ...]:
    items = []
    for field in model._meta.concrete_fields:
        if field.name in BOOKKEEPING:
            continue
        related = field.related_model
        if related is not None:
            label = related._meta.label
            if label in ("enrollment.Participant", "dosing.Visit", "eligibility.Screening"):
                continue  # represented by the key columns
            if label == "trialsite.User":
                items.append(Item(field.name, field, f"{field.name}__username"))
                continue
            if label == "trialsite.Site":
                continue
            items.append(Item(field.name, field, field.attname))
            continue
        items.append(Item(field.name, field, field.name))
    return tuple(items)


def _date_field(model: type[models.Model], visit_path: str | None) -> str | None:
    names = {f.name for f in model._meta.concrete_fields}
    own = next((name for name in DATE_FIELDS if name in names), None)
    if own is None and visit_path:
        return f"{visit_path}__visit_date"  # a visit CRF is dated by its visit
    return own


@cache
def export_forms() -> tuple[ExportForm, ...]:
    """Every exported form, in a stable order (app, then model definition order)."""
    forms = []
    for app_label in CLINICAL_APPS:
        for model in apps.get_app_config(app_label).get_models():
            if not issubclass(model, ClinicalRecord):
                continue
            form = record_form(model)
            forms.append(
                ExportForm(
                    code=form.code,
                    model=model,
                    participant_path=form.participant_path,
                    screening_path=form.screening_path,
                    visit_path=form.visit_path,
                    date_field=_date_field(model, form.visit_path),
                    items=_items(model),
                    computed=COMPUTED.get(model._meta.label, ()),
                )
            )
    return tuple(forms)


def form_by_code(code: str) -> ExportForm:
    return next(form for form in export_forms() if form.code == code)


DERIVED_TEXT = _("computed by the application, not entered")
