"""``POST /policies/load`` and ``GET /policies`` in the original's shapes (LEXECON_API.md §1.2).

The native views call these; loading is ``policies.services.policy_load`` (the one loader: its
validation, hash, ledger entry and activation). A *bare* document (``terms``/``relations`` at the
top, no ``policy`` key) is the original's shape: it is loaded **and activated**, as the original's
load replaced what was in force, and answered 200 with ``{status, policy_hash, terms_loaded,
relations_loaded}`` beside our fields. The wrapped ``{"policy": ...}`` form is ours too and keeps
our ``activate`` (default false).
"""

from __future__ import annotations

from typing import Any

from apps.compat.errors import CompatError
from apps.core.exceptions import InvalidInput
from apps.policies import selectors as policy_selectors
from apps.policies import services as policy_services


def is_original_load(data: Any) -> bool:
    return (
        isinstance(data, dict) and "policy" not in data and ("terms" in data or "relations" in data)
    )


def _counts(version: Any) -> tuple[int, int]:
    document = version.document
    return len(document.get("terms", [])), len(document.get("relations", []))


def load_original(data: dict[str, Any], *, actor: dict[str, Any], request_id: str) -> dict:
    """Load and activate a bare original document; our fields and the original's."""
    # The original's defaults for what its model let a document leave out: version "1.0"; its
    # engine's mode was never taken from the document, so a missing one is our safest, strict.
    document = {"version": "1.0", "mode": "strict", **data}
    try:
        loaded = policy_services.policy_load(
            document=document, actor=actor, activate=True, request_id=request_id
        )
    except InvalidInput as exc:
        errors = (exc.details or {}).get("errors", [])
        problems = "; ".join(f"{e.get('path')}: {e.get('message')}" for e in errors[:20])
        raise CompatError(400, f"Failed to load policy: {problems or exc.message}") from None
    terms, relations = _counts(loaded.version)
    return {
        "status": "success",
        "policy_hash": loaded.version.version_hash,
        "terms_loaded": terms,
        "relations_loaded": relations,
        "policy_id": str(loaded.version.pk),
        "version_hash": loaded.version.version_hash,
        "active": loaded.active,
        "created": loaded.created,
    }


def load_answer(body: dict[str, Any], version: Any) -> dict[str, Any]:
    """Our ``/policies/load`` answer with the original's fields added."""
    terms, relations = _counts(version)
    body.update(
        status="success",
        policy_hash=version.version_hash,
        terms_loaded=terms,
        relations_loaded=relations,
    )
    return body


def list_answer(body: dict[str, Any]) -> dict[str, Any]:
    """Our ``GET /policies`` answer with the original's fields: those of the policy in force
    (``mode`` is its mode; none in force reads as no terms, no relations, no hash)."""
    active = policy_selectors.active_version()
    terms, relations = _counts(active) if active else (0, 0)
    body.update(
        policies=[v["name"] for v in body["versions"] if v["active"]],
        mode=active.mode if active else None,
        terms_count=terms,
        relations_count=relations,
        policy_hash=active.version_hash if active else None,
    )
    return body
