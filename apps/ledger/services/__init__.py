"""Writes to the ledger, by seam: ``append`` (the one writer of entries), ``nodes`` (stored Merkle
subtrees), ``facets`` (the browser's finding aid), ``signing`` (keys) and ``checkpoints``. Other
apps use the names re-exported here."""

from apps.ledger.services.append import (
    AppendedEntry,
    LinkedRow,
    canonical_entry_text,
    commit_personal,
    commitment_matches,
    ledger_append,
    payload_text,
    rfc3339_now,
)
from apps.ledger.services.checkpoints import checkpoint_signers, ledger_checkpoint_create
from apps.ledger.services.facets import ledger_facets_fill
from apps.ledger.services.nodes import merkle_nodes_fill
from apps.ledger.services.signing import (
    REQUIRED_KEYS,
    active_signing_key,
    signing_key_create,
    signing_key_private,
    signing_keys_ensure,
    signing_keys_rewrap,
    signing_keys_rotate,
)
from apps.ledger.services.verification import ledger_verify_recorded

__all__ = [
    "REQUIRED_KEYS",
    "AppendedEntry",
    "LinkedRow",
    "active_signing_key",
    "canonical_entry_text",
    "checkpoint_signers",
    "commit_personal",
    "commitment_matches",
    "ledger_append",
    "ledger_checkpoint_create",
    "ledger_facets_fill",
    "ledger_verify_recorded",
    "merkle_nodes_fill",
    "payload_text",
    "rfc3339_now",
    "signing_key_create",
    "signing_key_private",
    "signing_keys_ensure",
    "signing_keys_rewrap",
    "signing_keys_rotate",
]
