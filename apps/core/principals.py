"""What core needs to know about request principals, without importing the app that defines them.

``apps.accounts.principals.AgentPrincipal`` subclasses ``AgentIdentity``; the kernel's permission
classes and rate limits recognise an agent by this base class, so ``apps.core`` imports no domain
app.
"""

from __future__ import annotations


class AgentIdentity:
    """Base class of the ``request.user`` of an agent key (agents are not Django users)."""

    __slots__ = ()

    key_id: str  # the key's primary key, as text: what its rate-limit budgets count by
    label: str  # how logs name the caller

    def has_scope(self, scope: str) -> bool:
        raise NotImplementedError

    def rate_limit_override(self, budget: str) -> str:
        """This key's own rate for ``budget`` (``decide`` or ``api``), blank for the default."""
        return ""
