"""Shared by the live tests: a free port and a gunicorn serving Lexecon as production does."""

from __future__ import annotations

import contextlib
import http.client
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.db import connection

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def database_at(port: int):
    """Django's connection of this thread goes to ``port`` (a proxy, or nothing at all) inside
    the block; it is closed on the way in and out, and the real port comes back afterwards."""
    saved = connection.settings_dict["PORT"]
    connection.close()
    connection.settings_dict["PORT"] = str(port)
    try:
        yield
    finally:
        connection.close()
        connection.settings_dict["PORT"] = saved


def gunicorn(
    port: int, env: dict[str, str], *, workers: int, stderr, options: tuple[str, ...] = ()
) -> subprocess.Popen:
    """Start gunicorn as production does (stock gunicorn with the repository's gunicorn.conf.py,
    which it reads from its working directory) on 127.0.0.1."""
    return subprocess.Popen(
        [
            *(sys.executable, "-m", "gunicorn"),
            *("--bind", f"127.0.0.1:{port}", "--workers", str(workers), "--timeout", "60"),
            *options,
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=stderr,
    )


def workers_of(arbiter: int) -> set[int]:
    """The pids of ``arbiter``'s child processes, its gunicorn workers (Linux /proc)."""
    children = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat[stat.rindex(")") + 2 :].split()[1]) == arbiter:
                children.add(int(entry.name))
    return children


def wait_until_healthy(port: int, process: subprocess.Popen, log, what: str) -> None:
    """Poll ``/health`` for up to 30 s; on failure kill ``process`` and fail the test with the tail
    of its ``log`` (a file the server writes to)."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            probe = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            probe.request("GET", "/health")
            if probe.getresponse().status == 200:
                return
        except OSError:
            time.sleep(0.2)
    process.kill()
    log.seek(0)
    pytest.fail(f"{what} did not start: " + log.read().decode()[-2000:])
