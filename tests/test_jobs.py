"""Background jobs with a real worker process on the test database (trialsite/jobs.py).

One worker for the module (tests/jobs.py), connected as the app's database role; a real
SMTP server (aiosmtpd) on a port of its own, started by each test when it wants the mail
server up. The tests are transactional: the worker sees only committed rows.
"""

from __future__ import annotations

import re
import zipfile
from io import StringIO

import psycopg2
import pytest
from django.conf import settings
from django.core.management import CommandError, call_command
from django.db import connection, transaction
from django.urls import reverse

from crf.models import SeriousAeAlert
from exports import services as export_services
from exports.models import Export, ExportStatus
from exports.registry import export_forms
from exports.rows import ExportFilters, ExportOptions
from notifications.models import Notification, NotificationStatus
from notifications.tasks import deliver_notification
from tests.factories.crf import make_participant, record_ae
from tests.jobs import SmtpServer, Worker, clear_queue, free_port, jobs_of, wait_for

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

DELIVER = "notifications.tasks.deliver_notification"


@pytest.fixture(scope="module")
def smtp_port() -> int:
    return free_port()


@pytest.fixture(scope="module")
def worker(django_db_setup, django_db_blocker, tmp_path_factory, smtp_port):
    with django_db_blocker.unblock():
        running = Worker(tmp_path_factory.mktemp("worker"), smtp_port).start()
    yield running
    running.stop()


@pytest.fixture
def smtp(smtp_port):
    server = SmtpServer(smtp_port)
    yield server
    server.stop()


@pytest.fixture(autouse=True)
def empty_queue(transactional_db):
    clear_queue()


def _export_files(export: Export) -> list[str]:
    """The files of this export (the folder is shared with earlier test runs)."""
    stem = f"{export.created_at:%Y%m%d-%H%M%S}-{export.kind}-{export.pk}."
    return sorted(p.name for p in export_services.export_dir().iterdir() if p.name.startswith(stem))


def test_an_export_interrupted_by_a_killed_worker_is_retried_and_finishes_once(
    worker, data_manager, site_pumch, coordinator_pumch, investigator_pumch, figure
):
    for _ in range(3):
        _alert_participant(site_pumch, coordinator_pumch, investigator_pumch)
    # Another session holds the table of the last exported form: the worker writes the
    # first forms, then waits there, in the middle of the export, when it is killed.
    last = export_forms()[-1].model._meta.db_table
    params = connection.settings_dict
    blocker = psycopg2.connect(
        dbname=params["NAME"],
        host=params.get("HOST") or None,
        port=params.get("PORT") or None,
        user=params["USER"],
    )
    try:
        blocker.cursor().execute(f'LOCK TABLE "{last}" IN ACCESS EXCLUSIVE MODE')
        export = export_services.export_create(
            user=data_manager, kind="csv", filters=ExportFilters(), options=ExportOptions()
        )
        wait_for(
            lambda: Export.objects.get(pk=export.pk).rows_done > 0 and _export_files(export),
            what="the export to be half written",
        )
        part = f"{export.created_at:%Y%m%d-%H%M%S}-csv-{export.pk}.zip.part"
        assert _export_files(export) == [part]
        worker.kill()
        half = Export.objects.get(pk=export.pk).rows_done
    finally:
        blocker.rollback()
        blocker.close()
    assert Export.objects.get(pk=export.pk).status == ExportStatus.RUNNING

    worker.start()  # a new worker notices the dead one and runs its job again
    done = wait_for(
        lambda: Export.objects.filter(pk=export.pk).exclude(status=ExportStatus.RUNNING).first(),
        timeout=60,
        what="the retried export",
    )

    assert done.status == ExportStatus.DONE, done.error
    assert Export.objects.filter(created_by=data_manager).count() == 1  # one record
    assert _export_files(export) == [done.file_name]  # one whole file, no part left
    wait_for(lambda: jobs_of("exports.tasks.run_export")[0][1] != "doing", what="the job's end")
    ((_job_id, status, attempts),) = jobs_of("exports.tasks.run_export")
    # One job, run twice: killed once (its retry counts an attempt), then finished.
    assert (status, attempts) == ("succeeded", 2)
    finished = [e for e in done.audit_events.all() if e.status == ExportStatus.DONE]
    assert len(finished) == 1
    figure(
        "jobs (killed worker)",
        f"a CSV export whose worker was killed (SIGKILL) halfway ({half} rows "
        f"written) was run again by a new worker: 1 export record, 1 file "
        f"({done.size_bytes} bytes), finished once in the audit trail",
    )


def _queued(task_name: str) -> int:
    """Jobs of the task waiting to run (an earlier test's may still be finishing)."""
    return [status for _id, status, _attempts in jobs_of(task_name)].count("todo")


def _alert_participant(site, coordinator, investigator):
    return make_participant(site=site, coordinator=coordinator, investigator=investigator)


def test_a_serious_ae_whose_save_is_rolled_back_is_never_e_mailed(
    worker, smtp, site_pumch, coordinator_pumch, investigator_pumch, data_manager
):
    smtp.start()
    participant = _alert_participant(site_pumch, coordinator_pumch, investigator_pumch)
    with pytest.raises(RuntimeError), transaction.atomic():
        record_ae(participant, coordinator_pumch, term="Rolled back sepsis")
        assert SeriousAeAlert.objects.count() == 1 and _queued(DELIVER) == 2
        raise RuntimeError("the save fails after the alert was raised")
    assert not SeriousAeAlert.objects.exists() and _queued(DELIVER) == 0

    # A committed one afterwards goes through the same worker: it is delivered.
    record_ae(participant, coordinator_pumch, term="Pneumonia")
    wait_for(lambda: len(smtp.messages) == 2, what="the committed alert's e-mails")
    texts = [SmtpServer.text(m) for m in smtp.messages]
    assert all("Pneumonia" in t for t in texts)
    assert not any("Rolled back sepsis" in t for t in texts)


def test_an_alert_committed_while_the_mail_server_is_down_is_retried_then_sent_exactly_once(
    worker, smtp, site_pumch, coordinator_pumch, investigator_pumch, data_manager, figure
):
    participant = _alert_participant(site_pumch, coordinator_pumch, investigator_pumch)
    record_ae(participant, coordinator_pumch)  # the SMTP port refuses connections
    wait_for(
        lambda: (
            all(
                n.attempts >= 2 and n.status == NotificationStatus.FAILED
                for n in Notification.objects.all()
            )
            and Notification.objects.count() == 2
        ),
        what="two failed attempts per e-mail",
    )
    assert all("refused" in n.last_error.lower() for n in Notification.objects.all())

    smtp.start()
    wait_for(
        lambda: Notification.objects.filter(status=NotificationStatus.SENT).count() == 2,
        timeout=60,
        what="delivery once the mail server is up",
    )
    # A job for an e-mail already sent (a retry after success, a stalled rerun) sends nothing.
    extra = [
        deliver_notification.defer(notification_id=notification.pk)
        for notification in Notification.objects.all()
    ]
    wait_for(
        lambda: {s for i, s, _a in jobs_of(DELIVER) if i in extra} == {"succeeded"},
        what="the extra jobs",
    )

    assert sorted(a for m in smtp.messages for a in m.rcpt_tos) == [
        data_manager.email,
        investigator_pumch.email,
    ]
    attempts = sorted(n.attempts for n in Notification.objects.all())
    assert SeriousAeAlert.objects.get().emailed_at is not None
    # The worker wrote as the app's database role, and every step is in the audit trail.
    events = [e for n in Notification.objects.all() for e in n.audit_events.all()]
    assert {e.audit_db_user for e in events if e.pgh_label == "update"} == {
        settings.DATABASE_APP_ROLE
    }
    assert [e.status for e in events].count(NotificationStatus.SENT) == 2
    figure(
        "jobs (SAE e-mail while SMTP is down)",
        f"a serious AE committed while the SMTP server refused connections: its 2 e-mails "
        f"failed {attempts[0] - 1}+ times each, were retried and, once the server was up, "
        f"delivered exactly once each (a later job for them sent nothing)",
    )


def test_a_failed_job_is_listed_and_retried_by_the_command(worker, client_for, data_manager):
    # A job whose task does not exist fails at once on the worker.
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT unnest(procrastinate_defer_jobs_v1(ARRAY[ROW('default', 'no.such.task', "
            "0, NULL, NULL, '{}'::jsonb, NULL)::procrastinate_job_to_defer_v1]))"
        )
        job_id = cursor.fetchone()[0]
    wait_for(lambda: jobs_of("no.such.task")[0][1] == "failed", what="the job to fail")

    page = client_for(data_manager).get(reverse("jobs") + "?state=failed").content.decode()
    assert f"<td>{job_id}</td>" in page and "no.such.task" in page

    attempts = jobs_of("no.such.task")[0][2]
    call_command("retry_job", str(job_id), stdout=StringIO())
    wait_for(
        lambda: (
            jobs_of("no.such.task")[0][1] == "failed" and jobs_of("no.such.task")[0][2] > attempts
        ),
        what="the retried job to run (and fail again)",
    )
    with pytest.raises(CommandError, match="There is no job"):
        call_command("retry_job", str(job_id + 10_000), stdout=StringIO())
    retried = client_for(data_manager).get(reverse("jobs") + "?state=retried").content.decode()
    assert f"<td>{job_id}</td>" in retried


@pytest.mark.browser
def test_a_csv_export_requested_in_the_browser_completes_on_the_worker(
    worker, page, log_in, data_manager, site_pumch, coordinator_pumch, investigator_pumch
):
    make_participant(
        site=site_pumch, coordinator=coordinator_pumch, investigator=investigator_pumch
    )
    log_in(data_manager)
    page.goto("/exports/")
    page.get_by_label("CSV bundle (.zip) with data dictionary").check()
    page.get_by_role("button", name="Start export").click()
    page.wait_for_url(re.compile(r"/exports/\d+/$"))
    # The page refreshes itself while the job runs; then the download appears.
    page.locator('[data-export-status="done"]').wait_for(timeout=30_000)
    with page.expect_download() as download:
        page.get_by_role("link", name="Download").click()
    path = download.value.path()
    with zipfile.ZipFile(path) as archive:
        assert "dosing_visit.csv" in archive.namelist() or len(archive.namelist()) > 3
    export = Export.objects.get()
    assert export.status == ExportStatus.DONE and export.participants
