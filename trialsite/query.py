"""Query parameters of the list pages (month, site, page, filters), read safely.

Whatever an address holds (a NUL, a month in year 9999, a 5,000-character word), a page
answers with its default for that parameter and a message saying what was ignored,
never a 500 (issue 16). Every view reads ``request.GET`` through these helpers, or through
a ``forms.Form`` bound to it (``filter_form``), never directly.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from datetime import date

from django import forms
from django.contrib import messages
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from trialsite import protocol

# Longer than any subject ID, screening number, site code or search a user types.
MAX_TEXT_LENGTH = 100

# Messages the tests import.
IGNORED = _("The address held a value this page cannot use for “%(name)s”; it was ignored.")
MONTH_OUT_OF_RANGE = _(
    "Months from %(first)s to %(last)s can be shown; the current month is shown instead."
)


def is_clean_text(value: str, max_length: int = MAX_TEXT_LENGTH) -> bool:
    """Printable text of a sensible length: no NUL or other control characters (the
    database refuses a NUL in a string) and nothing longer than ``max_length``."""
    return len(value) <= max_length and not any(
        unicodedata.category(char) in ("Cc", "Cs") for char in value
    )


def ignored(request: HttpRequest, name: str) -> None:
    """Tell the user a parameter of the address was ignored (once per name)."""
    messages.warning(request, IGNORED % {"name": name})


def text_param(request: HttpRequest, name: str, *, max_length: int = MAX_TEXT_LENGTH) -> str:
    """``?name=``: stripped text, or "" (with a message) when it is not clean text."""
    value = request.GET.get(name, "")
    if not is_clean_text(value, max_length):
        ignored(request, name)
        return ""
    return value.strip()


def choice_param(request: HttpRequest, name: str, allowed: Iterable[str]) -> str:
    """``?name=`` when it is one of ``allowed``; else "" (with a message if one was given)."""
    value = text_param(request, name)
    if value and value not in set(allowed):
        ignored(request, name)
        return ""
    return value


def page_param(request: HttpRequest) -> str | None:
    """``?page=`` for ``Paginator.get_page`` (which already turns a number out of range
    into the last page): None when it is not clean text."""
    value = request.GET.get("page")
    return value if value is not None and is_clean_text(value) else None


def month_bounds(today: date) -> tuple[date, date]:
    """The first and last month a calendar may show: the trial's clinical dates, and today."""
    first = min(protocol.EARLIEST_TRIAL_DATE, today).replace(day=1)
    last = max(protocol.LATEST_CLINICAL_DATE, today).replace(day=1)
    return first, last


def month_param(request: HttpRequest, name: str, today: date) -> date:
    """``?name=YYYY-MM`` as the first day of that month; the current month when absent,
    unreadable or outside ``month_bounds`` (with a message saying so)."""
    value = text_param(request, name)
    current = today.replace(day=1)
    if not value:
        return current
    try:
        year, month = (int(part) for part in value.split("-"))
        chosen = date(year, month, 1)
    except (ValueError, TypeError, OverflowError):
        ignored(request, name)
        return current
    first, last = month_bounds(today)
    if not first <= chosen <= last:
        messages.warning(
            request, MONTH_OUT_OF_RANGE % {"first": f"{first:%Y-%m}", "last": f"{last:%Y-%m}"}
        )
        return current
    return chosen


def filter_form(request: HttpRequest, form: forms.Form) -> dict:
    """The cleaned values of a GET filter form bound to ``request.GET``; {} with a message
    when a value was refused (the page then shows everything the user may see)."""
    if not form.is_bound:
        return {}
    if form.is_valid():
        return form.cleaned_data
    for name in form.errors:
        ignored(request, name)
    return {}
