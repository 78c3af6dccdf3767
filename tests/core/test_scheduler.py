"""The periodic tasks run in both ways of ``make run`` (issue 15): in-process without a broker
(:class:`BeatThread`), a ``celery worker --beat`` child process with one."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command

from apps.core.management.commands import serve
from apps.ledger.models import Checkpoint, LedgerEntry
from lexecon_site import scheduler
from lexecon_site.celery import app
from lexecon_site.scheduler import BeatThread, interval_seconds
from tests.ledger.conftest import append_many, ledger_transactional_db  # noqa: F401


def _wait_for(condition, timeout: float = 2.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    return condition()


@pytest.mark.usefixtures("ledger_transactional_db")
def test_the_in_process_scheduler_signs_the_periodic_checkpoint():
    append_many(3)
    assert not Checkpoint.objects.exists()
    thread = BeatThread({"checkpoint": {"task": "ledger.checkpoint", "schedule": 0.1}}, app=app)
    thread.start()
    try:
        size = LedgerEntry.objects.count()
        assert _wait_for(lambda: Checkpoint.objects.filter(tree_size=size).exists())
        append_many(2, prefix="later")
        assert _wait_for(lambda: Checkpoint.objects.filter(tree_size=size + 2).exists())
    finally:
        thread.stop(timeout=2)
    assert not thread.is_alive()
    assert thread.runs["checkpoint"] >= 2


@pytest.mark.usefixtures("ledger_transactional_db")
def test_a_failing_task_is_logged_and_the_others_keep_running(monkeypatch):
    logged: list[tuple] = []
    monkeypatch.setattr(scheduler.logger, "exception", lambda *args: logged.append(args))
    thread = BeatThread(
        {
            "broken": {"task": "no.such.task", "schedule": 0.05},
            "checkpoint": {"task": "ledger.checkpoint", "schedule": 0.05},
        },
        app=app,
    )
    thread.start()
    try:
        assert _wait_for(lambda: thread.runs["broken"] >= 2 and thread.runs["checkpoint"] >= 2)
    finally:
        thread.stop(timeout=2)
    assert logged[0][1:] == ("broken", "no.such.task")
    assert {args[1] for args in logged} == {"broken"}


@pytest.mark.parametrize(
    ("schedule", "seconds"),
    [(60.0, 60.0), (5, 5.0), (timedelta(minutes=2), 120.0)],
    ids=["float_case", "int_case", "timedelta_case"],
)
def test_fixed_intervals_are_understood(schedule, seconds):
    assert interval_seconds(schedule) == seconds


def test_other_schedules_are_refused_at_start():
    with pytest.raises(ImproperlyConfigured, match="fixed intervals only"):
        interval_seconds("*/5 * * * *")


class _FakeServer:
    started: list[dict] = []

    def __init__(self, options):
        self.options = options

    def run(self):
        _FakeServer.started.append(self.options)


class _FakeWorker:
    def __init__(self, argv, cwd):
        self.argv, self.terminated = argv, False
        _FakeWorker.made.append(self)

    def terminate(self):
        self.terminated = True

    def wait(self, timeout):
        return 0


@pytest.fixture
def fake_server(monkeypatch):
    _FakeServer.started = []
    _FakeWorker.made = []
    monkeypatch.setattr(serve, "EmbeddedServer", _FakeServer)
    monkeypatch.setattr(serve.subprocess, "Popen", _FakeWorker)


def test_serve_without_a_broker_runs_the_schedule_in_its_worker(fake_server, settings):
    settings.CELERY_TASK_ALWAYS_EAGER = True
    call_command("serve", "--bind", "127.0.0.1:9")
    (options,) = _FakeServer.started
    assert options["post_worker_init"] is serve._start_scheduler
    assert (options["worker_class"], options["workers"], options["threads"]) == ("gthread", 1, 8)
    assert _FakeWorker.made == []


def test_serve_with_a_broker_starts_and_stops_a_celery_worker_with_beat(fake_server, settings):
    settings.CELERY_TASK_ALWAYS_EAGER = False
    call_command("serve", "--bind", "127.0.0.1:9")
    (options,) = _FakeServer.started
    assert "post_worker_init" not in options
    (worker,) = _FakeWorker.made
    assert worker.argv[1:7] == ["-m", "celery", "--app", "lexecon_site", "worker", "--beat"]
    assert worker.terminated
