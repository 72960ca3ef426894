"""English date formats. Numeric dates are ISO 8601 (as in the date inputs and the
exports), never the ambiguous 03/05/2026; long dates spell the month."""

DATE_FORMAT = "j M Y"  # 5 Mar 2026
SHORT_DATE_FORMAT = "Y-m-d"  # 2026-03-05
DATETIME_FORMAT = "Y-m-d H:i:s T"  # 2026-03-05 14:30:00 CST (audit trail)
SHORT_DATETIME_FORMAT = "Y-m-d H:i"  # 2026-03-05 14:30
TIME_FORMAT = "H:i"
YEAR_MONTH_FORMAT = "F Y"  # March 2026
MONTH_DAY_FORMAT = "j M"  # 5 Mar
FIRST_DAY_OF_WEEK = 1  # Monday, as the month calendar shows it
