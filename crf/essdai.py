"""The ESSDAI instrument as data, and its scorer (REFERENCE.md "ESSDAI").

Twelve domains in the order of the published table, each with its weight and only the
activity levels it has, each level with the full description from the user guide so a
rater can score from the screen alone.  Total = sum of weight x level; range 0-123.

Weights and level descriptions are the instrument itself (Seror 2010 / user guide 2015),
not trial parameters, so they live here; the category cut-offs, the MCII and the
version string are the trial's reading of the instrument and come from
``trialsite.protocol``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from django.db.models import IntegerChoices, TextChoices
from django.utils.functional import Promise
from django.utils.text import format_lazy
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from trialsite.protocol import ESSDAI_HIGH_FROM, ESSDAI_MODERATE_FROM, ESSDAI_VERSION


class ActivityLevel(IntegerChoices):
    NONE = 0, _("none")
    LOW = 1, _("low")
    MODERATE = 2, _("moderate")
    HIGH = 3, _("high")


class EssdaiCategory(TextChoices):
    # Seror 2016 activity categories; cut-offs in trialsite.protocol.
    LOW = "low", _("low activity")
    MODERATE = "moderate", _("moderate activity")
    HIGH = "high", _("high activity")


@dataclass(frozen=True)
class EssdaiLevel:
    value: int
    description: str | Promise

    @property
    def label(self) -> str | Promise:
        return ActivityLevel(self.value).label


@dataclass(frozen=True)
class EssdaiDomain:
    code: str
    name: str | Promise
    weight: int
    levels: tuple[EssdaiLevel, ...]

    @property
    def allowed_levels(self) -> frozenset[int]:
        return frozenset(level.value for level in self.levels)

    @property
    def max_level(self) -> int:
        return max(self.allowed_levels)

    @property
    def max_points(self) -> int:
        return self.weight * self.max_level

    def level(self, value: int) -> EssdaiLevel:
        for level in self.levels:
            if level.value == value:
                return level
        raise InvalidEssdaiLevel(self.code, value)


# Level 0 reads the same in every domain; the guide's general rule is repeated so the
# rater sees it on every question.
_NO_ACTIVITY = EssdaiLevel(
    0,
    _(
        "No activity in this domain. Features due to damage, to infection or stable for a "
        "long time are scored 0."
    ),
)


def _domain(
    code: str,
    name: str | Promise,
    weight: int,
    low: str | Promise | None,
    moderate: str | Promise | None,
    high: str | Promise | None,
) -> EssdaiDomain:
    # A level the published table leaves blank ("-") does not exist for the domain, so it
    # is never offered and never scored (REFERENCE.md: "must be impossible to enter").
    levels = [_NO_ACTIVITY]
    for value, description in ((1, low), (2, moderate), (3, high)):
        if description is not None:
            levels.append(EssdaiLevel(value, description))
    return EssdaiDomain(code=code, name=name, weight=weight, levels=tuple(levels))


DOMAINS: tuple[EssdaiDomain, ...] = (
    _domain(
        "constitutional",
        _("Constitutional"),
        3,
        low=_(
            # xgettext:no-python-format (a percent sign, not a placeholder)
            "Mild or intermittent fever (37.5–38.5 °C) / night sweats and/or involuntary "
            "weight loss of 5–10 % of body weight."
        ),
        moderate=_(
            # xgettext:no-python-format (a percent sign, not a placeholder)
            "Severe fever (> 38.5 °C) / night sweats and/or involuntary weight loss of > 10 % "
            "of body weight."
        ),
        high=None,
    ),
    _domain(
        "lymphadenopathy",
        _("Lymphadenopathy and lymphoma"),
        4,
        low=_("Lymphadenopathy ≥ 1 cm in any nodal region or ≥ 2 cm in the inguinal region."),
        moderate=_(
            "Lymphadenopathy ≥ 2 cm in any nodal region or ≥ 3 cm in the inguinal region, "
            "and/or splenomegaly (clinically palpable or assessed by imaging)."
        ),
        high=_("Current malignant B-cell proliferative disorder."),
    ),
    _domain(
        "glandular",
        _("Glandular"),
        2,
        low=_(
            "Small glandular swelling: enlarged parotid ≤ 3 cm, or limited submandibular or "
            "lacrimal swelling."
        ),
        moderate=_(
            "Major glandular swelling: enlarged parotid > 3 cm, or important submandibular or "
            "lacrimal swelling."
        ),
        high=None,
    ),
    _domain(
        "articular",
        _("Articular"),
        2,
        low=_(
            "Arthralgias in hands, wrists, ankles and feet accompanied by morning stiffness "
            "(> 30 min)."
        ),
        moderate=_("1 to 5 synovitis (of 28 joints)."),
        high=_("6 or more synovitis (of 28 joints)."),
    ),
    _domain(
        "cutaneous",
        _("Cutaneous"),
        3,
        low=_("Erythema multiforme."),
        moderate=_(
            "Limited cutaneous vasculitis, including urticarial vasculitis, or purpura limited "
            "to feet and ankles, or subacute cutaneous lupus."
        ),
        high=_(
            "Diffuse cutaneous vasculitis, including urticarial vasculitis, or diffuse "
            "purpura, or ulcers related to vasculitis."
        ),
    ),
    _domain(
        "pulmonary",
        _("Pulmonary"),
        5,
        low=_(
            "Persistent cough or bronchial involvement with no radiographic abnormalities on "
            "chest X-ray, or radiological or HRCT evidence of interstitial lung disease with "
            "no breathlessness and normal lung function tests."
        ),
        moderate=_(
            "Moderately active lung involvement, such as interstitial lung disease shown by "
            "HRCT with shortness of breath on exercise (NYHA II), or abnormal lung function "
            "tests restricted to 40 % ≤ DLCO < 70 % and/or 60 % ≤ FVC < 80 %."
        ),
        high=_(
            "Highly active lung involvement, such as interstitial lung disease shown by HRCT "
            "with shortness of breath at rest (NYHA III, IV), or abnormal lung function tests "
            "with DLCO < 40 % and/or FVC < 60 %."
        ),
    ),
    # *check*: weight 5 for renal, PNS and CNS, 2 for haematological and 1 for biological
    # are to be confirmed against Seror 2010 before release (REFERENCE.md).
    _domain(
        "renal",
        _("Renal"),
        5,
        low=_(
            "Tubular acidosis without renal failure (GFR ≥ 60 mL/min), or glomerular "
            "involvement with proteinuria between 0.5 and 1 g/day and without haematuria or "
            "renal failure (GFR ≥ 60 mL/min)."
        ),
        moderate=_(
            "Tubular acidosis with renal failure (GFR < 60 mL/min), or glomerular involvement "
            "with proteinuria between 1 and 1.5 g/day and without haematuria or renal failure "
            "(GFR ≥ 60 mL/min), or histological evidence of extra-membranous "
            "glomerulonephritis or of an important interstitial lymphoid infiltrate."
        ),
        high=_(
            "Glomerular involvement with proteinuria > 1.5 g/day, or haematuria, or renal "
            "failure (GFR < 60 mL/min), or histological evidence of proliferative "
            "glomerulonephritis or of cryoglobulinaemia-related renal involvement."
        ),
    ),
    _domain(
        "muscular",
        _("Muscular"),
        6,
        low=_(
            "Active myositis shown by abnormal EMG, muscle biopsy or MRI, with no weakness and "
            "creatine kinase ≤ 2 × N."
        ),
        moderate=_(
            "Moderately active myositis shown by abnormal EMG, muscle biopsy or MRI, with "
            "weakness (maximal deficit 4/5) or raised creatine kinase (2 × N < CK ≤ 4 × N)."
        ),
        high=_(
            "Highly active myositis shown by abnormal EMG, muscle biopsy or MRI, with weakness "
            "(deficit ≤ 3/5) or raised creatine kinase (> 4 × N)."
        ),
    ),
    _domain(
        "pns",
        _("Peripheral nervous system"),
        5,
        low=_(
            "Mildly active peripheral nervous system involvement, such as pure sensory axonal "
            "polyneuropathy shown by nerve conduction studies, or trigeminal (V) neuralgia."
        ),
        moderate=_(
            "Moderately active peripheral nervous system involvement shown by nerve conduction "
            "studies, such as axonal sensorimotor neuropathy with maximal motor deficit of "
            "4/5; pure sensory neuropathy with cryoglobulinaemic vasculitis; ganglionopathy "
            "with symptoms restricted to mild or moderate ataxia; inflammatory demyelinating "
            "polyneuropathy (CIDP) with mild functional impairment (maximal motor deficit 4/5 "
            "or mild ataxia); or cranial nerve involvement of peripheral origin (except "
            "trigeminal (V) neuralgia)."
        ),
        high=_(
            "Highly active peripheral nervous system involvement shown by nerve conduction "
            "studies, such as axonal sensorimotor neuropathy with motor deficit ≤ 3/5; "
            "peripheral nerve involvement due to vasculitis (mononeuritis multiplex etc.); "
            "severe ataxia due to ganglionopathy; or inflammatory demyelinating "
            "polyneuropathy (CIDP) with severe functional impairment (motor deficit ≤ 3/5 or "
            "severe ataxia)."
        ),
    ),
    _domain(
        "cns",
        _("Central nervous system"),
        5,
        # The published table has no low level for the CNS.
        low=None,
        moderate=_(
            "Moderately active central nervous system features, such as cranial nerve "
            "involvement of central origin, optic neuritis, or multiple-sclerosis-like "
            "syndrome with symptoms restricted to pure sensory impairment or proven "
            "cognitive impairment."
        ),
        high=_(
            "Highly active central nervous system features, such as cerebral vasculitis with "
            "cerebrovascular accident or transient ischaemic attack, seizures, transverse "
            "myelitis, lymphocytic meningitis, or multiple-sclerosis-like syndrome with "
            "motor deficit."
        ),
    ),
    # *check*: range boundaries follow the common implementation (low = 1.0 < neutrophils
    # < 1.5); g/dL is the guide's unit for Hb, the g/L equivalent is added for our labs.
    _domain(
        "haematological",
        _("Haematological"),
        2,
        low=_(
            "Autoimmune cytopenia with neutropenia (1.0 < neutrophils < 1.5 × 10⁹/L), and/or "
            "anaemia (10 < haemoglobin < 12 g/dL, i.e. 100–120 g/L), and/or thrombocytopenia "
            "(100 < platelets < 150 × 10⁹/L), or lymphopenia (0.5 < lymphocytes < 1.0 × "
            "10⁹/L)."
        ),
        moderate=_(
            "Autoimmune cytopenia with neutropenia (0.5 ≤ neutrophils ≤ 1.0 × 10⁹/L), and/or "
            "anaemia (8 ≤ haemoglobin ≤ 10 g/dL, i.e. 80–100 g/L), and/or thrombocytopenia "
            "(50 ≤ platelets ≤ 100 × 10⁹/L), or lymphopenia (lymphocytes ≤ 0.5 × 10⁹/L)."
        ),
        high=_(
            "Autoimmune cytopenia with neutropenia (neutrophils < 0.5 × 10⁹/L), and/or "
            "anaemia (haemoglobin < 8 g/dL, i.e. < 80 g/L), and/or thrombocytopenia "
            "(platelets < 50 × 10⁹/L)."
        ),
    ),
    _domain(
        "biological",
        _("Biological"),
        1,
        low=_(
            "Any of the following: clonal component; hypocomplementaemia (low C4, C3 or "
            "CH50); hypergammaglobulinaemia or high IgG level between 16 and 20 g/L."
        ),
        moderate=_(
            "Presence of cryoglobulinaemia; hypergammaglobulinaemia or high IgG level > 20 "
            "g/L; recent onset hypogammaglobulinaemia or recent decrease of IgG level "
            "(< 5 g/L)."
        ),
        high=None,
    ),
)

DOMAIN_CODES: tuple[str, ...] = tuple(domain.code for domain in DOMAINS)
DOMAINS_BY_CODE: Mapping[str, EssdaiDomain] = MappingProxyType(
    {domain.code: domain for domain in DOMAINS}
)
# Derived, not written: the published maximum (123) is checked by a test.
ESSDAI_MAX_TOTAL: int = sum(domain.max_points for domain in DOMAINS)

# A form's choice label: "2 – moderate: <description>".  Lazy, so a form class built at
# import time still shows the request's language.
_CHOICE_LABEL = _("{value} – {label}: {description}")


class EssdaiError(ValueError):
    """A set of ESSDAI levels that cannot be scored.  ``code`` suits ValidationError."""

    code = "essdai_invalid"


class InvalidEssdaiLevel(EssdaiError):
    code = "essdai_invalid_level"

    def __init__(self, domain: str, level: object) -> None:
        self.domain = domain
        self.level = level
        super().__init__(
            gettext("ESSDAI domain %(domain)s has no level %(level)s.")
            % {"domain": domain, "level": level}
        )


class UnknownEssdaiDomain(EssdaiError):
    code = "essdai_unknown_domain"

    def __init__(self, domains: tuple[str, ...]) -> None:
        self.domains = domains
        super().__init__(
            gettext("Unknown ESSDAI domain(s): %(domains)s.") % {"domains": ", ".join(domains)}
        )


class MissingEssdaiDomain(EssdaiError):
    code = "essdai_missing_domain"

    def __init__(self, domains: tuple[str, ...]) -> None:
        self.domains = domains
        super().__init__(
            gettext("ESSDAI cannot be scored without domain(s): %(domains)s.")
            % {"domains": ", ".join(domains)}
        )


@dataclass(frozen=True)
class DomainContribution:
    domain: EssdaiDomain
    level: int
    points: int  # weight x level


@dataclass(frozen=True)
class EssdaiScore:
    total: int
    category: EssdaiCategory
    contributions: tuple[DomainContribution, ...]  # reference order, one per domain
    version: str

    def points(self, domain_code: str) -> int:
        for contribution in self.contributions:
            if contribution.domain.code == domain_code:
                return contribution.points
        raise UnknownEssdaiDomain((domain_code,))


def get_domain(domain_code: str) -> EssdaiDomain:
    try:
        return DOMAINS_BY_CODE[domain_code]
    except KeyError:
        raise UnknownEssdaiDomain((domain_code,)) from None


def level_choices(domain_code: str) -> list[tuple[int, str | Promise]]:
    """(value, label) pairs of the levels the domain has, for a form's ChoiceField."""
    domain = get_domain(domain_code)
    return [
        (
            level.value,
            format_lazy(
                _CHOICE_LABEL,
                value=level.value,
                label=level.label,
                description=level.description,
            ),
        )
        for level in domain.levels
    ]


def essdai_category(total: int) -> EssdaiCategory:
    """Seror 2016: low < 5, moderate 5-13, high >= 14 (cut-offs from the protocol module)."""
    if isinstance(total, bool) or not isinstance(total, int):
        raise TypeError(gettext("An ESSDAI total must be a whole number."))
    if not 0 <= total <= ESSDAI_MAX_TOTAL:
        raise EssdaiError(
            gettext("An ESSDAI total must be between 0 and %(maximum)s, not %(total)s.")
            % {"maximum": ESSDAI_MAX_TOTAL, "total": total}
        )
    if total >= ESSDAI_HIGH_FROM:
        return EssdaiCategory.HIGH
    if total >= ESSDAI_MODERATE_FROM:
        return EssdaiCategory.MODERATE
    return EssdaiCategory.LOW


def score_essdai(levels: Mapping[str, int | None]) -> EssdaiScore:
    """Score one assessment: every domain must be rated (0 is a rating, None is not).

    Raises ``UnknownEssdaiDomain`` (all unknown codes), then ``MissingEssdaiDomain`` (all
    missing codes), then ``InvalidEssdaiLevel`` for the first domain in reference order
    whose level it does not have (out of 0-3, a blank level such as constitutional 3 or
    CNS 1, or not a whole number).
    """
    unknown = tuple(sorted(code for code in levels if code not in DOMAINS_BY_CODE))
    if unknown:
        raise UnknownEssdaiDomain(unknown)
    missing = tuple(code for code in DOMAIN_CODES if levels.get(code) is None)
    if missing:
        raise MissingEssdaiDomain(missing)

    contributions = []
    for domain in DOMAINS:
        value = levels[domain.code]
        # bool is an int in Python; a tick box must not pass as level 1.
        if isinstance(value, bool) or not isinstance(value, int):
            raise InvalidEssdaiLevel(domain.code, value)
        level = domain.level(value)
        contributions.append(
            DomainContribution(domain=domain, level=level.value, points=domain.weight * value)
        )
    total = sum(contribution.points for contribution in contributions)
    return EssdaiScore(
        total=total,
        category=essdai_category(total),
        contributions=tuple(contributions),
        version=ESSDAI_VERSION,
    )
