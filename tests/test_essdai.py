"""ESSDAI as data and its scorer (REFERENCE.md "ESSDAI"); no database."""

from __future__ import annotations

import pytest

from crf.essdai import (
    DOMAIN_CODES,
    DOMAINS,
    ESSDAI_MAX_TOTAL,
    EssdaiCategory,
    InvalidEssdaiLevel,
    MissingEssdaiDomain,
    UnknownEssdaiDomain,
    essdai_category,
    get_domain,
    level_choices,
    score_essdai,
)
from trialsite.protocol import ESSDAI_HIGH_FROM, ESSDAI_MODERATE_FROM, ESSDAI_VERSION

# The published weights (Seror 2010), written out here on purpose: the test is the check
# that the data in crf/essdai.py matches the paper.
PUBLISHED_WEIGHTS = {
    "constitutional": 3,
    "lymphadenopathy": 4,
    "glandular": 2,
    "articular": 2,
    "cutaneous": 3,
    "pulmonary": 5,
    "renal": 5,
    "muscular": 6,
    "pns": 5,
    "cns": 5,
    "haematological": 2,
    "biological": 1,
}

FORBIDDEN_LEVELS = [
    ("constitutional", 3),
    ("glandular", 3),
    ("biological", 3),
    ("cns", 1),
]


def all_levels(value: int = 0, **overrides: int | None) -> dict[str, int | None]:
    levels: dict[str, int | None] = dict.fromkeys(DOMAIN_CODES, value)
    levels.update(overrides)
    return levels


def highest_levels() -> dict[str, int]:
    return {domain.code: domain.max_level for domain in DOMAINS}


def test_domains_follow_the_reference_order():
    assert tuple(PUBLISHED_WEIGHTS) == DOMAIN_CODES


def test_no_activity_anywhere_scores_zero_and_low_activity():
    score = score_essdai(all_levels(0))

    assert score.total == 0
    assert score.category == EssdaiCategory.LOW
    assert all(c.points == 0 for c in score.contributions)
    assert score.version == ESSDAI_VERSION


def test_highest_level_in_every_domain_scores_the_published_maximum_123():
    score = score_essdai(highest_levels())

    assert score.total == 123
    assert ESSDAI_MAX_TOTAL == 123
    assert score.category == EssdaiCategory.HIGH


@pytest.mark.parametrize(("code", "weight"), PUBLISHED_WEIGHTS.items())
def test_each_domain_carries_its_published_weight(code, weight):
    assert get_domain(code).weight == weight
    # Level 1 alone (or 2 for the CNS, which has no level 1) contributes weight x level.
    level = 2 if code == "cns" else 1
    score = score_essdai(all_levels(0, **{code: level}))
    assert score.points(code) == weight * level
    assert score.total == weight * level


@pytest.mark.parametrize(("code", "level"), FORBIDDEN_LEVELS)
def test_a_level_the_domain_does_not_have_is_rejected(code, level):
    with pytest.raises(InvalidEssdaiLevel) as raised:
        score_essdai(all_levels(0, **{code: level}))

    assert raised.value.domain == code
    assert raised.value.level == level


@pytest.mark.parametrize(("code", "level"), FORBIDDEN_LEVELS)
def test_a_level_the_domain_does_not_have_is_never_offered(code, level):
    offered = [value for value, _label in level_choices(code)]

    assert level not in offered
    assert 0 in offered


def test_domains_with_every_level_offer_all_four():
    assert [value for value, _label in level_choices("renal")] == [0, 1, 2, 3]


def test_choice_labels_carry_the_full_description():
    labels = dict(level_choices("cns"))

    assert "optic neuritis" in str(labels[2])
    assert "transverse myelitis" in str(labels[3])


@pytest.mark.parametrize("level", [4, -1])
def test_a_level_outside_0_to_3_is_rejected(level):
    with pytest.raises(InvalidEssdaiLevel) as raised:
        score_essdai(all_levels(0, renal=level))

    assert raised.value.domain == "renal"


def test_a_tick_box_true_is_not_taken_for_level_1():
    with pytest.raises(InvalidEssdaiLevel):
        score_essdai(all_levels(0, articular=True))


def test_an_unknown_domain_is_rejected():
    with pytest.raises(UnknownEssdaiDomain) as raised:
        score_essdai(all_levels(0, hepatic=1))

    assert raised.value.domains == ("hepatic",)


def test_a_missing_domain_is_rejected_and_named():
    levels = all_levels(0)
    del levels["muscular"]

    with pytest.raises(MissingEssdaiDomain) as raised:
        score_essdai(levels)

    assert raised.value.domains == ("muscular",)


def test_a_domain_left_blank_counts_as_missing_not_as_zero():
    with pytest.raises(MissingEssdaiDomain) as raised:
        score_essdai(all_levels(0, pns=None))

    assert raised.value.domains == ("pns",)


def test_contributions_are_weight_times_level_per_domain():
    score = score_essdai(all_levels(0, muscular=2, articular=3, biological=1))

    points = {c.domain.code: c.points for c in score.contributions}
    assert points["muscular"] == 12
    assert points["articular"] == 6
    assert points["biological"] == 1
    assert score.total == 19


@pytest.mark.parametrize(
    ("total", "category"),
    [
        (4, EssdaiCategory.LOW),
        (5, EssdaiCategory.MODERATE),
        (13, EssdaiCategory.MODERATE),
        (14, EssdaiCategory.HIGH),
    ],
)
def test_activity_category_boundaries_are_5_and_14(total, category):
    assert ESSDAI_MODERATE_FROM == 5
    assert ESSDAI_HIGH_FROM == 14
    assert essdai_category(total) == category


def test_a_scored_total_of_5_is_moderate_activity():
    # glandular 1 (2) + constitutional 1 (3) = 5
    score = score_essdai(all_levels(0, glandular=1, constitutional=1))

    assert score.total == 5
    assert score.category == EssdaiCategory.MODERATE
