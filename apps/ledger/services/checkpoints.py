"""Signed checkpoints (C2SP signed notes, Ed25519 + RSA-4096 PSS) over every committed entry."""

from __future__ import annotations

from django.conf import settings
from django.db import transaction

from apps.ledger import notes, tree
from apps.ledger.models import ChainHead, Checkpoint, SigningKey
from apps.ledger.services import facets, nodes, signing


def checkpoint_signers() -> list[notes.NoteSigner]:
    """Ed25519 first, RSA-4096 PSS second, both named after this log's origin."""
    origin = settings.LEXECON_ORIGIN
    return [
        notes.NoteSigner(
            origin,
            signing.signing_key_private(
                signing.active_signing_key(
                    purpose=SigningKey.Purpose.CHECKPOINT, algorithm=algorithm
                )
            ),
        )
        for algorithm in (SigningKey.Algorithm.ED25519, SigningKey.Algorithm.RSA_PSS_4096)
    ]


def ledger_checkpoint_create() -> Checkpoint | None:
    """Sign a checkpoint over every committed entry, unless the latest already covers them.

    One transaction (one durable commit instead of one per stored-node batch), and the root's
    stored nodes are read in one query: in the embedded default this runs inside the request that
    completed every ``LEXECON_CHECKPOINT_EVERY``-th entry, and its worker serves nobody meanwhile.
    """
    with transaction.atomic():
        return _checkpoint_create()


def _checkpoint_create() -> Checkpoint | None:
    head = ChainHead.objects.filter(pk=1).first()
    size = (head.seq + 1) if head else 0
    if size <= 0:
        return None
    latest = Checkpoint.objects.order_by("-tree_size").first()
    if latest is not None and latest.tree_size >= size:
        return latest
    nodes.merkle_nodes_fill(size=size)
    # The browser's actor/subject finding aid follows the checkpoints (ADR 0029), a bounded
    # amount each time: a first fill of an old ledger is `manage.py ledger_facets_fill`.
    facets.ledger_facets_fill(limit=facets.FILL_PER_CHECKPOINT)
    root_hash = tree.root(size)
    note = notes.sign_checkpoint(settings.LEXECON_ORIGIN, size, root_hash, checkpoint_signers())
    checkpoint, _ = Checkpoint.objects.get_or_create(
        tree_size=size, defaults={"root_hash": root_hash, "note": note}
    )
    return checkpoint
