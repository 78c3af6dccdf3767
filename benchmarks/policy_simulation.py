"""Policy simulation benchmark on PostgreSQL (issue 19, "Performance"; target in brackets).

    .venv/bin/python benchmarks/policy_simulation.py [--decisions 100000] [--templates 400]
    .venv/bin/python benchmarks/policy_simulation.py --small      # 5,000 decisions

1. A fresh database, the demo policy active, and ``--templates`` varied decisions made through the
   real pipeline (``decision_make``: the same requests as the simulation property test, with
   contexts, data classes and the callers' hints), so the rows are what ``/decide`` writes.
2. Bulk copies of those rows with SQL (``INSERT … SELECT generate_series``: new ids, new ledger
   sequence numbers, no token) up to ``--decisions`` in all, then ``VACUUM ANALYZE``. Not timed.
3. A draft (the demo policy plus one rule forbidding ``read_ticket``) simulated over the latest
   ``--decisions`` decisions with ``apps.decisions.simulation.simulation_run`` in this process, as
   the Celery worker runs it: the version compiled once, the rows streamed with ``.iterator()``,
   progress saved every 2,000 rows. Prints the time, decisions/s and the flips
                                                               [100,000 decisions <= 60 s]
4. The same over the active version: no decision may flip (the replay property at this size).

Uses (and recreates) ``lexecon_bench_simulation`` on 127.0.0.1:5432. 2 shared cores: indicative.
"""

from __future__ import annotations

import argparse
import copy
import json
import random
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))
from fresh import fresh_database  # noqa: E402

TARGET_SECONDS = 60.0
DEMO_POLICY = ROOT / "policies/examples/customer_service.json"
COLUMNS = [
    "agent_key_id",
    "request_fingerprint",
    "request_id",
    "actor",
    "action",
    "resource",
    "data_classes",
    "ai_system",
    "ai_system_registered",
    "outcome",
    "reason",
    "reasons",
    "controls",
    "policy_version",
    "risk_score",
    "risk_level",
    "risk_dimensions",
    "context",
    "context_salt",
    "context_commitment",
    "ledger_entry_hash",
    "timestamp",
    "response_unconfirmed",
    "retention_class",
]


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--decisions", type=int, default=100_000)
    parser.add_argument("--templates", type=int, default=400)
    parser.add_argument("--small", action="store_true", help="5,000 decisions")
    parser.add_argument("--database", default="lexecon_bench_simulation")
    args = parser.parse_args()
    if args.small:
        args.decisions = 5_000
    return args


def seed_templates(count: int) -> None:
    from apps.accounts.models import AgentKey
    from apps.accounts.principals import system_actor
    from apps.accounts.services import agent_key_create
    from apps.decisions.api.serializers import DecideInput
    from apps.decisions.services import DecideRequest, decision_make
    from apps.policies import services as policies
    from tests.policies.test_simulation import varied_request

    policies.policy_load(
        document=json.loads(DEMO_POLICY.read_text()), actor=system_actor("bench"), activate=True
    )
    agent_key_create(name="bench", scopes=["decide"])
    key = AgentKey.objects.get(name="bench")
    rng = random.Random(19)
    for _ in range(count):
        body = DecideInput.model_validate(varied_request(rng))
        request = DecideRequest(
            actor=body.actor,
            action=body.requested_action,
            resource=body.resource,
            data_classes=tuple(body.data_classes),
            context=body.context,
            risk_level=body.risk_level,
            policy_mode=body.policy_mode,
            risk_dimensions=dict(body.risk_dimensions),
        )
        decision_make(request=request, agent_key=key)


def copy_rows(total: int) -> int:
    """Copy the template decisions until there are ``total`` (SQL, not timed)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*), max(ledger_seq) FROM decisions_decision")
        templates, top = cursor.fetchone()
        extra = max(0, total - templates)
        columns = ", ".join(COLUMNS)
        source = ", ".join(f"t.{name}" for name in COLUMNS)
        cursor.execute(
            f"""
            INSERT INTO decisions_decision (id, ledger_seq, created_at, {columns})
            SELECT gen_random_uuid(), %s + g, now() - make_interval(secs => %s - g), {source}
            FROM generate_series(1, %s) AS g
            JOIN (SELECT row_number() OVER (ORDER BY ledger_seq) - 1 AS k, *
                  FROM decisions_decision) AS t ON t.k = g %% %s
            """,  # noqa: S608 (column names are this module's constants)
            [top, extra, extra, templates],
        )
        cursor.execute("VACUUM ANALYZE decisions_decision")
    return templates + extra


def simulate(version, decisions: int):
    from apps.accounts.principals import system_actor
    from apps.decisions import simulation
    from apps.policies import services

    run = services.simulation_request(
        version=version, requested=decisions, actor=system_actor("bench")
    )
    started = time.perf_counter()
    done = simulation.simulation_run(simulation_id=run.pk)
    return done, time.perf_counter() - started


def main() -> None:
    args = parse_args()
    fresh_database(args.database)
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from apps.accounts.principals import system_actor
    from apps.policies import selectors
    from apps.policies import services as policies

    started = time.perf_counter()
    seed_templates(args.templates)
    rows = copy_rows(args.decisions)
    print(f"seeded {rows:,} decisions in {time.perf_counter() - started:.1f} s (not timed)")

    document = json.loads(DEMO_POLICY.read_text())
    draft_document = copy.deepcopy(document)
    draft_document["version"] = "1.1.0-draft"
    draft_document["relations"].append(
        {
            "id": "draft-no-read_ticket",
            "type": "forbids",
            "subject": "actor:ai_agent:*",
            "action": "action:read_ticket",
        }
    )
    draft = policies.policy_load(document=draft_document, actor=system_actor("bench")).version

    done, seconds = simulate(draft, args.decisions)
    result = done.result
    verdict = "met" if seconds <= TARGET_SECONDS or args.decisions < 100_000 else "NOT met"
    print(
        f"draft: {result['replayed'] + result['skipped_erased']:,} decisions in {seconds:.2f} s "
        f"({(result['replayed'] + result['skipped_erased']) / seconds:,.0f}/s); "
        f"flipped {result['flipped']:,}: {result['flips']}"
    )
    print(f"target: 100,000 decisions <= {TARGET_SECONDS:.0f} s: {verdict}")

    active, seconds = simulate(selectors.active_version(), args.decisions)
    print(
        f"active version: {active.result['replayed']:,} decisions in {seconds:.2f} s; "
        f"flipped {active.result['flipped']} (must be 0)"
    )
    if active.result["flipped"]:
        raise SystemExit("the active version did not reproduce every outcome")


if __name__ == "__main__":
    main()
