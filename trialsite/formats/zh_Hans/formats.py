"""Simplified Chinese date formats: numeric dates as GB/T 7408 (ISO 8601), the way
hospital information systems and laboratory reports print them; long dates with
年月日 in headings and prose."""

DATE_FORMAT = "Y年n月j日"  # 2026年3月5日
SHORT_DATE_FORMAT = "Y-m-d"  # 2026-03-05
DATETIME_FORMAT = "Y-m-d H:i:s T"  # 2026-03-05 14:30:00 CST (audit trail)
SHORT_DATETIME_FORMAT = "Y-m-d H:i"  # 2026-03-05 14:30
TIME_FORMAT = "H:i"
YEAR_MONTH_FORMAT = "Y年n月"  # 2026年3月
MONTH_DAY_FORMAT = "n月j日"  # 3月5日
FIRST_DAY_OF_WEEK = 1  # 星期一
# A pasted date in the Chinese long or slashed form is understood as well.
DATE_INPUT_FORMATS = ["%Y-%m-%d", "%Y/%m/%d", "%Y年%m月%d日"]
