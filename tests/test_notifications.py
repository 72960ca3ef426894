"""Reminders and notifications (notifications/): the daily digest on the demo trial, run by
a real worker and delivered to a real SMTP server; preferences, the log, the in-app list.

The demo trial is seeded on SEED_DAY and the digest built for TODAY, eight days later:
some infusions are then due, some not recorded after their window, and a
week-12 visit is due at CHCMU. The worker runs with a 7-day horizon.
"""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
from django.urls import reverse

from demo import seed as demo
from dosing import engine
from dosing.selectors import course_for
from dosing.services import visit_record
from enrollment.models import Participant
from enrollment.rules import ACTIVE_STATUSES
from notifications.models import (
    DigestChoice,
    Notification,
    NotificationKind,
    NotificationPreference,
    NotificationStatus,
)
from notifications.services import digests_queue, preference_save
from tests.jobs import SmtpServer, Worker, clear_queue, free_port, jobs_of, wait_for
from trialsite.models import User

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

SEED_DAY = date(2026, 3, 2)
TODAY = SEED_DAY + timedelta(days=8)
HORIZON = 7
CJK = re.compile(r"[\u4e00-\u9fff]")
DIGEST_USERS = (
    "coordinator_pumch",
    "investigator_pumch",
    "coordinator_chcmu",
    "investigator_chcmu",
)


@pytest.fixture(scope="module")
def smtp_port() -> int:
    return free_port()


@pytest.fixture(scope="module")
def worker(django_db_setup, django_db_blocker, tmp_path_factory, smtp_port):
    env = {"NOTIFICATIONS_HORIZON_DAYS": str(HORIZON)}
    with django_db_blocker.unblock():
        running = Worker(tmp_path_factory.mktemp("worker"), smtp_port, env).start()
    yield running
    running.stop()


@pytest.fixture
def smtp(smtp_port):
    server = SmtpServer(smtp_port).start()
    yield server
    server.stop()


@pytest.fixture
def demo_trial(transactional_db):
    clear_queue()
    demo.seed_sites_and_users()
    demo.seed_trial_data(SEED_DAY)


def reminded_events(today: date) -> list[tuple[Participant, engine.Event]]:
    """What the protocol says is due or not recorded on ``today``, straight from the engine, for
    the participants still in treatment (not withdrawn, discontinued or completed)."""
    found = []
    running = Participant.objects.active().filter(status__in=ACTIVE_STATUSES)
    for participant in running.select_related("site"):
        for event in course_for(participant, today).events:
            due = (
                event.status
                in (
                    engine.EventStatus.DUE,
                    engine.EventStatus.OVERDUE,
                    engine.EventStatus.PLANNED,
                )
                and not event.projected
                and event.target <= today + timedelta(days=HORIZON)
            )
            if due or event.status is engine.EventStatus.NOT_RECORDED:
                found.append((participant, event))
    return found


def _line(body: str, participant: Participant, on: date) -> bool:
    return any(
        line.startswith(f"- {participant.subject_id} ({participant.site.code})")
        and line.endswith(on.isoformat())
        for line in body.splitlines()
    )


def test_each_due_or_unrecorded_event_is_in_its_sites_digests_and_no_other_sites(
    worker, smtp, demo_trial, figure
):
    events = reminded_events(TODAY)
    kinds = {e.status is engine.EventStatus.NOT_RECORDED for _p, e in events}
    assert kinds == {True, False}, "the demo on TODAY has due and not-recorded events"
    recorded_late = next(
        (p, e) for p, e in events if e.visit_code == "W12" and p.site.code == "CHCMU"
    )
    worker.stop()
    chinese = User.objects.get(username="investigator_chcmu")
    preference_save(user=chinese, language="zh-hans", digest=DigestChoice.DAILY)
    assert digests_queue(day=TODAY) == 4  # coordinators and investigators only

    # After the digests were queued, CHCMU records the week-12 visit that was due.
    participant, w12 = recorded_late
    visit_record(
        participant=participant,
        user=User.objects.get(username="coordinator_chcmu"),
        visit_code="W12",
        visit_date=TODAY,
        today=TODAY,
    )
    worker.start()
    wait_for(
        lambda: (
            [s for _i, s, _a in jobs_of("notifications.tasks.send_digest")].count("succeeded") == 4
        ),
        timeout=60,
        what="the four digests",
    )

    bodies = {}
    for username in DIGEST_USERS:
        user = User.objects.get(username=username)
        # (The demo's serious AEs were e-mailed to the investigators too.)
        sent = Notification.objects.get(recipient=user, kind=NotificationKind.DIGEST)
        texts = [SmtpServer.text(m) for m in smtp.to(user.email)]
        found = [t for t in texts if t.startswith(sent.subject)]
        assert len(found) == 1, (sent.subject, texts)
        text = found[0]
        bodies[username] = text
        sites = set(user.sites.values_list("code", flat=True))
        for p, event in events:
            on = (
                event.window_end
                if event.status is engine.EventStatus.NOT_RECORDED
                else event.target
            )
            shown = _line(bodies[username], p, on)
            if (p, event) == recorded_late:
                assert not shown, "recorded after queuing, so not sent"
            else:
                assert shown == (p.site.code in sites), (
                    username,
                    p.subject_id,
                    event.visit_code,
                    bodies[username],
                )
        for other in {"PUMCH", "CHCMU"} - sites:
            assert f"{other}-" not in bodies[username]
    assert "提醒" in bodies["investigator_chcmu"].splitlines()[0]  # the subject
    assert "您好" in bodies["investigator_chcmu"]
    assert (
        "贝利尤单抗" in bodies["investigator_chcmu"] or "利妥昔单抗" in bodies["investigator_chcmu"]
    )
    assert not CJK.search(bodies["coordinator_chcmu"].splitlines()[0])
    assert (
        Notification.objects.filter(kind=NotificationKind.DIGEST, status=NotificationStatus.SENT)
        .values("recipient")
        .count()
        == 4
    )
    figure(
        "reminder digests",
        f"demo trial on a fixed day: {len(events)} due or not-recorded events, each in its own "
        f"site's 2 digests and no other site's; 1 visit recorded after queuing left out; "
        f"a Chinese-language investigator's digest in Chinese (real worker, real SMTP)",
    )


def test_no_digest_for_a_user_who_turned_reminders_off_and_none_when_nothing_is_due(
    worker, smtp, demo_trial
):
    pumch = User.objects.get(username="coordinator_pumch")
    preference_save(user=pumch, language="", digest=DigestChoice.NONE)
    digests_queue(day=SEED_DAY - timedelta(days=400))  # long before anything was due
    wait_for(
        lambda: (
            [s for _i, s, _a in jobs_of("notifications.tasks.send_digest")].count("succeeded") == 3
        ),
        what="the three digests",
    )
    # The PUMCH coordinator turned reminders off: no digest, not even a log row. The CHCMU
    # coordinator had nothing due that day: nothing sent. (The investigators still have the
    # demo's unreviewed serious AEs to be reminded of, whatever the day.)
    coordinators = User.objects.filter(username__startswith="coordinator_")
    assert [m for c in coordinators for m in smtp.to(c.email)] == []
    digests = Notification.objects.filter(kind=NotificationKind.DIGEST)
    assert not digests.filter(recipient=pumch).exists()
    assert digests.get(recipient__username="coordinator_chcmu").status == (
        NotificationStatus.NOTHING_DUE
    )


def test_preferences_are_saved_and_alerts_cannot_be_turned_off(client_for, coordinator_pumch):
    client = client_for(coordinator_pumch)
    page = client.get(reverse("notifications:preferences")).content.decode()
    assert "cannot be turned off" in page
    response = client.post(
        reverse("notifications:preferences"), {"language": "zh-hans", "digest": "none"}
    )
    assert response.status_code == 302
    preference = NotificationPreference.objects.get(user=coordinator_pumch)
    assert (preference.language, preference.digest) == ("zh-hans", "none")
    assert preference.audit_events.count() == 1

    response = client.post(
        reverse("notifications:preferences"), {"language": "fr", "digest": "sometimes"}
    )
    assert response.status_code == 200
    assert set(response.context["form"].errors) == {"language", "digest"}


def test_the_log_is_for_data_managers_and_the_list_shows_only_ones_own(
    client_for, coordinator_pumch, coordinator_chcmu, data_manager
):
    mine = Notification.objects.create(
        recipient=coordinator_pumch, kind=NotificationKind.DIGEST, digest_date=TODAY,
        subject="Reminders for you", status=NotificationStatus.FAILED, attempts=3,
        last_error="SMTPConnectError: refused",
    )  # fmt: skip
    Notification.objects.create(
        recipient=coordinator_chcmu, kind=NotificationKind.DIGEST, digest_date=TODAY,
        subject="Reminders for someone else",
    )  # fmt: skip
    own = client_for(coordinator_pumch).get(reverse("notifications:list")).content.decode()
    assert mine.subject in own and "someone else" not in own
    assert client_for(coordinator_pumch).get(reverse("notifications:log")).status_code == 403

    log = client_for(data_manager).get(reverse("notifications:log") + "?status=failed")
    text = log.content.decode()
    assert log.status_code == 200
    assert "Reminders for you" in text and "someone else" not in text
    assert "SMTPConnectError: refused" in text
