"""Serology is Positive / Negative / Not done (issue 19); "not done" is missing, never
negative, for the eligibility criteria."""

from __future__ import annotations

import pytest

from eligibility.classification import Serology, serology_positive
from eligibility.criteria import Outcome
from eligibility.selectors import assessment_for, facts_for
from tests.factories.eligibility import EligibleScreeningFactory


def test_a_result_reads_as_positive_negative_or_missing():
    assert serology_positive(Serology.POSITIVE) is True
    assert serology_positive(Serology.NEGATIVE) is False
    assert serology_positive(Serology.NOT_DONE) is None
    assert serology_positive(None) is None


@pytest.mark.django_db
def test_hbsag_not_done_is_missing_not_negative(site_pumch):
    screening = EligibleScreeningFactory(site=site_pumch, hbsag=Serology.NOT_DONE)
    assert facts_for(screening).hbsag is None
    assessment = assessment_for(screening)
    assert assessment.outcome != Outcome.ELIGIBLE
    assert "HBsAg" in assessment.missing_items


@pytest.mark.django_db
def test_anti_ssa_positive_still_counts_for_the_classification(site_pumch):
    screening = EligibleScreeningFactory(site=site_pumch)
    assert screening.anti_ssa_ro == Serology.POSITIVE
    assert facts_for(screening).sjogren.anti_ssa_ro is True
    assert assessment_for(screening).outcome == Outcome.ELIGIBLE
