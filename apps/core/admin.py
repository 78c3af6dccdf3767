"""Admin permissions by role permission (DESIGN §10) instead of per-model Django permissions.

Roles hold the seven ``accounts.*`` permissions; a ModelAdmin names which of them lets a user view,
add or change its model. Deleting is never allowed: records are governance evidence.
"""

from __future__ import annotations

from django.contrib import admin


class RolePermissionAdmin(admin.ModelAdmin):
    """``view_permissions`` (any of them grants viewing), ``add_permission``, ``change_permission``."""

    view_permissions: tuple[str, ...] = ()
    add_permission: str | None = None
    change_permission: str | None = None

    def _has(self, request, perm: str | None) -> bool:
        return perm is not None and request.user.has_perm(perm)

    def has_view_permission(self, request, obj=None) -> bool:
        return any(self._has(request, perm) for perm in self.view_permissions) or self._has(
            request, self.change_permission
        )

    def has_add_permission(self, request) -> bool:
        return self._has(request, self.add_permission)

    def has_change_permission(self, request, obj=None) -> bool:
        return self._has(request, self.change_permission)

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def has_module_permission(self, request) -> bool:
        return self.has_view_permission(request)
