"""One page of a list: every list page shows PAGE_SIZE rows and the pager
(templates/includes/pagination.html, which keeps the other query parameters)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.core.paginator import Page, Paginator
from django.db.models import QuerySet
from django.http import HttpRequest

from trialsite import query

PAGE_SIZE = 25


def page_of(
    request: HttpRequest, items: QuerySet[Any] | Sequence[Any], per_page: int = PAGE_SIZE
) -> Page:
    """The page the request asks for (?page=); the last one if the number is too high."""
    return Paginator(items, per_page).get_page(query.page_param(request))
