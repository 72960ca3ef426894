"""INC2: primary Sjögren's by AECG 2002 or Japanese 1999, decided from the source items.

The coordinator enters what was asked and measured (answers, Schirmer mm, focus score, ...),
never a verdict; the verdict is computed here (REFERENCE.md).  Values both sets use (Schirmer,
van Bijsterveld / rose bengal score, focus score, scintigraphy, anti-SSA/SSB) are one field,
entered once.

Every value may be ``None`` (not entered yet), so each item is positive, negative or unknown
(three-valued logic).  A set is MET when it holds on the known positives alone, NOT MET when it
cannot hold even if every unknown item turned positive (or an AECG exclusion is present), and
UNDETERMINED otherwise, listing the missing source items.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import IntegerChoices, TextChoices
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from trialsite.protocol import (
    AECG_FOCUS_SCORE_MIN,
    AECG_MIN_ITEMS,
    AECG_MIN_OBJECTIVE_ITEMS,
    AECG_SCHIRMER_MAX_MM_5MIN,
    AECG_UNSTIMULATED_SALIVA_MAX_ML_15MIN,
    AECG_VAN_BIJSTERVELD_MIN,
    JAPANESE_FOCUS_SCORE_MIN,
    JAPANESE_GUM_TEST_MAX_ML_10MIN,
    JAPANESE_MIN_ITEMS,
    JAPANESE_ROSE_BENGAL_MIN,
    JAPANESE_SAXON_TEST_MAX_G_2MIN,
    JAPANESE_SCHIRMER_MAX_MM_5MIN,
    JAPANESE_SIALOGRAPHY_MIN_STAGE,
)
from trialsite.units import format_decimal

# --- Choices ---------------------------------------------------------------------------------


class CriteriaSet(TextChoices):
    AECG_2002 = "aecg_2002", gettext_lazy("AECG 2002")
    JAPANESE_1999 = "japanese_1999", gettext_lazy("Japanese 1999")


class SetStatus(TextChoices):
    MET = "met", gettext_lazy("met")
    NOT_MET = "not_met", gettext_lazy("not met")
    UNDETERMINED = "undetermined", gettext_lazy("undetermined")


class ItemState(TextChoices):
    POSITIVE = "positive", gettext_lazy("positive")
    NEGATIVE = "negative", gettext_lazy("negative")
    UNKNOWN = "unknown", gettext_lazy("unknown")


class BiopsySite(TextChoices):
    # AECG IV counts a minor (labial) salivary gland biopsy; Japanese 1 also a lacrimal one.
    LABIAL = "labial", gettext_lazy("Labial (minor salivary) gland")
    LACRIMAL = "lacrimal", gettext_lazy("Lacrimal gland")


class SialographyStage(IntegerChoices):
    # Rubin-Holt stages as used by the Japanese 1999 criteria (item 2: stage >= I).
    STAGE_0 = 0, gettext_lazy("Stage 0 (normal)")
    STAGE_I = 1, gettext_lazy("Stage I (punctate shadows < 1 mm)")
    STAGE_II = 2, gettext_lazy("Stage II (globular shadows 1-2 mm)")
    STAGE_III = 3, gettext_lazy("Stage III (cavitary shadows)")
    STAGE_IV = 4, gettext_lazy("Stage IV (destruction of the gland)")


class SourceTest(TextChoices):
    """Tests a coordinator can record as "not performed": the item then cannot be positive."""

    SCHIRMER = "schirmer", gettext_lazy("Schirmer I test")
    VAN_BIJSTERVELD = "van_bijsterveld", gettext_lazy("Rose bengal staining (van Bijsterveld)")
    FLUORESCEIN = "fluorescein", gettext_lazy("Fluorescein staining")
    BIOPSY = "biopsy", gettext_lazy("Salivary or lacrimal gland biopsy")
    UNSTIMULATED_SALIVA = "unstimulated_saliva", gettext_lazy("Unstimulated whole saliva")
    SIALOGRAPHY = "sialography", gettext_lazy("Sialography")
    SCINTIGRAPHY = "scintigraphy", gettext_lazy("Salivary scintigraphy")
    GUM_TEST = "gum_test", gettext_lazy("Gum test")
    SAXON_TEST = "saxon_test", gettext_lazy("Saxon test")


# --- Input -----------------------------------------------------------------------------------


class Serology(TextChoices):
    """A serology result as the laboratory reports it (issue 19: not Yes/No)."""

    POSITIVE = "positive", gettext_lazy("Positive")
    NEGATIVE = "negative", gettext_lazy("Negative")
    NOT_DONE = "not_done", gettext_lazy("Not done")


# The stored serology fields of a screening (INC2 autoantibodies, EXC4 hepatitis markers).
SEROLOGY_FIELDS = ("anti_ssa_ro", "anti_ssb_la", "hbsag", "hbsab", "hbcab", "hcv_ab")


def serology_positive(result: str | None) -> bool | None:
    """A stored result as the criteria read it: "not done" is missing, never negative."""
    return {Serology.POSITIVE: True, Serology.NEGATIVE: False}.get(result)


@dataclass(frozen=True)
class SjogrenFindings:
    """The source items of both criteria sets; ``None`` = not entered yet."""

    # AECG I ocular symptoms (yes/no answers).
    dry_eyes_daily_over_3_months: bool | None = None
    recurrent_sand_or_gravel_in_eyes: bool | None = None
    tear_substitutes_over_3_times_daily: bool | None = None
    # AECG II oral symptoms.
    dry_mouth_daily_over_3_months: bool | None = None
    recurrent_salivary_gland_swelling: bool | None = None
    drinks_liquids_to_swallow_dry_food: bool | None = None
    # Ocular tests: AECG III and Japanese 3.  Schirmer I without anaesthesia, worse eye.
    schirmer_mm_5min: Decimal | None = None
    # Rose bengal score (van Bijsterveld 0-9), worse eye.
    van_bijsterveld_score: int | None = None
    fluorescein_staining_positive: bool | None = None  # Japanese 3 only
    # Biopsy: AECG IV (labial only) and Japanese 1 (labial or lacrimal).
    biopsy_site: BiopsySite | None = None
    focus_score_per_4mm2: Decimal | None = None
    # Salivary tests: AECG V and Japanese 2.
    unstimulated_saliva_ml_15min: Decimal | None = None  # AECG V
    diffuse_sialectasis_on_sialography: bool | None = None  # AECG V
    sialography_stage: SialographyStage | None = None  # Japanese 2
    # AECG V "abnormal scintigraphy" and Japanese 2 "reduced function": one examination.
    scintigraphy_reduced_function: bool | None = None
    gum_test_ml_10min: Decimal | None = None  # Japanese 2
    saxon_test_g_2min: Decimal | None = None  # Japanese 2
    # Autoantibodies: AECG VI and Japanese 4.
    anti_ssa_ro: bool | None = None
    anti_ssb_la: bool | None = None
    # AECG 2002 exclusion conditions.
    past_head_neck_radiation: bool | None = None
    hepatitis_c: bool | None = None
    aids: bool | None = None
    pre_existing_lymphoma: bool | None = None
    sarcoidosis: bool | None = None
    graft_versus_host_disease: bool | None = None
    anticholinergic_drugs: bool | None = None
    # Tests recorded as not performed (they count as negative rather than missing).
    not_performed: frozenset[SourceTest] = field(default_factory=frozenset)


# Human labels of the source items, used for "missing" lists (the same label in both sets, so
# a shared item is listed once).
ITEM_LABELS = {
    "dry_eyes_daily_over_3_months": gettext_lazy("Daily dry eyes for more than 3 months"),
    "recurrent_sand_or_gravel_in_eyes": gettext_lazy(
        "Recurrent sensation of sand or gravel in the eyes"
    ),
    "tear_substitutes_over_3_times_daily": gettext_lazy("Tear substitutes more than 3 times a day"),
    "dry_mouth_daily_over_3_months": gettext_lazy("Daily dry mouth for more than 3 months"),
    "recurrent_salivary_gland_swelling": gettext_lazy(
        "Recurrent or persistent swollen salivary glands"
    ),
    "drinks_liquids_to_swallow_dry_food": gettext_lazy("Drinks liquids to swallow dry food"),
    "schirmer_mm_5min": gettext_lazy("Schirmer I test (mm/5 min)"),
    "van_bijsterveld_score": gettext_lazy("Rose bengal score (van Bijsterveld)"),
    "fluorescein_staining_positive": gettext_lazy("Fluorescein staining"),
    "biopsy_site": gettext_lazy("Biopsy site"),
    "focus_score_per_4mm2": gettext_lazy("Biopsy focus score (foci per 4 mm²)"),
    "unstimulated_saliva_ml_15min": gettext_lazy("Unstimulated whole saliva (mL/15 min)"),
    "diffuse_sialectasis_on_sialography": gettext_lazy("Diffuse sialectasis on sialography"),
    "sialography_stage": gettext_lazy("Sialography stage"),
    "scintigraphy_reduced_function": gettext_lazy(
        "Salivary scintigraphy abnormal (reduced function)"
    ),
    "gum_test_ml_10min": gettext_lazy("Gum test (mL/10 min)"),
    "saxon_test_g_2min": gettext_lazy("Saxon test (g/2 min)"),
    "anti_ssa_ro": gettext_lazy("Anti-Ro/SSA"),
    "anti_ssb_la": gettext_lazy("Anti-La/SSB"),
    "past_head_neck_radiation": gettext_lazy("AECG exclusion: past head and neck radiation"),
    "hepatitis_c": gettext_lazy("AECG exclusion: hepatitis C"),
    "aids": gettext_lazy("AECG exclusion: AIDS"),
    "pre_existing_lymphoma": gettext_lazy("AECG exclusion: pre-existing lymphoma"),
    "sarcoidosis": gettext_lazy("AECG exclusion: sarcoidosis"),
    "graft_versus_host_disease": gettext_lazy("AECG exclusion: graft-versus-host disease"),
    "anticholinergic_drugs": gettext_lazy("AECG exclusion: anticholinergic drugs"),
}

AECG_EXCLUSIONS = (
    "past_head_neck_radiation",
    "hepatitis_c",
    "aids",
    "pre_existing_lymphoma",
    "sarcoidosis",
    "graft_versus_host_disease",
    "anticholinergic_drugs",
)

# Which test each measured field belongs to, for "not performed".
_FIELD_TEST = {
    "schirmer_mm_5min": SourceTest.SCHIRMER,
    "van_bijsterveld_score": SourceTest.VAN_BIJSTERVELD,
    "fluorescein_staining_positive": SourceTest.FLUORESCEIN,
    "focus_score_per_4mm2": SourceTest.BIOPSY,
    "biopsy_site": SourceTest.BIOPSY,
    "unstimulated_saliva_ml_15min": SourceTest.UNSTIMULATED_SALIVA,
    "diffuse_sialectasis_on_sialography": SourceTest.SIALOGRAPHY,
    "sialography_stage": SourceTest.SIALOGRAPHY,
    "scintigraphy_reduced_function": SourceTest.SCINTIGRAPHY,
    "gum_test_ml_10min": SourceTest.GUM_TEST,
    "saxon_test_g_2min": SourceTest.SAXON_TEST,
}

# --- Output ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ItemResult:
    code: str  # "I".."VI" (AECG) or "1".."4" (Japanese)
    name: str  # e.g. "VI (anti-Ro/SSA or anti-La/SSB)"
    state: ItemState
    finding: str  # what made it positive or negative; empty when unknown
    missing_items: tuple[str, ...]  # source items still needed to decide it


@dataclass(frozen=True)
class ClassificationResult:
    criteria_set: CriteriaSet
    status: SetStatus
    items: tuple[ItemResult, ...]
    exclusions_present: tuple[str, ...]  # AECG only
    missing_items: tuple[str, ...]
    explanation: str

    @property
    def positive_items(self) -> tuple[str, ...]:
        return tuple(item.code for item in self.items if item.state == ItemState.POSITIVE)


# --- Three-valued building blocks -------------------------------------------------------------


@dataclass(frozen=True)
class _Finding:
    state: ItemState
    finding: str = ""
    missing: tuple[str, ...] = ()


def _unique(labels: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(labels))


def _any_of(*parts: _Finding) -> _Finding:
    """Kleene OR: one positive decides; otherwise any unknown leaves it open."""
    positives = [p for p in parts if p.state == ItemState.POSITIVE]
    if positives:
        return _Finding(ItemState.POSITIVE, "; ".join(p.finding for p in positives))
    unknown = [p for p in parts if p.state == ItemState.UNKNOWN]
    if unknown:
        return _Finding(ItemState.UNKNOWN, missing=_unique(m for p in unknown for m in p.missing))
    return _Finding(ItemState.NEGATIVE, "; ".join(p.finding for p in parts))


def _all_of(*parts: _Finding) -> _Finding:
    """Kleene AND: one negative decides; otherwise any unknown leaves it open."""
    negatives = [p for p in parts if p.state == ItemState.NEGATIVE]
    if negatives:
        return _Finding(ItemState.NEGATIVE, "; ".join(p.finding for p in negatives))
    unknown = [p for p in parts if p.state == ItemState.UNKNOWN]
    if unknown:
        return _Finding(ItemState.UNKNOWN, missing=_unique(m for p in unknown for m in p.missing))
    return _Finding(ItemState.POSITIVE, _(" and ").join(p.finding for p in parts))


def _label(name: str) -> str:
    return str(ITEM_LABELS[name])


def _not_entered(findings: SjogrenFindings, name: str) -> _Finding:
    test = _FIELD_TEST.get(name)
    if test is not None and test in findings.not_performed:
        return _Finding(
            ItemState.NEGATIVE, _("%(test)s not performed") % {"test": SourceTest(test).label}
        )
    return _Finding(ItemState.UNKNOWN, missing=(_label(name),))


def _answer(findings: SjogrenFindings, name: str) -> _Finding:
    value = getattr(findings, name)
    if value is None:
        return _not_entered(findings, name)
    state = ItemState.POSITIVE if value else ItemState.NEGATIVE
    verdict = _("yes") if value else _("no")
    return _Finding(state, _("%(item)s: %(answer)s") % {"item": _label(name), "answer": verdict})


def _antibody(findings: SjogrenFindings, name: str) -> _Finding:
    value = getattr(findings, name)
    if value is None:
        return _not_entered(findings, name)
    text = _("%(antibody)s positive") if value else _("%(antibody)s negative")
    return _Finding(
        ItemState.POSITIVE if value else ItemState.NEGATIVE, text % {"antibody": _label(name)}
    )


def _compare(findings: SjogrenFindings, name: str, limit: Decimal | int, at_most: bool) -> _Finding:
    value = getattr(findings, name)
    if value is None:
        return _not_entered(findings, name)
    positive = value <= limit if at_most else value >= limit
    sign = ("≤" if positive else ">") if at_most else ("≥" if positive else "<")
    return _Finding(
        ItemState.POSITIVE if positive else ItemState.NEGATIVE,
        _("%(item)s %(value)s %(sign)s %(limit)s")
        % {
            "item": _label(name),
            "value": format_decimal(Decimal(value)),
            "sign": sign,
            "limit": format_decimal(Decimal(limit)),
        },
    )


def _item(code: str, name: str, finding: _Finding) -> ItemResult:
    return ItemResult(code, name, finding.state, finding.finding, finding.missing)


def _joined(items: Iterable[ItemResult]) -> str:
    return ", ".join(item.code for item in items) or _("none")


# --- AECG 2002 -------------------------------------------------------------------------------

AECG_OBJECTIVE_ITEMS = frozenset({"III", "IV", "V", "VI"})
AECG_KEY_ITEMS = ("IV", "VI")  # histopathology or autoantibodies


def _aecg_biopsy(findings: SjogrenFindings) -> _Finding:
    # AECG IV is a minor salivary gland biopsy: a lacrimal biopsy does not count for it.
    if findings.biopsy_site == BiopsySite.LACRIMAL:
        return _Finding(ItemState.NEGATIVE, _("lacrimal gland biopsy does not count for AECG"))
    score = _compare(findings, "focus_score_per_4mm2", AECG_FOCUS_SCORE_MIN, at_most=False)
    if score.state == ItemState.POSITIVE and findings.biopsy_site is None:
        return _Finding(ItemState.UNKNOWN, missing=(_label("biopsy_site"),))
    return score


def aecg_items(findings: SjogrenFindings) -> tuple[ItemResult, ...]:
    """The six AECG 2002 items, each positive, negative or unknown."""
    ocular = _any_of(
        _answer(findings, "dry_eyes_daily_over_3_months"),
        _answer(findings, "recurrent_sand_or_gravel_in_eyes"),
        _answer(findings, "tear_substitutes_over_3_times_daily"),
    )
    oral = _any_of(
        _answer(findings, "dry_mouth_daily_over_3_months"),
        _answer(findings, "recurrent_salivary_gland_swelling"),
        _answer(findings, "drinks_liquids_to_swallow_dry_food"),
    )
    ocular_signs = _any_of(
        _compare(findings, "schirmer_mm_5min", AECG_SCHIRMER_MAX_MM_5MIN, at_most=True),
        _compare(findings, "van_bijsterveld_score", AECG_VAN_BIJSTERVELD_MIN, at_most=False),
    )
    salivary = _any_of(
        _compare(
            findings,
            "unstimulated_saliva_ml_15min",
            AECG_UNSTIMULATED_SALIVA_MAX_ML_15MIN,
            at_most=True,
        ),
        _answer(findings, "diffuse_sialectasis_on_sialography"),
        _answer(findings, "scintigraphy_reduced_function"),
    )
    antibodies = _any_of(_antibody(findings, "anti_ssa_ro"), _antibody(findings, "anti_ssb_la"))
    return (
        _item("I", _("I (ocular symptoms)"), ocular),
        _item("II", _("II (oral symptoms)"), oral),
        _item("III", _("III (ocular signs)"), ocular_signs),
        _item("IV", _("IV (histopathology)"), _aecg_biopsy(findings)),
        _item("V", _("V (salivary gland involvement)"), salivary),
        _item("VI", _("VI (autoantibodies)"), antibodies),
    )


def _aecg_rule_by_count(codes: frozenset[str]) -> bool:
    # Any 4 of 6 items with IV (histopathology) or VI (autoantibodies) positive.
    return len(codes) >= AECG_MIN_ITEMS and any(code in codes for code in AECG_KEY_ITEMS)


def _aecg_rule_by_objective(codes: frozenset[str]) -> bool:
    # Any 3 of the 4 objective items III-VI.
    return len(codes & AECG_OBJECTIVE_ITEMS) >= AECG_MIN_OBJECTIVE_ITEMS


def _aecg_rule(codes: frozenset[str]) -> bool:
    return _aecg_rule_by_count(codes) or _aecg_rule_by_objective(codes)


def classify_aecg(findings: SjogrenFindings) -> ClassificationResult:
    """AECG 2002 primary Sjögren's, with the reasons."""
    items = aecg_items(findings)
    positive = [item for item in items if item.state == ItemState.POSITIVE]
    positives = frozenset(item.code for item in positive)
    possible = frozenset(item.code for item in items if item.state != ItemState.NEGATIVE)
    present = tuple(_label(name) for name in AECG_EXCLUSIONS if getattr(findings, name))
    unanswered = tuple(_label(name) for name in AECG_EXCLUSIONS if getattr(findings, name) is None)

    def result(status: SetStatus, missing: tuple[str, ...], text: str) -> ClassificationResult:
        return ClassificationResult(CriteriaSet.AECG_2002, status, items, present, missing, text)

    if present:
        return result(
            SetStatus.NOT_MET,
            (),
            _("AECG 2002 not met: exclusion present (%(exclusions)s)")
            % {"exclusions": "; ".join(present)},
        )
    if not _aecg_rule(possible):
        return result(
            SetStatus.NOT_MET,
            (),
            _(
                "AECG 2002 not met: positive items %(items)s; needs %(count)s of %(total)s "
                "including IV or VI, or %(objective)s of the objective items III-VI"
            )
            % {
                "items": _joined(positive),
                "count": AECG_MIN_ITEMS,
                "total": len(items),
                "objective": AECG_MIN_OBJECTIVE_ITEMS,
            },
        )
    if not _aecg_rule(positives):
        missing = _unique([m for item in items for m in item.missing_items] + list(unanswered))
        return result(
            SetStatus.UNDETERMINED,
            missing,
            _("AECG 2002 undetermined: missing %(missing)s") % {"missing": "; ".join(missing)},
        )
    if unanswered:
        return result(
            SetStatus.UNDETERMINED,
            unanswered,
            _("AECG 2002 undetermined: items hold but exclusions not answered: %(missing)s")
            % {"missing": "; ".join(unanswered)},
        )
    if _aecg_rule_by_count(positives):
        key = [item for item in positive if item.code in AECG_KEY_ITEMS]
        explanation = _(
            "AECG 2002 met: %(count)s of %(total)s items positive (%(items)s) including %(key)s"
        ) % {
            "count": len(positive),
            "total": len(items),
            "items": _joined(positive),
            "key": _(" and ").join(
                _("%(code)s (%(finding)s)") % {"code": item.code, "finding": item.finding}
                for item in key
            ),
        }
    else:
        objective = [item for item in positive if item.code in AECG_OBJECTIVE_ITEMS]
        explanation = _(
            "AECG 2002 met: %(count)s of the %(total)s objective items positive (%(items)s)"
        ) % {
            "count": len(objective),
            "total": len(AECG_OBJECTIVE_ITEMS),
            "items": _joined(objective),
        }
    return result(SetStatus.MET, (), explanation)


# --- Japanese 1999 ---------------------------------------------------------------------------


def _sialography_stage(findings: SjogrenFindings) -> _Finding:
    stage = findings.sialography_stage
    if stage is None:
        return _not_entered(findings, "sialography_stage")
    positive = stage >= JAPANESE_SIALOGRAPHY_MIN_STAGE
    return _Finding(
        ItemState.POSITIVE if positive else ItemState.NEGATIVE,
        _("sialography %(stage)s") % {"stage": SialographyStage(stage).label},
    )


def japanese_items(findings: SjogrenFindings) -> tuple[ItemResult, ...]:
    """The four Japanese 1999 items, each positive, negative or unknown."""
    # Item 1: labial or lacrimal biopsy, >= 1 focus per 4 mm2 (either site counts).
    histopathology = _compare(
        findings, "focus_score_per_4mm2", JAPANESE_FOCUS_SCORE_MIN, at_most=False
    )
    # Item 2: sialography stage >= I, or reduced secretion (gum or Saxon) with reduced
    # function on scintigraphy.
    oral = _any_of(
        _sialography_stage(findings),
        _all_of(
            _any_of(
                _compare(
                    findings, "gum_test_ml_10min", JAPANESE_GUM_TEST_MAX_ML_10MIN, at_most=True
                ),
                _compare(
                    findings, "saxon_test_g_2min", JAPANESE_SAXON_TEST_MAX_G_2MIN, at_most=True
                ),
            ),
            _answer(findings, "scintigraphy_reduced_function"),
        ),
    )
    # Item 3: Schirmer <= 5 mm/5 min and (rose bengal >= 3 or positive fluorescein).
    ocular = _all_of(
        _compare(findings, "schirmer_mm_5min", JAPANESE_SCHIRMER_MAX_MM_5MIN, at_most=True),
        _any_of(
            _compare(findings, "van_bijsterveld_score", JAPANESE_ROSE_BENGAL_MIN, at_most=False),
            _answer(findings, "fluorescein_staining_positive"),
        ),
    )
    serology = _any_of(_antibody(findings, "anti_ssa_ro"), _antibody(findings, "anti_ssb_la"))
    return (
        _item("1", _("1 (histopathology)"), histopathology),
        _item("2", _("2 (oral examination)"), oral),
        _item("3", _("3 (ocular examination)"), ocular),
        _item("4", _("4 (serology)"), serology),
    )


def classify_japanese(findings: SjogrenFindings) -> ClassificationResult:
    """Japanese 1999 revised criteria: at least 2 of 4 items positive."""
    items = japanese_items(findings)
    positive = [item for item in items if item.state == ItemState.POSITIVE]
    unknown = [item for item in items if item.state == ItemState.UNKNOWN]

    def result(status: SetStatus, missing: tuple[str, ...], text: str) -> ClassificationResult:
        return ClassificationResult(CriteriaSet.JAPANESE_1999, status, items, (), missing, text)

    values = {
        "count": len(positive),
        "total": len(items),
        "needed": JAPANESE_MIN_ITEMS,
        "items": "; ".join(
            _("%(item)s: %(finding)s") % {"item": item.name, "finding": item.finding}
            for item in positive
        )
        or _("none"),
    }
    if len(positive) >= JAPANESE_MIN_ITEMS:
        return result(
            SetStatus.MET,
            (),
            _("Japanese 1999 met: %(count)s of %(total)s items positive (%(items)s)") % values,
        )
    if len(positive) + len(unknown) < JAPANESE_MIN_ITEMS:
        return result(
            SetStatus.NOT_MET,
            (),
            _(
                "Japanese 1999 not met: %(count)s of %(total)s items positive (%(items)s); "
                "needs %(needed)s"
            )
            % values,
        )
    missing = _unique(m for item in unknown for m in item.missing_items)
    return result(
        SetStatus.UNDETERMINED,
        missing,
        _("Japanese 1999 undetermined: missing %(missing)s") % {"missing": "; ".join(missing)},
    )


def classify(findings: SjogrenFindings) -> tuple[ClassificationResult, ClassificationResult]:
    """Both sets, AECG 2002 first."""
    return classify_aecg(findings), classify_japanese(findings)
