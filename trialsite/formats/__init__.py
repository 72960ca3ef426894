"""Per-language date formats (settings.FORMAT_MODULE_PATH), one module per language.

The project-wide convention for dates shown as text in templates:

* ``|date:"SHORT_DATE_FORMAT"``: tables, lists, badges, anything dense;
* ``|date:"DATE_FORMAT"``: headings and prose ("enrolled 5 Mar 2026", "2026年3月5日入组");
* ``|date:"SHORT_DATETIME_FORMAT"``: a time stamp to the minute;
* ``|date:"DATETIME_FORMAT"``: a precise time stamp (audit trail, signatures), with
  seconds and the time zone;
* ``|date:"YEAR_MONTH_FORMAT"`` / ``"MONTH_DAY_FORMAT"``: calendar headings.

Never a literal pattern such as ``|date:"Y-m-d"`` for text a person reads, except in
machine-readable places (``data-`` attributes, URLs, ``<input type="date">`` values,
which are always ISO 8601). Exports do not use these formats: they write ISO dates.
"""
