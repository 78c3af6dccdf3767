"""In-process CPU of one ``POST /decide`` through Django's handler (no server, no network): this
checkout against another, alternating, so that a shared machine's drift hits both alike.

    .venv/bin/python benchmarks/decide_inprocess.py /tmp/lexecon-old --database lexecon_bench_inproc
                                                    [--rounds 3] [--calls 500]

Each side runs in its own process (its own checkout on ``sys.path``, test settings, the database
given, migrated by this checkout beforehand), decides 200 times to warm up, then prints the best of
5 x ``--calls`` process-CPU timings. The new side runs with prometheus_client's multiprocess mode on,
as under gunicorn. Used for the metrics figure of docs/performance.md (ADR 0033).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

CHILD = """
import json, os, sys, time
sys.path.insert(0, os.getcwd())
import django
django.setup()
from django.test import Client
from apps.accounts import services
from tests.conftest import DEMO, load_demo_policy
calls = int(sys.argv[1])
load_demo_policy()
key = services.agent_key_create(name=f"inproc-{time.time()}", scopes=["decide"]).raw_key
client = Client(HTTP_AUTHORIZATION=f"Bearer {key}")
body = json.dumps(DEMO)
for _ in range(200):
    client.post("/decide", body, content_type="application/json")
best = None
for _ in range(5):
    started = time.process_time()
    for _ in range(calls):
        answer = client.post("/decide", body, content_type="application/json")
    assert answer.status_code == 200, answer.content
    per = (time.process_time() - started) / calls * 1000
    best = per if best is None else min(best, per)
print(f"{best:.3f}")
"""


def run(tree: Path, database: str, calls: int, multiprocess: bool) -> float:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "lexecon_site.settings.test",
        "LEXECON_DATABASE_URL": f"postgres://postgres@127.0.0.1:5432/{database}",
        "LEXECON_RATE_LIMIT_DECIDE_PER_KEY": "999999999/60",
    }
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    with tempfile.TemporaryDirectory() as directory:
        if multiprocess:
            env["PROMETHEUS_MULTIPROC_DIR"] = directory
        done = subprocess.run(
            [sys.executable, "-c", CHILD, str(calls)],
            cwd=tree,
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
    return float(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("old_tree", type=Path)
    parser.add_argument("--database", default="lexecon_bench_inproc")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--calls", type=int, default=500)
    args = parser.parse_args()
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "lexecon_site.settings.test",
        "LEXECON_DATABASE_URL": f"postgres://postgres@127.0.0.1:5432/{args.database}",
    }
    subprocess.run(["createdb", "-h", "127.0.0.1", "-U", "postgres", args.database], check=False)
    subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True)
    old, new = [], []
    for number in range(1, args.rounds + 1):
        old.append(run(args.old_tree.resolve(), args.database, args.calls, multiprocess=False))
        new.append(run(ROOT, args.database, args.calls, multiprocess=True))
        print(f"round {number}: old {old[-1]:.3f} ms, new {new[-1]:.3f} ms CPU per /decide")
    ratio = statistics.median(new) / statistics.median(old)
    print(
        f"median old {statistics.median(old):.3f} ms, new {statistics.median(new):.3f} ms: {ratio:.3f}"
    )


if __name__ == "__main__":
    main()
