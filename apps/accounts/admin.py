"""Admin for users and agent keys. Keys are created through the service so the raw key is shown once."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin

from apps.accounts import services
from apps.accounts.constants import Scope
from apps.accounts.models import AgentKey, BackupCodeDevice, User
from apps.core.admin import RolePermissionAdmin


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    """Users are managed by holders of ``manage_users`` (admins)."""

    def has_view_permission(self, request, obj=None) -> bool:
        return request.user.has_perm("accounts.manage_users")

    has_module_permission = has_view_permission

    def has_add_permission(self, request) -> bool:
        return request.user.has_perm("accounts.manage_users")

    def has_change_permission(self, request, obj=None) -> bool:
        return request.user.has_perm("accounts.manage_users")

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    list_display = ("username", "email", "role_names", "is_active", "last_login")
    list_filter = ("groups", "is_active")

    @admin.display(description="Roles")
    def role_names(self, obj: User) -> str:
        return ", ".join(obj.roles) or "—"


class AgentKeyForm(forms.ModelForm):
    scopes = forms.MultipleChoiceField(
        choices=Scope.choices, widget=forms.CheckboxSelectMultiple, required=True
    )

    class Meta:
        model = AgentKey
        fields = ("name", "scopes", "expires_at")


@admin.register(AgentKey)
class AgentKeyAdmin(RolePermissionAdmin):
    form = AgentKeyForm
    view_permissions = ("accounts.manage_users", "accounts.view_audit_logs")
    add_permission = "accounts.manage_users"
    list_display = ("name", "prefix", "scope_list", "status", "expires_at", "last_used_at")
    search_fields = ("name", "prefix")
    readonly_fields = (
        "prefix",
        "masked_secret",
        "last_used_at",
        "revoked_at",
        "revoked_reason",
        "created_by",
        "created_at",
    )
    actions = ("revoke_keys",)

    def get_fields(self, request, obj=None):
        if obj is None:
            return ("name", "scopes", "expires_at")
        return (
            "name",
            "prefix",
            "masked_secret",
            "scopes",
            "expires_at",
            "last_used_at",
            "revoked_at",
            "revoked_reason",
            "created_by",
            "created_at",
        )

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return ()
        return (*self.readonly_fields, "name", "scopes", "expires_at")

    @admin.display(description="Secret")
    def masked_secret(self, obj: AgentKey) -> str:
        return f"lxk_{obj.prefix}_{'•' * 12} (only a hash is stored)"

    @admin.display(description="Scopes")
    def scope_list(self, obj: AgentKey) -> str:
        return ", ".join(obj.scopes)

    def has_change_permission(self, request, obj=None) -> bool:
        # Keys are immutable once issued (revoke with the list action); the add form needs it.
        return obj is None and request.user.has_perm("accounts.manage_users")

    def has_revoke_permission(self, request) -> bool:
        return request.user.has_perm("accounts.manage_users")

    def save_model(self, request, obj, form, change):
        if change:
            return
        issued = services.agent_key_create(
            name=form.cleaned_data["name"],
            scopes=form.cleaned_data["scopes"],
            expires_at=form.cleaned_data.get("expires_at"),
            created_by=request.user,
        )
        form.instance = issued.key
        obj.pk = issued.key.pk
        messages.warning(
            request, f"Copy this key now, it will not be shown again: {issued.raw_key}"
        )

    @admin.action(description="Revoke selected keys", permissions=["revoke"])
    def revoke_keys(self, request, queryset):
        for key in queryset:
            services.agent_key_revoke(key=key, reason=f"revoked in admin by {request.user}")
        self.message_user(request, f"Revoked {queryset.count()} key(s).", messages.SUCCESS)


@admin.register(BackupCodeDevice)
class BackupCodeDeviceAdmin(RolePermissionAdmin):
    view_permissions = ("accounts.manage_users",)
    list_display = ("user", "name", "unused_codes")
    readonly_fields = ("user", "name", "confirmed")
    fields = ("user", "name", "confirmed")

    @admin.display(description="Unused codes")
    def unused_codes(self, obj: BackupCodeDevice) -> int:
        return obj.codes.filter(used_at__isnull=True).count()

    def has_add_permission(self, request) -> bool:
        return False
