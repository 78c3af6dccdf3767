"""Who may call an API view.

Two kinds of principal reach the API: agents (``AgentKey`` bearer keys, with scopes) and staff (browser
session with a verified OTP device, with role permissions). ``ScopeOrPermission`` admits an agent holding a
scope or a staff user holding a permission; views name both.
"""

from __future__ import annotations

from rest_framework.permissions import BasePermission

from apps.core.principals import AgentIdentity


def is_agent(request) -> bool:
    return isinstance(request.user, AgentIdentity)


def is_verified_staff(request) -> bool:
    user = request.user
    if isinstance(user, AgentIdentity) or not getattr(user, "is_authenticated", False):
        return False
    verified = getattr(user, "is_verified", None)
    return bool(user.is_active and verified is not None and verified())


class IsVerifiedPrincipal(BasePermission):
    """Any authenticated agent, or staff who passed the OTP step (default for every API view)."""

    message = "Authenticate with an agent key, or sign in with password and one-time code."

    def has_permission(self, request, view) -> bool:
        return is_agent(request) or is_verified_staff(request)


class ScopeOrPermission(BasePermission):
    """Admit an agent key with ``scope`` (or with any one of several scopes) or verified staff
    with permission ``perm``.

    Use ``ScopeOrPermission.of("decide")``, ``.of("ledger:read", "accounts.view_audit_logs")`` or
    ``.of(("evidence:write", "compliance:read"), "accounts.view_dashboard")``; ``also`` names more
    permissions, any one of which admits staff too.
    """

    scopes: tuple[str, ...] = ()
    perm: str | None = None
    also: tuple[str, ...] = ()

    @classmethod
    def of(
        cls,
        scope: str | tuple[str, ...] | None,
        perm: str | None = None,
        *,
        also: tuple[str, ...] = (),
    ) -> type[ScopeOrPermission]:
        scopes = (scope,) if isinstance(scope, str) else tuple(scope or ())
        name = f"ScopeOrPermission[{'|'.join(scopes) or None},{'|'.join((perm or '', *also))}]"
        return type(name, (cls,), {"scopes": scopes, "perm": perm, "also": also})

    def has_permission(self, request, view) -> bool:
        if is_agent(request):
            self.message = self._agent_message()
            return any(request.user.has_scope(scope) for scope in self.scopes)
        if is_verified_staff(request):
            self.message = self._staff_message()
            return any(p is not None and request.user.has_perm(p) for p in (self.perm, *self.also))
        self.message = IsVerifiedPrincipal.message
        return False

    # The 403 message says what would have been admitted, so the caller knows whom to ask.

    def _agent_message(self) -> str:
        if not self.scopes:
            return (
                f"This route is for staff with the {self._perm_names()} permission; "
                "agent keys cannot use it."
            )
        return f"The agent key lacks the scope {self._scope_names()}."

    def _staff_message(self) -> str:
        if self.perm is None:
            return (
                f"This route is for agent keys with the scope {self._scope_names()}; "
                "staff sessions cannot use it."
            )
        return f"Your role does not grant the {self._perm_names()} permission this needs."

    def _perm_names(self) -> str:
        """``view_dashboard``, or ``view_dashboard or resolve_escalation``."""
        return " or ".join(_codename(p) for p in (self.perm, *self.also))

    def _scope_names(self) -> str:
        """``'decide'``, or ``'evidence:write' or 'compliance:read'``."""
        return " or ".join(repr(scope) for scope in self.scopes)


def _codename(perm: str | None) -> str:
    """``accounts.view_dashboard`` → ``view_dashboard`` (the name the role pages show)."""
    return (perm or "").rpartition(".")[2]
