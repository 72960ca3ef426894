"""Outcome review: ESSDAI/ESSPRI before and after, the composite response, the trial summary."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from django.db import connection
from django.test import override_settings
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from crf import charts
from crf.outcomes import ResponseOutcome
from crf.selectors import outcome_review
from tests.factories.crf import (
    fill_full_set,
    make_participant,
    make_visit,
    record_con_med,
    save_essdai,
    today,
)

A_BASELINE = {
    "constitutional": 1,
    "lymphadenopathy": 1,
    "glandular": 2,
    "articular": 1,
    "haematological": 1,
    "biological": 2,
}  # 3 + 4 + 4 + 2 + 2 + 2 = 17
A_WEEK_28 = {"glandular": 1, "biological": 1}  # 2 + 1 = 3
B_BASELINE = {
    "glandular": 1,
    "articular": 2,
    "haematological": 1,
    "biological": 1,
}  # 2 + 4 + 2 + 1 = 9
B_WEEK_28 = {
    "glandular": 1,
    "articular": 1,
    "haematological": 1,
    "biological": 1,
}  # 2 + 2 + 2 + 1 = 7
C_BASELINE = {"articular": 2, "glandular": 1}  # 6


def enrol(site, coordinator, investigator):
    return make_participant(site=site, coordinator=coordinator, investigator=investigator)


@pytest.fixture
def trial(
    site_pumch,
    coordinator_pumch,
    investigator_pumch,
    site_chcmu,
    coordinator_chcmu,
    investigator_chcmu,
):
    """A: big fall (MCII, responder); B: small fall; C: baseline only; D at the other site."""
    user = coordinator_pumch
    a = enrol(site_pumch, coordinator_pumch, investigator_pumch)
    fill_full_set(
        make_visit(a, "BASELINE", user=user),
        user,
        essdai=A_BASELINE,
        esspri=(8, 7, 6),
        physician_global="6",
        schirmer="3",
        saliva="0.6",
        labs={"esr": "38", "igg": "21.5", "rf": "85"},
    )
    fill_full_set(
        make_visit(a, "W28", user=user),
        user,
        essdai=A_WEEK_28,
        esspri=(4, 4, 2),
        physician_global="2.5",
        schirmer="6",
        saliva="0.9",
        labs={"esr": "12", "igg": "17.8", "rf": "52"},
    )
    record_con_med(a, user, drug="prednisone", dose="10")
    b = enrol(site_pumch, coordinator_pumch, investigator_pumch)
    fill_full_set(
        make_visit(b, "BASELINE", user=user),
        user,
        essdai=B_BASELINE,
        esspri=(6, 6, 6),
        labs={"esr": "30"},
    )
    fill_full_set(
        make_visit(b, "W28", user=user),
        user,
        essdai=B_WEEK_28,
        esspri=(6, 5, 6),
        physician_global="4.5",
        labs={"esr": "26"},
    )
    c = enrol(site_pumch, coordinator_pumch, investigator_pumch)
    fill_full_set(make_visit(c, "BASELINE", user=user), user, essdai=C_BASELINE)
    d = enrol(site_chcmu, coordinator_chcmu, investigator_chcmu)
    fill_full_set(
        make_visit(d, "BASELINE", user=coordinator_chcmu), coordinator_chcmu, essdai=A_BASELINE
    )
    return {"a": a, "b": b, "c": c, "d": d}


@pytest.mark.django_db
def test_the_review_computes_change_category_mcii_and_the_trial_summary(trial, investigator_pumch):
    review = outcome_review(investigator_pumch, today())

    rows = {row.participant: row for row in review.rows}
    assert set(rows) == {trial["a"], trial["b"], trial["c"]}
    a, b, c = rows[trial["a"]], rows[trial["b"]], rows[trial["c"]]
    assert (a.essdai_w28.baseline, a.essdai_w28.follow_up, a.essdai_w28.change) == (17, 3, -14)
    assert (a.essdai_w28.baseline_category, a.essdai_w28.follow_up_category) == ("high", "low")
    assert a.essdai_w28.mcii and not b.essdai_w28.mcii
    assert b.essdai_w28.change == -2
    assert c.essdai_w28 is None
    assert a.esspri_w28.change == Decimal("-3.67") and a.esspri_w28.mcii
    assert not b.esspri_w28.mcii

    summary = review.essdai_w28
    assert (summary.n_participants, summary.n_paired, summary.n_mcii) == (3, 2, 1)
    # Inclusive quartiles of [-14, -2]: median -8, Q1 -11, Q3 -5.
    assert (summary.median_change, summary.q1_change, summary.q3_change) == (
        Decimal("-8.00"),
        Decimal("-11.00"),
        Decimal("-5.00"),
    )
    assert [lacking.subject_id for lacking in summary.lacking] == [trial["c"].subject_id]


@pytest.mark.django_db
def test_the_composite_response_shows_each_component(trial, investigator_pumch):
    rows = {r.participant: r for r in outcome_review(investigator_pumch, today()).rows}

    a, b, c = rows[trial["a"]].composite, rows[trial["b"]].composite, rows[trial["c"]].composite
    assert a.outcome == ResponseOutcome.RESPONDER
    assert [comp.status for comp in a.components] == ["met", "met", "met", "not_met", "met"]
    assert b.outcome == ResponseOutcome.NON_RESPONDER and b.met == 0
    assert c is None  # no week-28 visit


@pytest.mark.django_db
def test_the_glucocorticoid_dose_is_shown_per_kg_at_baseline_and_week_28(trial, investigator_pumch):
    rows = {r.participant: r for r in outcome_review(investigator_pumch, today()).rows}

    a, b = rows[trial["a"]], rows[trial["b"]]
    assert a.baseline.glucocorticoid == a.week28.glucocorticoid == Decimal("0.250")  # 10 mg / 40 kg
    assert b.baseline.glucocorticoid == 0


@pytest.mark.django_db
def test_the_page_shows_the_numbers_the_plot_and_who_lacks_a_time_point(
    client_for, trial, investigator_pumch
):
    html = client_for(investigator_pumch).get(reverse("crf:outcomes")).content.decode()

    summary = re.search(r'data-summary="essdai-w28".*?</section>', html, re.S).group(0)
    assert re.search(r"data-median>-8<", summary)
    assert re.search(r"data-iqr>-11 to -5<", summary)
    assert re.search(r"data-n-mcii>1 / 2<", summary)
    assert 'data-plot="essdai-paired" data-lines="3"' in html
    assert f'data-lacking-participant="{trial["c"].subject_id}"' in html
    assert f'data-series="{trial["a"].subject_id}"' in html
    assert trial["d"].subject_id not in html


@pytest.mark.django_db
def test_the_data_manager_reviews_every_site(trial, data_manager):
    review = outcome_review(data_manager, today())
    assert {row.participant for row in review.rows} == set(trial.values())


@pytest.mark.django_db
def test_coordinators_and_monitors_cannot_open_the_outcome_review(
    client, coordinator_pumch, monitor_pumch
):
    for user in (coordinator_pumch, monitor_pumch):
        client.force_login(user)
        assert client.get(reverse("crf:outcomes")).status_code == 403


@pytest.mark.django_db
def test_another_sites_investigator_sees_none_of_these_participants(
    client_for, trial, investigator_chcmu
):
    html = client_for(investigator_chcmu).get(reverse("crf:outcomes")).content.decode()

    assert trial["d"].subject_id in html
    for key in ("a", "b", "c"):
        assert trial[key].subject_id not in html


@pytest.mark.django_db
def test_the_review_reads_in_a_fixed_number_of_queries(trial, data_manager, investigator_pumch):
    outcome_review(investigator_pumch, today())  # warms the permission cache
    with CaptureQueriesContext(connection) as three:
        outcome_review(investigator_pumch, today())
    outcome_review(data_manager, today())
    with CaptureQueriesContext(connection) as four:
        outcome_review(data_manager, today())
    assert len(four) <= len(three)


# --- the plots' geometry (no database) --------------------------------------------------


def test_the_paired_plot_draws_one_line_per_participant_and_skips_missing_points():
    plot = charts.paired_plot(
        [
            charts.PairedSeries("P-1", (17, 11, 3), improved=True),
            charts.PairedSeries("P-2", (9, None, 7), improved=False),
            charts.PairedSeries("P-3", (6, None, None), improved=None),
            charts.PairedSeries("P-4", (None, None, None), improved=None),
        ],
        time_points=("Baseline", "Week 12", "Week 28"),
    )

    assert [line.label for line in plot.lines] == ["P-1", "P-2", "P-3"]
    assert [len(line.points) for line in plot.lines] == [3, 2, 1]
    assert plot.n_series == 4
    p1 = plot.lines[0].points
    assert p1[0].y < p1[1].y < p1[2].y  # a falling ESSDAI goes down the plot
    assert "mcii" in plot.lines[0].css_class and "no-mcii" in plot.lines[1].css_class


def test_end_labels_never_overlap_even_for_equal_end_values():
    plot = charts.paired_plot(
        [charts.PairedSeries(f"P-{i}", (10, 5), improved=True) for i in range(4)],
        time_points=("Baseline", "Week 28"),
    )
    ys = sorted(line.label_y for line in plot.lines)
    assert all(b - a >= charts.LABEL_GAP for a, b in zip(ys, ys[1:], strict=False))


def test_the_b_cell_plot_is_logarithmic_with_the_depletion_line():
    plot = charts.trend_plot(
        [charts.TrendSeries("P-1", ((0, Decimal(300)), (10, Decimal(3)), (84, Decimal("0.5"))))]
    )
    line = plot.lines[0]
    floor_y = plot.bottom
    assert line.points[2].y == floor_y  # below 1 ×10⁶/L: drawn on the floor
    assert [t.label for t in plot.y_ticks] == ["1", "10", "100", "1000"]
    assert plot.bands[0].y < floor_y


def test_the_plot_lines_are_drawn_as_svg_with_every_text_escaped():
    from django.template import Context, Template

    plot = charts.paired_plot(
        [
            charts.PairedSeries("P<1>", (17, 11, 3), improved=True),
            charts.PairedSeries("P-2", (9, None, None), improved=None),
        ],
        time_points=("Baseline", "Week 12", "Week 28"),
    )
    html = Template("{% load crf_plots %}{% plot_lines plot %}").render(Context({"plot": plot}))

    first, second = plot.lines
    assert html.count("<g class=") == 2
    assert 'data-series="P&lt;1&gt;"' in html and "P<1>" not in html
    assert f'<polyline points="{first.polyline}"/>' in html
    assert html.count("<polyline") == 1  # a single point draws no line
    assert f'x="{int(second.end.x) + 8}" y="{second.label_y}"' in html
    assert html.count("<circle") == 4


@pytest.mark.django_db
def test_the_composite_reads_the_esr_upper_limit_from_the_configured_ranges(
    trial, investigator_pumch
):
    def esr_of_b():
        review = outcome_review(investigator_pumch, today())
        row = next(r for r in review.rows if r.participant == trial["b"])
        return review.esr_upper_limit, row.composite.components[1]

    limit, esr = esr_of_b()  # 30 -> 26 mm/h
    assert limit == Decimal("20") and esr.status == "not_met"
    with override_settings(LAB_REFERENCE_RANGES={"esr": [None, "30"]}):
        limit, esr = esr_of_b()
    assert limit == Decimal("30") and esr.status == "met"
    assert "upper limit 30 mm/h" in esr.reason


@pytest.mark.django_db
def test_every_measure_lists_who_lacks_a_time_point_and_undetermined_composites_apart(
    client_for, trial, investigator_pumch, coordinator_pumch
):
    # E: baseline and week 28 visits with an ESSDAI only: the composite cannot be decided.
    e = enrol(trial["a"].site, coordinator_pumch, investigator_pumch)
    save_essdai(make_visit(e, "BASELINE", user=coordinator_pumch), coordinator_pumch)
    save_essdai(make_visit(e, "W28", user=coordinator_pumch), coordinator_pumch)

    review = outcome_review(investigator_pumch, today())
    assert review.composite_undetermined == (e.subject_id,)
    assert (review.n_responders, review.n_composite_determined) == (1, 2)
    html = client_for(investigator_pumch).get(reverse("crf:outcomes")).content.decode()

    def lacking(key: str) -> set[str]:
        block = re.search(rf'data-lacking="{key}".*?</div>', html, re.S)
        found = block.group(0) if block else ""
        return set(re.findall(r'data-lacking-participant="([^"]+)"', found))

    a, b, c = (trial[k].subject_id for k in "abc")
    assert lacking("essdai-w28") == {c}
    assert lacking("essdai-w12") == {a, b, c, e.subject_id}  # nobody had a week-12 visit
    assert lacking("esspri-w28") == {c, e.subject_id}
    assert lacking("esspri-w12") == {a, b, c, e.subject_id}
    assert "no ESSPRI at baseline nor at week 28" in html
    summary = re.search(r"data-composite-summary>.*?</p>", html, re.S).group(0)
    assert "1 responder(s) of 2 participant(s)" in summary
    assert f'data-undetermined-participant="{e.subject_id}"' in summary
