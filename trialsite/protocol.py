"""NCT06410833 in numbers: every protocol parameter the software enforces.

One place, one name per number, each with the clause of
``shared/protocol/PROTOCOL.md`` it comes from.  A protocol amendment is a
one-line change here; nothing else in the code may repeat these literals.

Dates are compared with the window convention of PROTOCOL.md "Time":
"within N days before R" means R - N days <= D <= R.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from django.utils.translation import gettext_noop

# --- Trial facts ----------------------------------------------------------
REGISTRY_ID = "NCT06410833"
ORG_STUDY_ID = "K3926"
# The registered title, in English wherever it is exported; the interface shows it
# translated (gettext_noop only marks it for the catalogue).
STUDY_TITLE = gettext_noop(
    "Belimumab after Rituximab in Resistant Primary Juvenile Sjögren's Syndrome"
)
STUDY_SHORT_TITLE = "BELIRIT-pJSS"
STUDY_START = "2024-03-09"
STUDY_COMPLETION = "2026-12-31"
DEFAULT_TIME_ZONE = "Asia/Shanghai"

# --- Plausible clinical dates (issue 16) ------------------------------------------
# A date outside these bounds is a typo (0001-01-01, 9999-12-31), refused on its field
# (trialsite.forms.ClinicalDatesMixin). Nothing is ever dated before this floor.
CLINICAL_DATE_FLOOR = date(1900, 1, 1)
# DATE1: trial events (screening, consent, Day 0, visits, infusions, labs, adverse
# events, deviations) from a year before the registered start (screening, consent) ...
TRIAL_START_MARGIN_DAYS = 365
EARLIEST_TRIAL_DATE = date.fromisoformat(STUDY_START) - timedelta(days=TRIAL_START_MARGIN_DAYS)
# ... to two years after the registered completion (late follow-up, AE resolutions).
TRIAL_END_MARGIN_DAYS = 730
LATEST_CLINICAL_DATE = date.fromisoformat(STUDY_COMPLETION) + timedelta(days=TRIAL_END_MARGIN_DAYS)

# (code, name, city) of the twelve hospitals; the lead site first.
SITES: tuple[tuple[str, str, str], ...] = (
    ("PUMCH", "Peking Union Medical College Hospital", "Beijing"),
    ("CHCMU", "Children's Hospital of Chongqing Medical University", "Chongqing"),
    ("CSU", "Central South University", "Changsha"),
    ("SZCH", "Shenzhen Children's Hospital", "Shenzhen"),
    ("JLU1", "The First Hospital of Jilin University", "Changchun"),
    ("CIP", "Children's Hospital of The Capital Institute of Pediatrics", "Beijing"),
    ("QDU", "The Affiliated Hospital of Qingdao University", "Qingdao"),
    ("NJCH", "Children's Hospital of Nanjing Medical University", "Nanjing"),
    ("FDCH", "Children's Hospital of Fudan University", "Shanghai"),
    ("SJH", "Shengjing Hospital", "Shenyang"),
    ("SHCH", "Shanghai Children's Hospital", "Shanghai"),
    ("TJCH", "Tianjin Children's Hospital", "Tianjin"),
)
# Their Chinese names (shown to readers in 简体中文; Site.name_zh).
SITE_NAMES_ZH: dict[str, str] = {
    "PUMCH": "北京协和医院",
    "CHCMU": "重庆医科大学附属儿童医院",
    "CSU": "中南大学",
    "SZCH": "深圳市儿童医院",
    "JLU1": "吉林大学第一医院",
    "CIP": "首都儿科研究所附属儿童医院",
    "QDU": "青岛大学附属医院",
    "NJCH": "南京医科大学附属儿童医院",
    "FDCH": "复旦大学附属儿科医院",
    "SJH": "中国医科大学附属盛京医院",
    "SHCH": "上海市儿童医院",
    "TJCH": "天津市儿童医院",
}

# --- Time -----------------------------------------------------------------
# SCR1: eligibility data dated within 28 days before Day 0.
SCREENING_WINDOW_DAYS = 28
# Study week n starts on day 7n.
DAYS_PER_WEEK = 7

# --- Inclusion --------------------------------------------------------------
# INC1: age 5-18 inclusive, completed years on the screening date.
MIN_AGE_YEARS = 5
MAX_AGE_YEARS = 18
# DATE2: a date of birth compatible with INC1, give or take this many years (a child
# found just too young or too old is still entered, then screened out by INC1).
BIRTH_DATE_MARGIN_YEARS = 2
# DATE3: history (prior therapy, concomitant medication, past infections, serology)
# is not dated before the oldest possible participant was born (see dates.date_bounds).
# INC3(a): "more than 3 months" of therapy means more than 90 days.  INC3(a)(ii) counts
# the days a glucocorticoid overlaps ANY immunosuppressant (the union of their periods,
# "at least one immunosuppressant taken at the same time"), not one single drug; see
# eligibility.criteria.glucocorticoid_with_immunosuppressant_days.
RESISTANT_THERAPY_MIN_DAYS = 90
# INC3(a)(i): at least two different immunosuppressants.
RESISTANT_MIN_IMMUNOSUPPRESSANTS = 2

# Drug classes for INC3 / EXC1 (configurable lists; lower-case generic names).
IMMUNOSUPPRESSANTS: frozenset[str] = frozenset(
    {
        "methotrexate",
        "mycophenolate mofetil",
        "azathioprine",
        "cyclophosphamide",
        "ciclosporin",
        "tacrolimus",
        "sirolimus",
        "leflunomide",
        "iguratimod",
    }
)
GLUCOCORTICOIDS: frozenset[str] = frozenset(
    {"prednisone", "prednisolone", "methylprednisolone", "hydrocortisone", "dexamethasone"}
)
# EXC1: any previous biologic other than rituximab excludes outright.
BIOLOGICS: frozenset[str] = frozenset(
    {
        "belimumab",
        "telitacicept",
        "abatacept",
        "tocilizumab",
        "tnf inhibitor",
        "adalimumab",
        "etanercept",
        "infliximab",
        "golimumab",
        "certolizumab pegol",
        "anakinra",
        "other monoclonal antibody or fusion protein",
    }
)
RITUXIMAB = "rituximab"
NOT_COUNTED: frozenset[str] = frozenset(
    {"hydroxychloroquine", "nsaid", "total glucosides of paeony", "traditional chinese medicine"}
)

# --- Exclusion --------------------------------------------------------------
# EXC1: rituximab within 6 calendar months before screening.
PRIOR_RITUXIMAB_EXCLUSION_MONTHS = 6
# EXC2: another clinical trial within 6 calendar months.
OTHER_TRIAL_EXCLUSION_MONTHS = 6
# EXC3: eGFR < 30 mL/min/1.73 m2; bedside Schwartz when not entered.
EGFR_MIN_ML_MIN_173 = Decimal("30")
SCHWARTZ_K = Decimal("0.413")
# EXC5 windows, counted back from (planned) Day 0.
INFECTION_HOSPITALISATION_DAYS = 60
PARENTERAL_ANTIMICROBIAL_DAYS = 30
LIVE_VACCINE_MONTHS = 3
# EXC10 / EXC11: labs within 10 days before the first belimumab infusion.
PRE_BELIMUMAB_LAB_WINDOW_DAYS = 10
IGG_MIN_G_L = Decimal("4")
IGA_MIN_G_L = Decimal("0.1")
WBC_MIN_10E9_L = Decimal("1.5")
NEUTROPHILS_MIN_10E9_L = Decimal("1.0")

# --- Consent (INC4) -----------------------------------------------------------
# Child assent is required from this age (completed years on the consent date).
ASSENT_MIN_AGE_YEARS = 8

# --- Enrolment ----------------------------------------------------------------
# ENR1: at most 15 participants enrolled trial-wide.
ENROLMENT_CAP = 15

# --- Treatment schedule -------------------------------------------------------
# SCH1: rituximab weekly, +-2 days, 2 to 4 infusions.
RITUXIMAB_INTERVAL_DAYS = 7
RITUXIMAB_WINDOW_DAYS = 2
RITUXIMAB_MIN_INFUSIONS = 2
RITUXIMAB_MAX_INFUSIONS = 4
# SCH2: depleted = CD19+ < 0.5 % of lymphocytes or < 20 x 10^6/L (strict "<").
B_CELL_DEPLETION_PERCENT = Decimal("0.5")
B_CELL_DEPLETION_ABSOLUTE_10E6_L = Decimal("20")
# SCH3: first belimumab = last rituximab + 28 days (+-3), then first + 28k
# while the target day <= 196 (week 28).
BELIMUMAB_FIRST_OFFSET_DAYS = 28
BELIMUMAB_INTERVAL_DAYS = 28
BELIMUMAB_WINDOW_DAYS = 3
BELIMUMAB_LAST_TARGET_DAY = 196

# Doses (decision, PROTOCOL.md "Treatment schedule").
RITUXIMAB_DOSE_MG_PER_M2 = Decimal("375")
RITUXIMAB_MAX_DOSE_MG = Decimal("500")
BELIMUMAB_DOSE_MG_PER_KG = Decimal("10")
# Administered/prescribed more than 10 % from the proposed dose needs a reason.
DOSE_TOLERANCE_FRACTION = Decimal("0.10")
# Weight and height used for a dose must be measured within 7 days.
ANTHROPOMETRY_MAX_AGE_DAYS = 7

# --- Measurements carried forward (entered once, offered where needed again) ------
# A measurement is offered, prefilled and dated, on a later form while it is still valid
# there: measured within N days before that form's date (the "within N days before R"
# convention of PROTOCOL.md "Time").
# Weight and height: "the latest weight/height (measured within 7 days)" (doses decision).
WEIGHT_HEIGHT_VALID_DAYS = ANTHROPOMETRY_MAX_AGE_DAYS
# Schirmer I and unstimulated salivary flow: a screening value stands for the baseline
# one (Visits and assessments: "Baseline ... Schirmer test, unstimulated salivary flow")
# while it is within SCR1's window, eligibility data dated within 28 days before Day 0.
GLAND_FUNCTION_VALID_DAYS = SCREENING_WINDOW_DAYS
MEASUREMENT_VALID_DAYS = {
    "weight": WEIGHT_HEIGHT_VALID_DAYS,
    "height": WEIGHT_HEIGHT_VALID_DAYS,
    "schirmer": GLAND_FUNCTION_VALID_DAYS,
    "salivary_flow": GLAND_FUNCTION_VALID_DAYS,
}

# --- Visits -------------------------------------------------------------------
# Week 12 and week 28 assessment visits, +-7 days; baseline is Day 0.
WEEK_12_VISIT_CODE = "W12"
WEEK_28_VISIT_CODE = "W28"  # the primary end-of-treatment visit
ASSESSMENT_VISITS: tuple[tuple[str, int], ...] = (
    (WEEK_12_VISIT_CODE, 84),
    (WEEK_28_VISIT_CODE, 196),
)
ASSESSMENT_WINDOW_DAYS = 7
# Charts of study days: a tick every 4 weeks (the belimumab interval), to week 28.
CHART_TICK_DAYS = 28
CHART_LAST_DAY = 196

# --- Outcomes -----------------------------------------------------------------
# ESSDAI activity categories (Seror 2016): low < 5, moderate 5-13, high >= 14.
ESSDAI_MODERATE_FROM = 5
ESSDAI_HIGH_FROM = 14
# Minimal clinically important improvement.
ESSDAI_MCII_FALL = 3
ESSPRI_MCII_FALL_POINTS = Decimal("1")
ESSPRI_MCII_FALL_PERCENT = Decimal("15")
ESSPRI_ACCEPTABLE_BELOW = Decimal("5")
# Registry composite response at week 28: >= 3 of 5 components.
COMPOSITE_MIN_COMPONENTS = 3
COMPOSITE_PHYSICIAN_GLOBAL_FALL_PERCENT = Decimal("30")
COMPOSITE_ESR_FALL_PERCENT = Decimal("30")
COMPOSITE_IGG_OR_RF_FALL_PERCENT = Decimal("25")
COMPOSITE_SCHIRMER_RISE_MM = Decimal("5")
COMPOSITE_SALIVARY_FLOW_RISE_PERCENT = Decimal("25")

# --- Instruments ----------------------------------------------------------------
ESSDAI_VERSION = "ESSDAI (Seror et al. 2010; user guide RMD Open 2015)"
ESSPRI_VERSION = "ESSPRI (Seror et al. 2011)"
CTCAE_VERSION = "CTCAE v5.0"

# --- Visits (dosing/engine) --------------------------------------------------------
# PROTOCOL.md "Visits and assessments": baseline is on Day 0 itself, before the
# first infusion; no window either side (a baseline on another day is a deviation).
BASELINE_WINDOW_DAYS = 0
# Visit codes: the baseline, then one per infusion (RTX1..RTX4, BEL1..BELn), the
# assessment visits above, and unscheduled visits UNS1, UNS2, ...
BASELINE_VISIT_CODE = "BASELINE"
RITUXIMAB_VISIT_PREFIX = "RTX"
BELIMUMAB_VISIT_PREFIX = "BEL"
UNSCHEDULED_VISIT_PREFIX = "UNS"

# --- INC2 classification criteria (REFERENCE.md) ------------------------------------
# AECG 2002: primary SS = any 4 of 6 items with IV or VI positive, or 3 of objective III-VI.
AECG_MIN_ITEMS = 4
AECG_MIN_OBJECTIVE_ITEMS = 3
AECG_SCHIRMER_MAX_MM_5MIN = Decimal("5")  # item III: Schirmer I <= 5 mm/5 min
AECG_VAN_BIJSTERVELD_MIN = 4  # item III: rose bengal >= 4
AECG_FOCUS_SCORE_MIN = Decimal("1")  # item IV: focus score >= 1 per 4 mm2
AECG_UNSTIMULATED_SALIVA_MAX_ML_15MIN = Decimal("1.5")  # item V: <= 1.5 mL/15 min
# Japanese 1999 (Fujibayashi 2004): >= 2 of 4 items.
JAPANESE_MIN_ITEMS = 2
JAPANESE_FOCUS_SCORE_MIN = Decimal("1")  # item 1: >= 1 focus per 4 mm2
JAPANESE_SIALOGRAPHY_MIN_STAGE = 1  # item 2: sialography stage >= I
JAPANESE_GUM_TEST_MAX_ML_10MIN = Decimal("10")  # item 2: gum test <= 10 mL/10 min
JAPANESE_SAXON_TEST_MAX_G_2MIN = Decimal("2")  # item 2: Saxon test <= 2 g/2 min
JAPANESE_SCHIRMER_MAX_MM_5MIN = Decimal("5")  # item 3: Schirmer <= 5 mm/5 min
JAPANESE_ROSE_BENGAL_MIN = 3  # item 3: rose bengal >= 3 (van Bijsterveld)
# EXC3: a computed (bedside Schwartz) eGFR is compared with 30 unrounded and shown to 0.1,
# rounded down (trialsite.units.egfr_for_display), so 29.9985 shows 29.9 and fails.
EGFR_ROUNDING_STEP = Decimal("0.1")

# --- Form status (crf/expected.py) ------------------------------------------------------
# Decision (data management): the CRFs of a visit are due within 7 days of the visit date;
# a CRF still missing after that is "overdue" on the form-status matrix.
CRF_ENTRY_DAYS = 7
