"""A real Celery worker, started as a subprocess against Redis, runs our tasks and logs them as JSON.

The test process runs Celery eagerly (``CELERY_TASK_ALWAYS_EAGER=true``); for this test it acts as a
real producer (eager off), publishes with ``send_task`` on a queue of its own that no other worker
consumes, and reads the results from the Redis result backend.
"""

import json
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import structlog
from django.conf import settings

from grasshopper.celery import app as celery_app

ROOT = Path(__file__).resolve().parents[2]
CELERY = Path(sys.executable).with_name("celery")
READY_TIMEOUT = 90  # seconds; a cold start on a busy 2-core machine takes a few
RESULT_TIMEOUT = 30

pytestmark = pytest.mark.worker


@dataclass
class Worker:
    process: subprocess.Popen[str]
    queue: str
    hostname: str
    output: list[str] = field(default_factory=list)

    def text(self) -> str:
        return "".join(self.output)

    def json_lines(self) -> list[dict[str, Any]]:
        # The banner and Celery's warnings are plain text; every log record is one JSON object.
        return [json.loads(line) for line in list(self.output) if line.startswith("{")]


def _wait_until_ready(worker: Worker) -> None:
    deadline = time.monotonic() + READY_TIMEOUT
    while time.monotonic() < deadline:
        if worker.process.poll() is not None:
            pytest.fail(f"the worker exited with {worker.process.returncode}:\n{worker.text()}")
        if f"{worker.hostname} ready." in worker.text():
            return
        time.sleep(0.2)
    pytest.fail(f"the worker was not ready after {READY_TIMEOUT} s:\n{worker.text()}")


def _stop(process: subprocess.Popen[str]) -> None:
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)  # warm shutdown
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)


def _drain(process: subprocess.Popen[str], output: list[str]) -> None:
    """Read the worker's output as it comes, so a chatty worker never blocks on a full pipe."""
    assert process.stdout is not None
    for line in process.stdout:
        output.append(line)


@pytest.fixture
def worker() -> Iterator[Worker]:
    broker = settings.CELERY_BROKER_URL
    assert broker.startswith("redis://127.0.0.1"), "the worker test needs the local Redis (REDIS_URL)"
    suffix = uuid.uuid4().hex[:12]
    queue = f"test-worker-{suffix}"
    hostname = f"test-worker-{suffix}@localhost"
    env = {k: v for k, v in os.environ.items() if not k.startswith("SENTRY_")}
    env.update(
        DJANGO_SETTINGS_MODULE="grasshopper.settings.test",
        CELERY_TASK_ALWAYS_EAGER="false",
        REDIS_URL=settings.REDIS_URL,
        CELERY_BROKER_URL=broker,
        CELERY_RESULT_BACKEND=settings.CELERY_RESULT_BACKEND,
        LOG_FORMAT="json",
        PYTHONUNBUFFERED="1",
    )
    process = subprocess.Popen(
        [
            str(CELERY),
            "-A",
            "grasshopper",
            "worker",
            "--pool=solo",
            "--concurrency=1",
            "-Q",
            queue,
            "-n",
            hostname,
            "--without-heartbeat",
            "--without-gossip",
            "--without-mingle",
            "-l",
            "info",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        bufsize=1,
    )
    handle = Worker(process=process, queue=queue, hostname=hostname)
    reader = threading.Thread(target=_drain, args=(process, handle.output), daemon=True)
    reader.start()
    try:
        _wait_until_ready(handle)
        yield handle
    finally:
        _stop(process)
        reader.join(timeout=10)
        process.stdout.close()  # type: ignore[union-attr]


@pytest.fixture
def producer() -> Iterator[None]:
    """This process publishes to the broker like a web process does (the test settings run eagerly)."""
    eager = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = False
    try:
        yield
    finally:
        celery_app.conf.task_always_eager = eager


@pytest.mark.usefixtures("producer")
def test_real_worker_runs_tasks_from_the_broker_in_its_own_process(worker: Worker) -> None:
    assert celery_app.control.ping(destination=[worker.hostname], timeout=5) == [
        {worker.hostname: {"ok": "pong"}}
    ]

    pong = celery_app.send_task("grasshopper.ping", queue=worker.queue)
    assert pong.get(timeout=RESULT_TIMEOUT) == "pong"

    structlog.contextvars.bind_contextvars(request_id="worker-test-request")
    try:
        whoami = celery_app.send_task("grasshopper.whoami", queue=worker.queue)
    finally:
        structlog.contextvars.unbind_contextvars("request_id")
    where = whoami.get(timeout=RESULT_TIMEOUT)
    assert where["pid"] != os.getpid()
    assert where["pid"] == worker.process.pid  # --pool=solo: the worker's own process ran it

    # The worker's log lines about the task are JSON with the task id and the publisher's request id.
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        task_lines = [line for line in worker.json_lines() if line.get("task_id") == whoami.id]
        if any(line["event"] == "task_succeeded" for line in task_lines):
            break
        time.sleep(0.2)
    by_event = {line["event"]: line for line in task_lines}
    assert {"task_started", "task_succeeded"} <= by_event.keys(), worker.text()
    assert by_event["task_started"]["task"] == "grasshopper.whoami"
    assert by_event["task_started"]["logger"] == "django_structlog.celery.receivers"
    assert by_event["task_succeeded"]["request_id"] == "worker-test-request"
    assert isinstance(by_event["task_succeeded"]["duration_ms"], int)
    for result in (pong, whoami):
        result.forget()
