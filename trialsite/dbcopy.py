"""COPY through Django's cursor, with either PostgreSQL driver.

Django uses psycopg 3 when it is installed (the job queue's worker needs it) and psycopg2
otherwise; their COPY and ``mogrify`` differ. These helpers are the one place that knows.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Sequence
from typing import Any


def mogrify(cursor: Any, sql: str, params: Sequence[Any] | None) -> str:
    """``sql`` with its parameters bound, as text (to embed in a COPY statement)."""
    statement = cursor.mogrify(sql, params)
    return statement.decode() if isinstance(statement, bytes) else statement


def copy_out(cursor: Any, statement: str, write: Callable[[bytes], object]) -> None:
    """Run ``COPY ... TO STDOUT`` and hand each chunk (one row) to ``write`` as it comes."""
    if hasattr(cursor, "copy_expert"):  # psycopg2: calls ``write`` once per row
        cursor.copy_expert(statement, _Writer(write))
        return
    with cursor.copy(statement) as copy:
        for chunk in copy:
            write(bytes(chunk))


def copy_in(cursor: Any, statement: str, data: str) -> None:
    """Run ``COPY ... FROM STDIN`` with ``data`` (text in COPY's format)."""
    if hasattr(cursor, "copy_expert"):
        cursor.copy_expert(statement, io.StringIO(data))
        return
    with cursor.copy(statement) as copy:
        copy.write(data)


class _Writer:
    def __init__(self, write: Callable[[bytes], object]) -> None:
        self.write = write
