"""Load benchmark of POST /decide: gunicorn as production runs it (gunicorn.conf.py) + PostgreSQL,
driven by wrk.

    .venv/bin/python benchmarks/decide_load.py [--duration 20] [--connections 32] [--workers 2]
                                               [--repeat 3] [--worker-class CLASS]
                                               [--compare-worker-class gthread --compare-threads 4]
                                               [--redis redis://127.0.0.1:6379/15]

Prints, with the exact wrk commands used:
- /decide at ``--connections`` connections: requests/s, p50/p99, errors   [>= 1,000/s, p99 <= 50 ms, 0]
- /decide at one connection: p50                                            [<= 2 ms]
- a bare Django view doing one INSERT, same load, and the ratio decide/bare [>= 0.6]
- the ledger verification afterwards                                         [valid]

Load generator, server and database share this machine's cores, and run-to-run spread here is large
(about +-20 %), so the three phases run ``--repeat`` times, interleaved; every run is printed and the
verdict uses the median run of each phase. CPU milliseconds per request used by the gunicorn workers
and by PostgreSQL during the loaded runs are printed too.

By default the server runs like ``make run`` (no Redis, Celery eager): the request that completes
every ``LEXECON_CHECKPOINT_EVERY``-th entry also signs a checkpoint, stalling its worker for ~10-15 ms
(``benchmarks/checkpoint.py``).
``--redis URL`` runs the production shape instead: a Celery worker (on the same cores) signs them.

Uses (and recreates) the database ``lexecon_bench_decide`` on 127.0.0.1:5432. Needs Debian's wrk.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
REFERENCE_RPS = 5000  # the issue: "a bare DRF view ≈ 5,000 req/s" on its 2-core machine
DEMO = {
    "actor": "ai_agent:customer_service",
    "action": "access_customer_data",
    "context": {"purpose": "support_ticket", "data_sensitivity": "high"},
}


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    parser.add_argument("--duration", type=int, default=20)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--database", default="lexecon_bench_decide")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--worker-class", help="instead of gunicorn.conf.py's (sync); e.g. gthread")
    parser.add_argument("--threads", type=int, help="gunicorn --threads (gthread)")
    parser.add_argument(
        "--redis",
        metavar="URL",
        help="production shape: Redis at URL (e.g. redis://127.0.0.1:6379/15) and one Celery "
        "worker, which then signs the checkpoints instead of the request that crossed the "
        "LEXECON_CHECKPOINT_EVERY boundary (embedded default: Celery eager, inline)",
    )
    parser.add_argument(
        "--compare-worker-class",
        help="also serve the same code with this worker class (e.g. gthread) on the next port "
        "and interleave its loaded runs with ours; prints both and the ratio",
    )
    parser.add_argument("--compare-threads", type=int, help="gunicorn --threads of that server")
    return parser.parse_args()


def prepare(database: str, env: dict[str, str]) -> str:
    admin = "postgresql://postgres@127.0.0.1:5432/postgres"
    subprocess.run(["psql", admin, "-qc", f"DROP DATABASE IF EXISTS {database}"], check=True)
    subprocess.run(["psql", admin, "-qc", f"CREATE DATABASE {database}"], check=True)
    os.environ.update(env)
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from apps.accounts import services as accounts
    from apps.accounts.principals import system_actor
    from apps.ledger import services as ledger
    from apps.policies import services as policies

    call_command("migrate", verbosity=0)
    with connection.cursor() as cursor:
        cursor.execute("CREATE TABLE bench_bare (id bigserial PRIMARY KEY, note text)")
    document = json.loads((ROOT / "policies/examples/customer_service.json").read_text())
    policies.policy_load(document=document, actor=system_actor("benchmark"), activate=True)
    ledger.signing_keys_ensure()
    connection.close()
    return accounts.agent_key_create(name="bench", scopes=["decide"]).raw_key


def wrk(url: str, connections: int, duration: int, script: Path) -> tuple[str, dict]:
    threads = min(2, connections)
    command = [
        "wrk",
        "-t",
        str(threads),
        "-c",
        str(connections),
        "-d",
        f"{duration}s",
        "--latency",
        "-s",
        str(script),
        url,
    ]
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    result = {"command": " ".join(command)}
    result["rps"] = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))
    for label in ("50%", "99%"):
        match = re.search(rf"{label}\s+([\d.]+)(us|ms|s)", output)
        value, unit = float(match.group(1)), match.group(2)
        result[label] = value / 1000 if unit == "us" else value * 1000 if unit == "s" else value
    non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output)
    socket_errors = re.search(r"Socket errors: (.*)", output)
    result["errors"] = int(non2xx.group(1)) if non2xx else 0
    result["socket_errors"] = socket_errors.group(1) if socket_errors else "none"
    result["requests"] = int(re.search(r"(\d+) requests in", output).group(1))
    return output, result


def cpu_seconds(server_pid: int) -> dict[int, tuple[str, float]]:
    """CPU seconds (user + system) used so far per process of the gunicorn workers and PostgreSQL."""
    ticks = os.sysconf("SC_CLK_TCK")
    used: dict[int, tuple[str, float]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        name = stat[stat.index("(") + 1 : stat.rindex(")")]
        fields = stat[stat.rindex(")") + 2 :].split()
        seconds = (int(fields[11]) + int(fields[12])) / ticks
        if int(fields[1]) == server_pid:
            used[int(entry.name)] = ("gunicorn", seconds)
        elif name == "postgres":
            used[int(entry.name)] = ("postgres", seconds)
    return used


def cpu_used(before: dict, after: dict) -> dict[str, float]:
    """Seconds used between two snapshots (processes that exited in between are not counted)."""
    totals = {"gunicorn": 0.0, "postgres": 0.0}
    for pid, (name, seconds) in after.items():
        earlier = before.get(pid)
        totals[name] += seconds - (earlier[1] if earlier and earlier[0] == name else 0.0)
    return totals


def median_run(runs: list[dict], key: str) -> dict:
    return sorted(runs, key=lambda run: run[key])[len(runs) // 2]


def lua(path: Path, body: str | None, headers: dict[str, str], method: str = "POST") -> Path:
    lines = [f'wrk.method = "{method}"']
    if body is not None:
        lines.append(f"wrk.body = {json.dumps(body)}")
    for name, value in headers.items():
        lines.append(f'wrk.headers["{name}"] = "{value}"')
    path.write_text("\n".join(lines) + "\n")
    return path


def server_env(database: str) -> dict[str, str]:
    """Settings of a benchmark server on ``database``: new secrets, a checkpoint every 1,000, the
    rate limiter on with a budget it never reaches."""
    return {
        "DJANGO_SETTINGS_MODULE": "benchmarks.bench_settings",
        "LEXECON_DATABASE_URL": f"postgresql://postgres@127.0.0.1:5432/{database}",
        "LEXECON_SECRET_KEY": secrets.token_urlsafe(64),
        "LEXECON_MASTER_KEY": secrets.token_urlsafe(32),
        "LEXECON_LOG_LEVEL": "WARNING",
        "LEXECON_CHECKPOINT_EVERY": "1000",
        # The rate limiter runs (ADR 0025), with a budget far above any load here, so every
        # request is counted and none is refused; LEXECON_RATE_LIMIT_ENABLED=0 measures without.
        "LEXECON_RATE_LIMIT_DECIDE_PER_KEY": "999999999/60",
    }


def start_server(
    worker_class: str | None,
    workers: int,
    port: int,
    env: dict,
    *,
    python: str = sys.executable,
    cwd: Path = ROOT,
    app: str = "lexecon_site.wsgi:application",
    threads: int | None = None,
    config: str | None = None,
) -> subprocess.Popen:
    """gunicorn serving the checkout at ``cwd`` with its ``python``, on 127.0.0.1:``port``, with
    that checkout's ``gunicorn.conf.py`` if it has one (or ``config``); the flags given here
    override it."""
    options = ["--worker-class", worker_class] if worker_class else []
    if threads:
        options += ["--threads", str(threads)]
    if config is not None:
        options += ["--config", config]
    return subprocess.Popen(
        [
            python,
            "-m",
            "gunicorn",
            app,
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            str(workers),
            *options,
            "--backlog",
            "2048",
            "--timeout",
            "60",
        ],
        cwd=cwd,
        env={**os.environ, **env},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def wait_until_up(base: str, path: str = "/health") -> None:
    for _ in range(100):
        try:
            urllib.request.urlopen(f"{base}{path}", timeout=1)  # noqa: S310 - local server
            return
        except OSError:
            time.sleep(0.2)


def main() -> None:
    args = parse_args()
    if shutil.which("wrk") is None:
        sys.exit("wrk is not installed: apt-get install wrk")
    env = server_env(args.database)
    os.environ.pop("LEXECON_REDIS_URL", None)
    raw_key = prepare(args.database, env)
    celery = None
    if args.redis:
        env["LEXECON_REDIS_URL"] = args.redis
        celery = subprocess.Popen(
            [
                *(sys.executable, "-m", "celery", "-A", "lexecon_site", "worker"),
                *("--pool", "solo", "--loglevel", "WARNING"),
                *("--without-heartbeat", "--without-gossip"),
            ],
            cwd=ROOT,
            env={**os.environ, **env},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
    server = start_server(args.worker_class, args.workers, args.port, env, threads=args.threads)
    base = f"http://127.0.0.1:{args.port}"
    other = None
    if args.compare_worker_class:
        other = start_server(
            args.compare_worker_class,
            args.workers,
            args.port + 1,
            env,
            threads=args.compare_threads,
        )
    other_base = f"http://127.0.0.1:{args.port + 1}"
    # its own settings.configure(); the DJANGO_SETTINGS_MODULE it inherits is never read
    reference = start_server(
        "sync",
        args.workers,
        args.port + 2,
        {},
        app="benchmarks.reference_drf:application",
        config=str(ROOT / "benchmarks/no_gunicorn_conf.py"),  # stock settings, no hooks
    )
    reference_url = f"http://127.0.0.1:{args.port + 2}/bare"
    try:
        wait_until_up(base)
        if other is not None:
            wait_until_up(other_base)
        wait_until_up(reference_url, path="")
        print(
            f"gunicorn: {args.workers} workers "
            f"({args.worker_class or 'gunicorn.conf.py'}"
            f"{f', {args.threads} threads' if args.threads else ''}); PostgreSQL; "
            f"{os.cpu_count()} cores; wrk on the same machine; checkpoints every "
            f"{env['LEXECON_CHECKPOINT_EVERY']} entries "
            + (
                f"by a Celery worker (Redis {args.redis})"
                if args.redis
                else "inline (Celery eager)"
            )
        )
        with tempfile.TemporaryDirectory() as tmp:
            decide_script = lua(
                Path(tmp) / "decide.lua",
                json.dumps(DEMO),
                {"Authorization": f"Bearer {raw_key}", "Content-Type": "application/json"},
            )
            bare_script = lua(Path(tmp) / "bare.lua", None, {})
            wrk(f"{base}/decide", 4, 3, decide_script)  # warm-up
            wrk(f"{base}/bench/bare", 4, 3, bare_script)
            if other is not None:
                wrk(f"{other_base}/decide", 4, 3, decide_script)
            get_script = lua(Path(tmp) / "get.lua", None, {}, method="GET")
            wrk(reference_url, 4, 3, get_script)
            singles, loads, bares, others, references = [], [], [], [], []
            for _ in range(args.repeat):
                references.append(wrk(reference_url, args.connections, 10, get_script)[1])
                singles.append(wrk(f"{base}/decide", 1, 10, decide_script)[1])
                before = cpu_seconds(server.pid)
                loaded = wrk(f"{base}/decide", args.connections, args.duration, decide_script)[1]
                used = cpu_used(before, cpu_seconds(server.pid))
                loaded["cpu_ms"] = {
                    name: 1000 * seconds / loaded["requests"] for name, seconds in used.items()
                }
                loads.append(loaded)
                bares.append(
                    wrk(f"{base}/bench/bare", args.connections, args.duration, bare_script)[1]
                )
                if other is not None:
                    others.append(
                        wrk(f"{other_base}/decide", args.connections, args.duration, decide_script)[
                            1
                        ]
                    )
    finally:
        for process in (server, other, celery, reference):
            if process is not None:
                process.send_signal(signal.SIGTERM)
                process.wait(timeout=30)

    runs = zip(singles, loads, bares, references, strict=True)
    for number, (single, loaded, bare, ref) in enumerate(runs, 1):
        print(
            f"run {number}: 1 conn p50 {single['50%']:.2f} ms | {args.connections} conns "
            f"{loaded['rps']:.0f} req/s p50 {loaded['50%']:.2f} ms p99 {loaded['99%']:.2f} ms "
            f"errors {loaded['errors']} | bare {bare['rps']:.0f} req/s | decide/bare "
            f"{loaded['rps'] / bare['rps']:.2f} | CPU ms per decision: gunicorn "
            f"{loaded['cpu_ms']['gunicorn']:.2f}, postgres {loaded['cpu_ms']['postgres']:.2f} "
            f"| reference DRF view {ref['rps']:.0f} req/s"
        )
    single, loaded, bare = (
        median_run(singles, "50%"),
        median_run(loads, "rps"),
        median_run(bares, "rps"),
    )
    errors = sum(run["errors"] for run in loads)
    print(f"\nmedian run of {args.repeat}:")
    print(
        f"/decide, 1 connection, 10 s:   p50 {single['50%']:.2f} ms, p99 {single['99%']:.2f} ms"
        f", {single['rps']:.0f} req/s   [target p50 <= 2 ms]"
    )
    print(f"  {single['command']}")
    print(
        f"/decide, {args.connections} connections, {args.duration} s: {loaded['rps']:.0f} req/s, "
        f"p50 {loaded['50%']:.2f} ms, p99 {loaded['99%']:.2f} ms, {loaded['requests']} requests, "
        f"errors {errors} in all runs (socket: {loaded['socket_errors']})   "
        f"[target >= 1,000/s, p99 <= 50 ms, 0 errors]"
    )
    print(f"  {loaded['command']}")
    print(
        f"bare one-INSERT view, same load: {bare['rps']:.0f} req/s, p50 {bare['50%']:.2f} ms, "
        f"p99 {bare['99%']:.2f} ms, errors {bare['errors']}"
    )
    print(f"  {bare['command']}")
    print(f"decide / bare = {loaded['rps'] / bare['rps']:.2f}   [target >= 0.6]")
    ref = median_run(references, "rps")
    print(
        f"machine reference: a bare DRF view (no middleware, no database, gunicorn's stock sync "
        f"worker), same load for 10 s: {ref['rps']:.0f} req/s, {ref['rps'] / REFERENCE_RPS:.2f} of "
        f"the issue's ≈ {REFERENCE_RPS:,} on the machine its targets were set on"
    )
    print(f"  {ref['command']}")
    if others:
        ratios = sorted(
            ours["rps"] / theirs["rps"] for ours, theirs in zip(loads, others, strict=True)
        )
        compared = median_run(others, "rps")
        rates = " · ".join(f"{run['rps']:.0f}" for run in others)
        print(
            f"same code with --worker-class {args.compare_worker_class}, interleaved: "
            f"{rates} req/s, median run "
            f"{compared['rps']:.0f} req/s p99 {compared['99%']:.2f} ms; "
            f"{args.worker_class or 'ours'} / {args.compare_worker_class} per run "
            f"{' · '.join(f'{ratio:.2f}' for ratio in ratios)} (median {ratios[len(ratios) // 2]:.2f})"
        )

    from django.db import connection

    from apps.decisions.models import Decision
    from apps.ledger import selectors

    connection.close()
    started = time.perf_counter()
    report = selectors.ledger_verify()
    print(
        f"ledger afterwards: {report['entries_checked']} entries, {Decision.objects.count()} "
        f"decisions, valid={report['valid']} ({time.perf_counter() - started:.1f} s to verify)"
    )


if __name__ == "__main__":
    main()
