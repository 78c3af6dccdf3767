"""The request principal for an authenticated agent key (agents are not Django users)."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class AgentPrincipal:
    """What ``request.user`` is for an agent: its key id, name and scopes; never staff."""

    key_id: str
    name: str
    prefix: str
    scopes: frozenset[str] = field(default_factory=frozenset)

    is_authenticated = True
    is_anonymous = False
    is_active = True
    is_staff = False
    is_superuser = False

    def has_scope(self, scope: str) -> bool:
        return scope in self.scopes

    def has_perm(self, perm: str, obj=None) -> bool:
        return False

    def is_verified(self) -> bool:
        return False

    @property
    def label(self) -> str:
        return f"agent:{self.name}"

    def __str__(self) -> str:
        return self.label


def principal_label(user) -> str:
    """Pseudonymous label of who acted, as ledger payloads record it: ``agent:<key name>`` for an
    agent, ``user:<id>`` for a person — never a username or e-mail address, which are personal data
    an append-only ledger could not erase (DESIGN section 7)."""
    label = getattr(user, "label", None)
    return label if isinstance(label, str) and label else f"user:{user.pk}"
