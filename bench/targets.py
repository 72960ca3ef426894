"""What the virtual users open, read from the bench database (run by bench.run).

    DJANGO_SETTINGS_MODULE=bench.settings BENCH_DATABASE_NAME=... python -m bench.targets SITE...

Prints JSON: per site the participants, the visits whose vitals can be corrected (the
CRF GET and POST), the page counts of the paged lists, and the database server's facts.
"""

from __future__ import annotations

import json
import random
import sys


def main(site_codes: list[str]) -> None:
    import django

    django.setup()
    from django.db import connection

    from crf.models import Vitals
    from eligibility.models import Screening
    from enrollment.models import Participant
    from enrollment.rules import ParticipantStatus

    rng = random.Random(7)
    sites = {}
    for code in site_codes:
        subjects = list(
            Participant.objects.active()
            .filter(site__code=code)
            .order_by("sequence")
            .values_list("subject_id", flat=True)
        )
        visits = list(
            Vitals.objects.active()
            .filter(visit__participant__site__code=code, visit__voided_at__isnull=True)
            .exclude(visit__participant__status=ParticipantStatus.WITHDRAWN)
            .values_list("visit_id", flat=True)
        )
        sites[code] = {
            "participants": rng.sample(subjects, min(len(subjects), 400)),
            "vitals_visits": rng.sample(visits, min(len(visits), 400)),
            "participant_pages": max(1, -(-len(subjects) // 25)),
            "screening_pages": max(
                1, -(-Screening.objects.active().filter(site__code=code).count() // 25)
            ),
        }
    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        (version,) = cursor.fetchone()
        settings = {}
        for name in ("shared_buffers", "work_mem", "effective_cache_size", "max_connections"):
            cursor.execute(f"SHOW {name}")
            settings[name] = cursor.fetchone()[0]
        cursor.execute("SELECT pg_size_pretty(pg_database_size(current_database()))")
        (size,) = cursor.fetchone()
    json.dump(
        {"sites": sites, "postgres": {"version": version, **settings, "database_size": size}},
        sys.stdout,
    )


if __name__ == "__main__":
    main(sys.argv[1:])
