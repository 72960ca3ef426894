"""The export job: a worker writes the file of an export recorded by the request."""

from __future__ import annotations

from procrastinate import RetryStrategy

from exports.models import Export
from exports.services import export_run
from trialsite.jobs import app


# export_run records its own failures; what escapes it (the database went away while it
# recorded the outcome) is tried again. A killed worker's job is retried by the core.
@app.task(queue="exports", retry=RetryStrategy(max_attempts=3, wait=30))
def run_export(export_id: int) -> None:
    export = Export.objects.filter(pk=export_id).first()
    if export is not None:  # the export exists: its job was deferred in the same transaction
        export_run(export)
