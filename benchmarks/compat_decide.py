"""What the original Lexecon's request shapes cost ``POST /decide`` (issue 21, ADR 0031).

Two checkouts, each in its own processes and its own PostgreSQL database, called in-process
through the WSGI application (no server, no wrk: the figure is the application's CPU per
decision). Rounds alternate old and new (the order flips every round) because a shared machine's
speed drifts; each round is a fresh process that makes ``--calls`` native decisions after a warm-up
and reports the median and best CPU (``process_time``) per call of ``--batches`` batches. This tree
also measures an original-shaped request (``proposed_action``/``tool``/``user_intent``), which adds
the 422 pre-check, the capability-token object and an Ed25519 signature.

    git archive main | (mkdir -p /tmp/lexecon-main && tar -x -C /tmp/lexecon-main)
    ln -s "$PWD/.venv" /tmp/lexecon-main/.venv
    .venv/bin/python benchmarks/compat_decide.py /tmp/lexecon-main [--rounds 5] [--calls 300]

Uses (and recreates) the databases ``lexecon_compat_bench_old`` and ``lexecon_compat_bench_new``.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import statistics
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NATIVE = {
    "actor": "ai_agent:customer_service",
    "action": "access_customer_data",
    "context": {"purpose": "support_ticket", "data_sensitivity": "high"},
}
ORIGINAL = {
    "actor": "ai_agent:customer_service",
    "proposed_action": "access_customer_data",
    "tool": "crm",
    "user_intent": "answer a support ticket",
    "context": {"purpose": "support_ticket", "data_sensitivity": "high"},
}

# Run inside the measured tree (its cwd, its code): prepare once, then measure per round.
CHILD = r"""
import json, os, statistics, sys, time
sys.path.insert(0, os.getcwd())
import django
django.setup()
from django.test import Client
from django.core.management import call_command
task = json.loads(sys.argv[1])
if task["mode"] == "prepare":
    from apps.accounts import services as accounts
    from apps.accounts.principals import system_actor
    from apps.ledger import services as ledger
    from apps.policies import services as policies
    call_command("migrate", verbosity=0)
    document = json.load(open("policies/examples/customer_service.json"))
    policies.policy_load(document=document, actor=system_actor("benchmark"), activate=True)
    ledger.signing_keys_ensure()
    print(json.dumps({"key": accounts.agent_key_create(name="bench", scopes=["decide"]).raw_key}))
    sys.exit(0)
client = Client(HTTP_AUTHORIZATION="Bearer " + task["key"], REMOTE_ADDR="127.0.0.1")
body = json.dumps(task["body"])
def call():
    response = client.post("/decide", body, content_type="application/json")
    assert response.status_code == 200, response.content
for _ in range(50):
    call()
per_call = []
for _ in range(task["batches"]):
    started = time.process_time()
    for _ in range(task["calls"]):
        call()
    per_call.append((time.process_time() - started) * 1000 / task["calls"])
print(json.dumps({"median_ms": statistics.median(per_call), "best_ms": min(per_call)}))
"""


def _env(database: str, secret: str, master: str) -> dict[str, str]:
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "lexecon_site.settings.dev",
        "LEXECON_DATABASE_URL": f"postgresql://postgres@127.0.0.1:5432/{database}",
        "LEXECON_SECRET_KEY": secret,
        "LEXECON_MASTER_KEY": master,
        "LEXECON_LOG_LEVEL": "WARNING",
        "LEXECON_CHECKPOINT_EVERY": "1000",
        "LEXECON_RATE_LIMIT_DECIDE_PER_KEY": "999999999/60",
        "PYTHONDONTWRITEBYTECODE": "1",
    }


def _child(tree: Path, env: dict[str, str], task: dict) -> dict:
    done = subprocess.run(
        [str(tree / ".venv/bin/python"), "-c", CHILD, json.dumps(task)],
        cwd=tree,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise SystemExit(f"{tree}: {done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def prepare(tree: Path, name: str) -> tuple[dict[str, str], str]:
    database = f"lexecon_compat_bench_{name}"
    admin = "postgresql://postgres@127.0.0.1:5432/postgres"
    subprocess.run(["psql", admin, "-qc", f"DROP DATABASE IF EXISTS {database}"], check=True)
    subprocess.run(["psql", admin, "-qc", f"CREATE DATABASE {database}"], check=True)
    env = _env(database, secrets.token_urlsafe(64), secrets.token_urlsafe(32))
    return env, _child(tree, env, {"mode": "prepare"})["key"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("old_tree", type=Path)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--calls", type=int, default=300)
    parser.add_argument("--batches", type=int, default=3)
    args = parser.parse_args()
    sides = {"old": args.old_tree.resolve(), "new": ROOT}
    prepared = {name: prepare(tree, name) for name, tree in sides.items()}
    results: dict[str, list[float]] = {"old": [], "new": [], "new_original": []}
    ratios = []
    for round_number in range(args.rounds):
        order = ["old", "new"] if round_number % 2 == 0 else ["new", "old"]
        figures = {}
        for name in order:
            env, key = prepared[name]
            task = {"mode": "measure", "key": key, "calls": args.calls, "batches": args.batches}
            figures[name] = _child(sides[name], env, {**task, "body": NATIVE})["median_ms"]
            results[name].append(figures[name])
        env, key = prepared["new"]
        task = {"mode": "measure", "key": key, "calls": args.calls, "batches": args.batches}
        original = _child(ROOT, env, {**task, "body": ORIGINAL})["median_ms"]
        results["new_original"].append(original)
        ratios.append(figures["new"] / figures["old"])
        print(
            f"round {round_number + 1}: native old {figures['old']:.3f} ms, new "
            f"{figures['new']:.3f} ms (new/old {ratios[-1]:.3f}); original-shaped "
            f"{original:.3f} ms CPU per decision",
            flush=True,
        )
    print(
        "median CPU per decision: native old {:.3f} ms, native new {:.3f} ms, original-shaped "
        "new {:.3f} ms; per-round new/old {} (median {:.3f})".format(
            statistics.median(results["old"]),
            statistics.median(results["new"]),
            statistics.median(results["new_original"]),
            " · ".join(f"{r:.2f}" for r in ratios),
            statistics.median(ratios),
        )
    )


if __name__ == "__main__":
    main()
