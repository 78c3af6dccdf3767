"""Two checkouts of Lexecon under the same /decide load, interleaved: is the change faster?

    git worktree add /tmp/lexecon-old <commit> && python3.11 -m venv /tmp/lexecon-old/.venv \\
        && /tmp/lexecon-old/.venv/bin/pip install -r /tmp/lexecon-old/requirements/base.txt
    .venv/bin/python benchmarks/decide_compare.py /tmp/lexecon-old [--worker-class sync]
                                                  [--rounds 5] [--duration 15]
                                                  [--old-env NAME=VALUE] [--new-env NAME=VALUE]

``--old-env``/``--new-env`` (repeatable) set a variable for one side's server only; with this
checkout on both sides they compare two configurations, e.g. the rate limiter on (a budget far
above the load, decide_load's default) against off (ADR 0025):

    .venv/bin/python benchmarks/decide_compare.py . --old-env LEXECON_RATE_LIMIT_ENABLED=0

This machine's speed drifts by tens of percent over minutes, so two benchmark runs made one after
the other compare the machine as much as the code. Here each checkout gets its own database and its
own gunicorn (2 workers; ``--worker-class`` is the other checkout's, ours is what our
``gunicorn.conf.py`` says), both stay up, and their wrk runs alternate (the order flips
every round). Prints every run, the medians and the per-round ratio new / old. Each checkout is
prepared with its own ``benchmarks/decide_load.py`` (so the old checkout must have one) in the
databases ``lexecon_compare_old`` and ``lexecon_compare_new``.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
import decide_load  # noqa: E402

PREPARE = """
import json, os, sys
sys.path.insert(0, os.path.join(os.getcwd(), "benchmarks"))
import decide_load
settings = json.loads(sys.argv[1])
print(decide_load.prepare(settings.pop("database"), settings))
"""


def start(
    tree: Path,
    name: str,
    port: int,
    worker_class: str | None,
    extra_env: dict[str, str],
    prefix: str = "lexecon_compare",
) -> tuple[subprocess.Popen, str]:
    """Prepare ``tree``'s own database with its own ``decide_load.prepare`` and serve it."""
    database = f"{prefix}_{name}"
    env = {**decide_load.server_env(database), **extra_env}
    python = str(tree / ".venv/bin/python")
    prepared = subprocess.run(
        [python, "-c", PREPARE, json.dumps({**env, "database": database})],
        cwd=tree,
        capture_output=True,
        text=True,
        check=True,
    )
    raw_key = prepared.stdout.strip().splitlines()[-1]
    server = decide_load.start_server(worker_class, 2, port, env, python=python, cwd=tree)
    return server, raw_key


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("old_tree", type=Path)
    parser.add_argument("--worker-class", default="sync", help="the old checkout's worker class")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--duration", type=int, default=15)
    parser.add_argument("--port", type=int, default=8870)
    parser.add_argument(
        "--database-prefix",
        default="lexecon_compare",
        help="databases PREFIX_old and PREFIX_new (another name when several people share a server)",
    )
    for side in ("old", "new"):
        parser.add_argument(
            f"--{side}-env",
            action="append",
            default=[],
            metavar="NAME=VALUE",
            help=f"an environment variable for the {side} side's server only",
        )
    args = parser.parse_args()
    extra = {
        side: dict(item.split("=", 1) for item in getattr(args, f"{side}_env"))
        for side in ("old", "new")
    }
    os.environ.pop("LEXECON_REDIS_URL", None)  # both sides run the embedded default's Celery eager
    sides = [
        ("old", args.old_tree.resolve(), args.worker_class),
        ("new", ROOT, None),
    ]
    servers, results = [], {name: [] for name, _, _ in sides}
    try:
        with tempfile.TemporaryDirectory() as tmp:
            scripts = []
            for index, (name, tree, worker_class) in enumerate(sides):
                server, raw_key = start(
                    tree, name, args.port + index, worker_class, extra[name], args.database_prefix
                )
                servers.append(server)
                scripts.append(
                    decide_load.lua(
                        Path(tmp) / f"{name}.lua",
                        json.dumps(decide_load.DEMO),
                        {"Authorization": f"Bearer {raw_key}", "Content-Type": "application/json"},
                    )
                )
            urls = [f"http://127.0.0.1:{args.port + index}" for index in range(len(sides))]
            for index, url in enumerate(urls):
                decide_load.wait_until_up(url)
                decide_load.wrk(f"{url}/decide", 4, 3, scripts[index])  # warm-up
            print(
                f"old: {args.old_tree} ({args.worker_class}) {extra['old']}; "
                f"new: {ROOT} (gunicorn.conf.py) {extra['new']}"
            )
            for number in range(1, args.rounds + 1):
                order = range(len(sides)) if number % 2 else reversed(range(len(sides)))
                for index in order:
                    name = sides[index][0]
                    single = decide_load.wrk(f"{urls[index]}/decide", 1, 5, scripts[index])[1]
                    before = decide_load.cpu_seconds(servers[index].pid)
                    loaded = decide_load.wrk(
                        f"{urls[index]}/decide", 32, args.duration, scripts[index]
                    )[1]
                    used = decide_load.cpu_used(before, decide_load.cpu_seconds(servers[index].pid))
                    loaded["single_p50"] = single["50%"]
                    loaded["cpu_ms"] = 1000 * used["gunicorn"] / loaded["requests"]
                    results[name].append(loaded)
                    print(
                        f"round {number} {name}: 1 conn p50 {single['50%']:.2f} ms | 32 conns "
                        f"{loaded['rps']:.0f} req/s p50 {loaded['50%']:.1f} ms p99 "
                        f"{loaded['99%']:.1f} ms errors {loaded['errors']} | gunicorn CPU "
                        f"{loaded['cpu_ms']:.2f} ms per decision",
                        flush=True,
                    )
    finally:
        for server in servers:
            server.send_signal(signal.SIGTERM)
            server.wait(timeout=30)
    print(f"\nmedians of {args.rounds} rounds:")
    for name, runs in results.items():
        print(
            f"  {name}: {statistics.median(r['rps'] for r in runs):.0f} req/s, p99 "
            f"{statistics.median(r['99%'] for r in runs):.1f} ms, 1-conn p50 "
            f"{statistics.median(r['single_p50'] for r in runs):.2f} ms, gunicorn CPU "
            f"{statistics.median(r['cpu_ms'] for r in runs):.2f} ms per decision, errors "
            f"{sum(r['errors'] for r in runs)}"
        )
    ratios = [n["rps"] / o["rps"] for o, n in zip(results["old"], results["new"], strict=True)]
    print(
        f"  new / old req/s per round: {' · '.join(f'{r:.2f}' for r in ratios)} "
        f"(median {statistics.median(ratios):.2f})"
    )


if __name__ == "__main__":
    main()
