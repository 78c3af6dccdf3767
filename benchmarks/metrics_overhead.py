"""What the metrics of ADR 0033 add to one /decide, measured on the instrumentation itself.

    .venv/bin/python benchmarks/metrics_overhead.py [--calls 200000] [--decide-cpu-ms 1.3]

Runs, in a child process with prometheus_client's multiprocess mode on (as under gunicorn), the
exact work one decision adds: two histogram observations (``lexecon_decide_seconds``,
``lexecon_ledger_append_seconds``), their four clock reads and one labelled counter increment
(``lexecon_decisions_total``); then the same in single-process mode. Prints microseconds per
decision and the share of ``--decide-cpu-ms`` (the in-process CPU of one /decide; 1.3 ms on the
shared machine of 2026-12-05). The end-to-end comparison is ``decide_compare.py`` (docs/performance.md).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

CHILD = """
import sys, time
import django
django.setup()
from apps.core import metrics
calls = int(sys.argv[1])
best = None
for _ in range(5):
    started = time.process_time()
    for _ in range(calls):
        begin = time.perf_counter()
        metrics.LEDGER_APPEND_SECONDS.observe(time.perf_counter() - begin)
        metrics.DECISIONS.labels("allowed").inc()
        metrics.DECIDE_SECONDS.observe(time.perf_counter() - begin)
    per = (time.process_time() - started) / calls * 1e6
    best = per if best is None else min(best, per)
print(f"{best:.2f}")
"""


def measure(calls: int, multiprocess: bool) -> float:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "lexecon_site.settings.test",
        "PYTHONPATH": str(ROOT),
    }
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    with tempfile.TemporaryDirectory() as directory:
        if multiprocess:
            env["PROMETHEUS_MULTIPROC_DIR"] = directory
        result = subprocess.run(
            [sys.executable, "-c", CHILD, str(calls)],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
    return float(result.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=200_000)
    parser.add_argument("--decide-cpu-ms", type=float, default=1.3)
    args = parser.parse_args()
    for multiprocess in (True, False):
        micros = measure(args.calls, multiprocess)
        mode = "multiprocess (gunicorn)" if multiprocess else "single process"
        share = micros / (args.decide_cpu_ms * 1000) * 100
        print(
            f"{mode}: {micros:.2f} us per decision = {share:.2f} % of a "
            f"{args.decide_cpu_ms} ms /decide (best of 5 x {args.calls})"
        )


if __name__ == "__main__":
    main()
