"""Benchmark the policy engine: per-call latency vs. policy size, and against Cedar (cedarpy).

Run ``python benchmarks/policy_engine.py [--requests N] [--sizes 100,1000]``. It builds
equivalent synthetic policies (same generator, scaled: many actors and actions, actor and action
globs, data/resource objects, conditions, forbids and escalates) of 100 to 100,000 relations,
evaluates matching and non-matching requests one call at a time (``time.perf_counter_ns``), and
prints p50/p99 per size and kind. It then expresses the 1,000-relation policy in Cedar, parses it
once into a ``cedarpy.PolicySet`` (and the empty entity set into ``cedarpy.Entities``), evaluates
the same requests, checks that both engines reach the same allow/deny decisions (escalate rules
become Cedar ``forbid``s, so "escalated" is compared as "not allowed"), and prints the ratio.
"""

from __future__ import annotations

import argparse
import gc
import json
import random
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from apps.policies.engine import compile_policy, parse_policy, policy_hash

DATA_CLASSES = [f"class{i}" for i in range(20)]
CONTROLS = ["SOC2:CC6.1", "ISO27001:A.5.15", "GDPR:Art.6", "HIPAA:164.312(b)", "PCI-DSS:7.2.1"]
TYPES = ["permits"] * 70 + ["requires"] * 10 + ["forbids"] * 12 + ["escalates"] * 8
SEED = 20260101


def build_document(size: int) -> dict[str, Any]:
    """Build a policy of ``size`` relations whose shape does not depend on ``size``.

    Every ~20 relations share an action, every ~10 an actor; 10% of subjects are actor globs
    (``team_k:*``), 1% of actions are namespace globs (``nsJ.*``); 30% have a data object, 5% a
    resource glob object, 30% a condition.
    """
    rng = random.Random(SEED)
    n_actions = max(5, size // 20)
    n_actors = max(10, size // 10)
    n_namespaces = max(2, int(n_actions**0.5))
    terms: dict[str, dict[str, Any]] = {}
    relations = []

    def term(term_id: str, term_type: str) -> str:
        if term_id not in terms:
            risk = {"security": rng.randint(0, 100), "privacy": rng.randint(0, 100)}
            terms[term_id] = {"id": term_id, "type": term_type, "metadata": {"risk": risk}}
        return term_id

    for index in range(size):
        action_number = rng.randrange(n_actions)
        namespace = action_number % n_namespaces
        if rng.random() < 0.01:
            action = term(f"action:ns{namespace}.*", "action")
        else:
            action = term(f"action:ns{namespace}.op{action_number}", "action")
        if rng.random() < 0.10:
            subject = term(f"actor:team_{rng.randrange(max(2, n_actors // 50))}:*", "actor")
        else:
            subject = term(f"actor:agent_{rng.randrange(n_actors)}", "actor")
        relation: dict[str, Any] = {
            "id": f"rule-{index:06d}",
            "type": rng.choice(TYPES),
            "subject": subject,
            "action": action,
            "justification": f"Synthetic rule {index}",
            "controls": [rng.choice(CONTROLS)],
        }
        roll = rng.random()
        if roll < 0.30:
            relation["object"] = term(f"data:{rng.choice(DATA_CLASSES)}", "data_class")
        elif roll < 0.35:
            relation["object"] = term(f"resource:db/{rng.randrange(10)}/*", "resource")
        if rng.random() < 0.30 or relation["type"] == "requires":
            if rng.random() < 0.5:
                condition = {"field": "amount", "op": "lte", "value": rng.choice([100, 500, 1000])}
            else:
                purposes = rng.sample(["support", "billing", "audit", "fraud", "research"], 2)
                condition = {"field": "purpose", "op": "in", "value": purposes}
            relation["conditions"] = [condition]
        relations.append(relation)
    return {
        "name": f"Synthetic benchmark policy ({size} relations)",
        "version": "1.0.0",
        "mode": "strict",
        "terms": list(terms.values()),
        "relations": relations,
    }


def build_requests(document: dict[str, Any], count: int) -> dict[str, list[dict[str, Any]]]:
    """Return ``count`` matching requests (built from random relations) and ``count`` that match
    no relation (unknown actor or action)."""
    rng = random.Random(SEED + 1)
    relations = document["relations"]
    matching = []
    for _ in range(count):
        relation = rng.choice(relations)
        actor = relation["subject"].removeprefix("actor:").replace("*", f"bot{rng.randrange(99)}")
        action = relation["action"].removeprefix("action:").replace("*", "op0")
        request: dict[str, Any] = {
            "actor": actor,
            "action": action,
            "data_classes": [rng.choice(DATA_CLASSES)],
            "context": {
                "amount": rng.choice([50, 300, 800, 5000]),
                "purpose": rng.choice(["support", "billing", "audit", "fraud", "research"]),
            },
        }
        target = relation.get("object", "")
        if target.startswith("data:"):
            request["data_classes"].append(target.removeprefix("data:"))
        elif target.startswith("resource:"):
            request["resource"] = target.removeprefix("resource:").replace("*", "table")
        matching.append(request)
    missing = [
        {
            "actor": f"unknown_agent_{rng.randrange(10_000)}",
            "action": f"nsx.unknown{rng.randrange(100)}",
            "data_classes": [rng.choice(DATA_CLASSES)],
            "context": {"amount": 10, "purpose": "support"},
        }
        for _ in range(count)
    ]
    return {"matching": matching, "non-matching": missing}


def percentiles(samples: list[int]) -> tuple[float, float]:
    """Return (p50, p99) in microseconds."""
    ordered = sorted(samples)
    p50 = statistics.median(ordered)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return p50 / 1000, p99 / 1000


def time_calls(function: Any, requests: list[Any], rounds: int) -> list[int]:
    """Time one call per request, ``rounds`` times over the batch (after a warm-up pass).

    Samples of all rounds are pooled, which keeps the percentiles stable on a noisy machine.
    """
    for request in requests[:200]:
        function(request)
    samples = []
    clock = time.perf_counter_ns
    for _ in range(rounds):
        for request in requests:
            start = clock()
            function(request)
            samples.append(clock() - start)
    return samples


def cedar_text(document: dict[str, Any]) -> str:
    """Express the synthetic policy in Cedar (escalates become forbid, like a non-allow)."""
    policies = []
    for relation in document["relations"]:
        effect = "permit" if relation["type"] in ("permits", "requires") else "forbid"
        actor = relation["subject"].removeprefix("actor:")
        action = relation["action"].removeprefix("action:")
        scope_principal = "principal"
        scope_action = "action"
        clauses = []
        if "*" in actor:
            clauses.append(f"context.actor like {json.dumps(actor)}")
        else:
            scope_principal = f"principal == Actor::{json.dumps(actor)}"
        if "*" in action:
            clauses.append(f"context.action like {json.dumps(action)}")
        else:
            scope_action = f"action == Action::{json.dumps(action)}"
        target = relation.get("object")
        if target and target.startswith("data:"):
            clauses.append(f"context.data_classes.contains({json.dumps(target[5:])})")
        elif target:
            clauses.append(
                f"context has resource && context.resource like {json.dumps(target[9:])}"
            )
        for condition in relation.get("conditions", []):
            if condition["op"] == "lte":
                clauses.append(f"context.amount <= {condition['value']}")
            else:
                clauses.append(f"{json.dumps(condition['value'])}.contains(context.purpose)")
        when = f" when {{ {' && '.join(clauses)} }}" if clauses else ""
        policies.append(
            f'@id("{relation["id"]}")\n{effect}({scope_principal}, {scope_action}, resource){when};'
        )
    return "\n".join(policies)


def cedar_request(request: dict[str, Any]) -> dict[str, Any]:
    """Translate one engine request into a Cedar request (ids also in context for globs)."""
    context = dict(request["context"])
    context.update(
        actor=request["actor"],
        action=request["action"],
        data_classes=request.get("data_classes", []),
    )
    if request.get("resource"):
        context["resource"] = request["resource"]
    return {
        "principal": {"type": "Actor", "id": request["actor"]},
        "action": {"type": "Action", "id": request["action"]},
        "resource": {"type": "Resource", "id": "any"},
        "context": context,
    }


def main() -> None:
    """Run the benchmark and print the tables."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=5000, help="requests per kind")
    parser.add_argument("--rounds", type=int, default=3, help="timed passes over each batch")
    parser.add_argument("--sizes", default="100,1000,10000,100000")
    parser.add_argument("--cedar-size", type=int, default=1000, help="0 skips Cedar")
    args = parser.parse_args()
    sizes = [int(size) for size in args.sizes.split(",")]

    print(
        f"Python {sys.version.split()[0]}; {args.requests} distinct requests per kind, "
        f"{args.rounds} timed passes, one perf_counter_ns sample per call"
    )
    print(
        "memo=off: every call walks the index (cold path); memo=on: the default, which "
        "remembers index lookups per (action, actor) pair"
    )
    header = (
        f"{'relations':>10} {'kind':<13} {'memo':<5} {'p50 us':>8} {'p99 us':>8} "
        f"{'allowed':>8} {'denied':>7} {'escal.':>7} {'build s':>8}"
    )
    print(header)
    ours: dict[tuple[str, str], float] = {}
    cedar_inputs: dict[str, Any] = {}
    for size in sizes:
        document = build_document(size)
        started = time.perf_counter()
        policy = parse_policy(document)
        version = policy_hash(policy)
        build_seconds = time.perf_counter() - started
        requests = build_requests(document, args.requests)
        for memo in ("off", "on"):
            compiled = compile_policy(policy, version, memo_size=0 if memo == "off" else 8192)
            for kind, batch in requests.items():
                gc.collect()
                p50, p99 = percentiles(time_calls(compiled.evaluate, batch, args.rounds))
                outcomes = [compiled.evaluate(request).outcome for request in batch]
                print(
                    f"{size:>10} {kind:<13} {memo:<5} {p50:>8.2f} {p99:>8.2f} "
                    f"{outcomes.count('allowed'):>8} {outcomes.count('denied'):>7} "
                    f"{outcomes.count('escalated'):>7} {build_seconds:>8.2f}"
                )
                if size == args.cedar_size:
                    ours[kind, memo] = p50
                    cedar_inputs[kind] = (batch, outcomes)
        if size == args.cedar_size:
            cedar_inputs["document"] = document
    print("build s = parse + validate + normalise + hash (RFC 8785) of the document")

    if "document" not in cedar_inputs:
        return
    import cedarpy  # only needed for the comparison

    policy_set = cedarpy.PolicySet.from_str(cedar_text(cedar_inputs["document"]))
    entities = cedarpy.Entities.from_json_str("[]")
    print(
        f"\nCedar {args.cedar_size} relations (cedarpy, policies pre-parsed once into a "
        f"PolicySet of {len(policy_set)}, empty Entities pre-parsed)"
    )
    print(
        f"{'kind':<13} {'p50 us':>8} {'p99 us':>8} {'ours off':>9} {'ratio':>7} "
        f"{'ours on':>8} {'ratio':>7} {'same allow/deny':>16}"
    )
    for kind in ("matching", "non-matching"):
        batch, outcomes = cedar_inputs[kind]
        cedar_batch = [cedar_request(request) for request in batch]

        def decide(request: dict[str, Any]) -> Any:
            return cedarpy.is_authorized(request, policy_set, entities)

        gc.collect()
        p50, p99 = percentiles(time_calls(decide, cedar_batch, 1))
        cedar_allowed = [decide(request).allowed for request in cedar_batch]
        agree = sum(
            (outcome == "allowed") == allowed
            for outcome, allowed in zip(outcomes, cedar_allowed, strict=True)
        )
        off, on = ours[kind, "off"], ours[kind, "on"]
        print(
            f"{kind:<13} {p50:>8.2f} {p99:>8.2f} {off:>9.2f} {p50 / off:>6.1f}x "
            f"{on:>8.2f} {p50 / on:>6.1f}x {agree:>10}/{len(batch)}"
        )


if __name__ == "__main__":
    main()
