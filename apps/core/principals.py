"""What core needs to know about request principals, without importing the app that defines them.

``apps.accounts.principals.AgentPrincipal`` subclasses ``AgentIdentity``; the kernel's permission
classes recognise an agent by this base class, so ``apps.core`` imports no domain app.
"""

from __future__ import annotations


class AgentIdentity:
    """Base class of the ``request.user`` of an agent key (agents are not Django users)."""

    __slots__ = ()

    def has_scope(self, scope: str) -> bool:
        raise NotImplementedError
