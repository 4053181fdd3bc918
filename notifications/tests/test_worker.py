"""A real Celery worker on Redis sends an order confirmation end to end: the order commits in this
process, which asks for the outbox relay through the broker; the worker (its own process, on the same
PostgreSQL test database) runs the relay, which publishes the send task; running that, it claims the row,
renders the email with its PDF, .ics and QR codes, and writes it out (file backend); the row ends ``sent``.
Nothing is sent by this process."""

from __future__ import annotations

import email
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from email.message import Message
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.core import mail
from django.db import connection, transaction

from accounts.tests.factories import UserFactory
from notifications.models import OutboxEmail
from notifications.tasks import outbox_send_task
from notifications.tests.outbox_helpers import paid_order
from orders.tests.factories import ticket_type_on_sale

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parents[2]
CELERY = Path(sys.executable).with_name("celery")
READY_TIMEOUT = 90  # seconds: a cold start on a busy 2-core machine takes a while
SENT_TIMEOUT = 60


class Worker:
    def __init__(self, process: subprocess.Popen[str], queue: str, hostname: str) -> None:
        self.process, self.queue, self.hostname = process, queue, hostname
        self.output: list[str] = []

    def text(self) -> str:
        return "".join(self.output)


def _database_url() -> str:
    """This test's database (pytest-django's ``test_<name>``), for the worker process."""
    db = connection.settings_dict
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    return f"postgres://{db['USER']}{password}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


@pytest.fixture
def mail_dir(tmp_path: Path) -> Path:
    return tmp_path


@pytest.fixture
def worker(mail_dir: Path) -> Iterator[Worker]:
    broker = settings.CELERY_BROKER_URL
    assert broker.startswith("redis://127.0.0.1"), "the worker test needs the local Redis (REDIS_URL)"
    suffix = uuid.uuid4().hex[:12]
    queue, hostname = f"test-mail-{suffix}", f"test-mail-{suffix}@localhost"
    env = {k: v for k, v in os.environ.items() if not k.startswith("SENTRY_")}
    env.update(
        DJANGO_SETTINGS_MODULE="notifications.tests.worker_settings",
        DATABASE_URL=_database_url(),
        DATABASE_CONN_MAX_AGE="0",
        REDIS_URL=settings.REDIS_URL,
        CELERY_BROKER_URL=broker,
        CELERY_RESULT_BACKEND=settings.CELERY_RESULT_BACKEND,
        CELERY_TASK_ALWAYS_EAGER="false",
        # The relay runs in the worker and hands each email to a send task: on this worker's queue too.
        NOTIFICATIONS_EMAIL_QUEUE=queue,
        GH_TEST_EMAIL_DIR=str(mail_dir),
        PYTHONUNBUFFERED="1",
    )
    command = [str(CELERY), "-A", "grasshopper", "worker", "--pool=solo", "-Q", queue, "-n", hostname]
    command += ["--without-heartbeat", "--without-gossip", "--without-mingle", "-l", "info"]
    process = subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1
    )
    handle = Worker(process, queue, hostname)
    reader = threading.Thread(target=lambda: handle.output.extend(process.stdout or []), daemon=True)
    reader.start()
    try:
        deadline = time.monotonic() + READY_TIMEOUT
        while f"{hostname} ready." not in handle.text():
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"the worker did not start:\n{handle.text()}")
            time.sleep(0.2)
        yield handle
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
        reader.join(timeout=10)


@pytest.fixture
def producer(worker: Worker, settings: Any) -> Iterator[None]:
    """This process publishes to the broker like a web process (the test settings run tasks eagerly),
    on the worker's own queue, so that no other worker can take the task."""
    settings.NOTIFICATIONS_EMAIL_QUEUE = worker.queue
    celery_app = outbox_send_task.app  # the project's app (grasshopper.celery), not imported from here
    eager = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = False
    try:
        yield
    finally:
        celery_app.conf.task_always_eager = eager


def _messages(directory: Path) -> list[Message]:
    separator = b"\n" + b"-" * 79 + b"\n"
    found = []
    for path in sorted(directory.glob("*.log")):
        for chunk in path.read_bytes().split(separator):
            if chunk.strip():
                found.append(email.message_from_bytes(chunk))
    return found


@pytest.mark.usefixtures("producer")
def test_a_real_worker_sends_the_order_confirmation(worker: Worker, mail_dir: Path) -> None:
    buyer = UserFactory()
    with transaction.atomic():
        order = paid_order(ticket_type_on_sale(), 2, buyer=buyer)

    row = OutboxEmail.objects.get(kind="order_confirmed", reference=f"orders.Order:{order.code}")
    deadline = time.monotonic() + SENT_TIMEOUT
    while row.status != OutboxEmail.Status.SENT and time.monotonic() < deadline:
        time.sleep(0.25)
        row.refresh_from_db()
    assert row.status == OutboxEmail.Status.SENT, f"{row.status} {row.last_error}\n{worker.text()}"
    assert row.attempts == 1
    assert mail.outbox == []  # not this process

    [message] = _messages(mail_dir)
    assert message["To"] == buyer.email
    assert message["Subject"] == row.subject
    assert message["Subject"].startswith(f"Your tickets for {order.event.title}")
    assert message["Message-ID"] == f"<outbox-{row.pk}.order_confirmed@grasshopper.localhost>"
    parts = [part.get_content_type() for part in message.walk() if not part.is_multipart()]
    assert parts.count("image/png") == 2
    assert {"text/plain", "text/html", "application/pdf", "text/calendar"} <= set(parts)
    assert "notifications.send_email" in worker.text()
    assert "notifications.outbox_relay" in worker.text()  # the relay handed it over
    assert row.dispatched_at is not None
