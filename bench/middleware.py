"""Server-side figures of each request, as response headers (bench settings only)."""

from __future__ import annotations

import time
from collections.abc import Callable

from django.db import connection
from django.http import HttpRequest, HttpResponse

TIME_HEADER = "X-Bench-Server-Ms"
QUERIES_HEADER = "X-Bench-Queries"


class _QueryCounter:
    def __init__(self) -> None:
        self.count = 0

    def __call__(self, execute, sql, params, many, context):
        self.count += 1
        return execute(sql, params, many, context)


class ServerTimingMiddleware:
    """Outermost: the time and the SQL statements of everything the request does, including
    the session and login middleware, the audit context and the session save."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        counter = _QueryCounter()
        started = time.perf_counter()
        with connection.execute_wrapper(counter):
            response = self.get_response(request)
        response[TIME_HEADER] = f"{(time.perf_counter() - started) * 1000:.2f}"
        response[QUERIES_HEADER] = str(counter.count)
        return response
