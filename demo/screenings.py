"""Demo screenings in every state, built through the real services.

Also used by the test factories: one definition of "a typical eligible candidate".
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from django.db import transaction

from eligibility import services
from eligibility.classification import Serology
from eligibility.criteria import DrugClass
from eligibility.models import PriorTherapy, Screening, ScreeningLab
from trialsite import units, workflow
from trialsite.audit import audit_context
from trialsite.models import Site, User

# A candidate who meets AECG 2002 (I, II, III, IV, VI) and has resistant disease.
ELIGIBLE_ITEMS = {
    "dry_eyes_daily_over_3_months": True,
    "recurrent_sand_or_gravel_in_eyes": False,
    "tear_substitutes_over_3_times_daily": False,
    "dry_mouth_daily_over_3_months": True,
    "recurrent_salivary_gland_swelling": True,
    "drinks_liquids_to_swallow_dry_food": False,
    "schirmer_mm_5min": Decimal("3"),
    "van_bijsterveld_score": 5,
    "fluorescein_staining_positive": True,
    "biopsy_site": "labial",
    "focus_score_per_4mm2": Decimal("2"),
    "unstimulated_saliva_ml_15min": Decimal("1.2"),
    "diffuse_sialectasis_on_sialography": False,
    "sialography_stage": 1,
    "scintigraphy_reduced_function": True,
    "gum_test_ml_10min": Decimal("8"),
    "saxon_test_g_2min": None,
    "anti_ssa_ro": Serology.POSITIVE,
    "anti_ssb_la": Serology.NEGATIVE,
    "past_head_neck_radiation": False,
    "hepatitis_c": False,
    "aids": False,
    "pre_existing_lymphoma": False,
    "sarcoidosis": False,
    "graft_versus_host_disease": False,
    "anticholinergic_drugs": False,
    "systemic_involvement": ["polyarthritis"],
    "b_cell_activation": ["elevated_igg"],
    "esr_persistently_raised": True,
    "hbsag": Serology.NEGATIVE,
    "hbsab": Serology.NEGATIVE,
    "hbcab": Serology.NEGATIVE,
    "hcv_ab": Serology.NEGATIVE,
    "hiv_ever": False,
    "active_tb": False,
    "other_trial": False,
    "chronic_infection_suppressive_therapy": False,
    "infection_hospitalisation": False,
    "parenteral_antimicrobials": False,
    "live_vaccine": False,
    "high_infection_risk": False,
    "primary_immunodeficiency": False,
    "malignancy_history": False,
    "severe_uncontrolled_other_disease": False,
    "other_disease_needing_systemic_corticosteroids": False,
    "guardian_agrees": True,
    "child_agrees": True,
}

# (analyte, value as entered, unit): the labs of a typical eligible candidate.
ELIGIBLE_LABS = (
    ("creatinine", Decimal("45"), "umol/L"),
    ("height", Decimal("150"), "cm"),
    ("igg", Decimal("18.5"), "g/L"),
    ("iga", Decimal("2.1"), "g/L"),
    ("wbc", Decimal("5.2"), "10^9/L"),
    ("neutrophils", Decimal("3.1"), "10^9/L"),
)


@transaction.atomic
def build_screening(
    *,
    site: Site,
    user: User | None,
    screening_date: date,
    planned_day_0: date,
    date_of_birth: date = date(2014, 5, 10),
    sex: str = "F",
    items: dict | None = None,
    labs: tuple = ELIGIBLE_LABS,
    therapies: bool = True,
    lab_date: date | None = None,
) -> Screening:
    """A screening with every item entered (``items`` overrides the eligible defaults)."""
    screening = services.screening_create(
        site=site,
        user=user,
        screening_date=screening_date,
        date_of_birth=date_of_birth,
        sex=sex,
        planned_day_0=planned_day_0,
    )
    values = {**ELIGIBLE_ITEMS, **(items or {})}
    lab_date = lab_date or screening_date
    with audit_context(user, "demo data"):
        Screening.objects.filter(pk=screening.pk).update(**values, no_prior_therapy=not therapies)
        written = []
        for analyte, value, unit in labs:
            lab = ScreeningLab.objects.create(
                screening=screening,
                analyte=analyte,
                value_entered=value,
                unit_entered=unit,
                value=units.to_canonical(analyte, value, unit),
                taken_on=lab_date,
                created_by=user,
                updated_by=user,
            )
            written.append(lab)
        if therapies:
            for drug, drug_class, years_before in (
                ("methotrexate", DrugClass.IMMUNOSUPPRESSANT, 3),
                ("mycophenolate mofetil", DrugClass.IMMUNOSUPPRESSANT, 2),
                ("prednisone", DrugClass.GLUCOCORTICOID, 3),
            ):
                therapy = PriorTherapy.objects.create(
                    screening=screening,
                    drug_name=drug,
                    drug_class=drug_class,
                    start=screening_date - timedelta(days=365 * years_before),
                    stop=None,
                    created_by=user,
                    updated_by=user,
                )
                written.append(therapy)
        workflow.record_changed(*written, user=user)
    return services.screening_reassess(screening, user=user)


def seed_screenings(today: date) -> dict[str, Screening]:
    """Screenings in each state at PUMCH and CHCMU (only when none exist yet).

    In progress, eligible (not yet signed), not eligible and screen failed at both sites;
    the enrolment demo adds the signed and enrolled ones.  New screenings go at the end, so
    the numbers of the earlier ones (which tests and the README use) do not move.
    """
    if Screening.objects.exists():
        return {}
    pumch, chcmu = Site.objects.get(code="PUMCH"), Site.objects.get(code="CHCMU")
    coordinator = User.objects.get(username="coordinator_pumch")
    coordinator_chcmu = User.objects.get(username="coordinator_chcmu")
    screened = today - timedelta(days=7)
    day_0 = today + timedelta(days=7)
    built = {}
    built["eligible_unsigned"] = build_screening(
        site=pumch, user=coordinator, screening_date=screened, planned_day_0=day_0
    )
    built["in_progress"] = services.screening_create(
        site=pumch,
        user=coordinator,
        screening_date=today,
        date_of_birth=date(2016, 9, 1),
        sex="M",
        planned_day_0=today + timedelta(days=20),
    )
    built["not_eligible"] = build_screening(
        site=pumch,
        user=coordinator,
        screening_date=screened,
        planned_day_0=day_0,
        date_of_birth=date(2022, 3, 15),  # INC1: too young
        items={"hbsag": Serology.POSITIVE},  # EXC4
    )
    failed = build_screening(
        site=chcmu,
        user=coordinator_chcmu,
        screening_date=screened,
        planned_day_0=day_0,
        items={"live_vaccine": True, "live_vaccine_date": screened - timedelta(days=20)},
    )
    built["screen_failed"] = services.screening_mark_failed(
        screening=failed, user=coordinator_chcmu, reason="3周前接种减毒活疫苗（EXC5）。"
    )
    built["chcmu_in_progress"] = services.screening_create(
        site=chcmu,
        user=coordinator_chcmu,
        screening_date=today,
        date_of_birth=date(2012, 2, 29),
        sex="F",
        planned_day_0=None,
    )
    built["chcmu_eligible_unsigned"] = build_screening(
        site=chcmu,
        user=coordinator_chcmu,
        screening_date=screened,
        planned_day_0=day_0,
        date_of_birth=date(2010, 11, 23),
        sex="M",
    )
    built["chcmu_not_eligible"] = build_screening(
        site=chcmu,
        user=coordinator_chcmu,
        screening_date=screened,
        planned_day_0=day_0,
        date_of_birth=date(2013, 6, 8),
        therapies=False,  # INC3(a): no prior therapy, so not resistant
    )
    other_trial = build_screening(
        site=pumch,
        user=coordinator,
        screening_date=screened,
        planned_day_0=day_0,
        date_of_birth=date(2011, 1, 17),
        items={"other_trial": True, "other_trial_last_date": screened - timedelta(days=60)},
    )
    built["pumch_screen_failed"] = services.screening_mark_failed(
        screening=other_trial,
        user=coordinator,
        reason="2个月前仍在参加另一项临床试验（EXC2）。",
    )
    return built
