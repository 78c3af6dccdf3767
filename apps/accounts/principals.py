"""The request principal for an authenticated agent key (agents are not Django users)."""

from __future__ import annotations

from dataclasses import dataclass, field

from apps.core.principals import AgentIdentity


@dataclass(frozen=True)
class AgentPrincipal(AgentIdentity):
    """What ``request.user`` is for an agent: its key id, name and scopes; never staff."""

    key_id: str
    name: str
    prefix: str
    scopes: frozenset[str] = field(default_factory=frozenset)
    # The key's own rate limits, blank for the default (ADR 0025).
    decide_rate_limit: str = ""
    api_rate_limit: str = ""

    is_authenticated = True
    is_anonymous = False
    is_active = True
    is_staff = False
    is_superuser = False

    def has_scope(self, scope: str) -> bool:
        return scope in self.scopes

    def has_perm(self, perm: str, obj=None) -> bool:
        return False

    def rate_limit_override(self, budget: str) -> str:
        if budget == "decide":
            return self.decide_rate_limit
        return self.api_rate_limit if budget == "api" else ""

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


def is_person(principal) -> bool:
    """An active, signed-in person (a Django user); agents are ``AgentPrincipal`` objects and
    anonymous callers are not authenticated. The visibility rules start from this."""
    return (
        not isinstance(principal, AgentPrincipal)
        and bool(getattr(principal, "is_authenticated", False))
        and bool(getattr(principal, "is_active", False))
        and hasattr(principal, "has_perm")
    )


def user_role(user) -> str:
    """A person's role names (their groups), comma-separated; ``staff`` when they have none."""
    roles = sorted(group.name for group in user.groups.all())
    return ",".join(roles) or "staff"


def actor_of(principal) -> dict[str, str | None]:
    """The ledger envelope's ``actor`` for whoever made a request (apps.ledger.events.Actor).

    An agent is ``agent:<key prefix>`` labelled with its key's name; a person is ``user:<id>``
    with that same pseudonym as label (never a name or address) and their role.
    """
    if isinstance(principal, AgentPrincipal):
        return {"kind": "agent", "id": f"agent:{principal.prefix}", "label": principal.label}
    label = f"user:{principal.pk}"
    return {"kind": "user", "id": label, "label": label, "role": user_role(principal)}


def agent_actor(*, prefix: str, name: str) -> dict[str, str | None]:
    """The ``actor`` of an agent key known by its prefix and name (no request at hand)."""
    return {"kind": "agent", "id": f"agent:{prefix}", "label": f"agent:{name}"}


def system_actor(component: str, label: str | None = None) -> dict[str, str | None]:
    """The ``actor`` for the system itself: a periodic task, a command line tool, a worker."""
    return {"kind": "system", "id": f"system:{component}", "label": label or component}
