"""Admin for users and agent keys. Keys are created through the service so the raw key is shown once."""

from __future__ import annotations

from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.utils import timezone

from apps.accounts import lockout, services
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
        fields = ("name", "scopes", "expires_at", "decide_rate_limit", "api_rate_limit")


@admin.register(AgentKey)
class AgentKeyAdmin(RolePermissionAdmin):
    form = AgentKeyForm
    view_permissions = ("accounts.manage_users", "accounts.view_audit_logs")
    add_permission = "accounts.manage_users"
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

    list_display = (
        "name",
        "prefix",
        "scope_list",
        "status",
        "expires_at",
        "last_used_at",
        "decide_rate_limit",
        "api_rate_limit",
    )

    def get_fields(self, request, obj=None):
        if obj is None:
            return ("name", "scopes", "expires_at", "decide_rate_limit", "api_rate_limit")
        return (
            "name",
            "prefix",
            "masked_secret",
            "scopes",
            "expires_at",
            "decide_rate_limit",
            "api_rate_limit",
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
        # Once issued, only a key's rate limits change (revoke with the list action).
        return request.user.has_perm("accounts.manage_users")

    def has_revoke_permission(self, request) -> bool:
        return request.user.has_perm("accounts.manage_users")

    def save_model(self, request, obj, form, change):
        if change:
            services.agent_key_set_rate_limits(
                key=AgentKey.objects.get(pk=obj.pk),
                decide_rate_limit=form.cleaned_data.get("decide_rate_limit", ""),
                api_rate_limit=form.cleaned_data.get("api_rate_limit", ""),
            )
            return
        issued = services.agent_key_create(
            name=form.cleaned_data["name"],
            scopes=form.cleaned_data["scopes"],
            expires_at=form.cleaned_data.get("expires_at"),
            created_by=request.user,
            decide_rate_limit=form.cleaned_data.get("decide_rate_limit", ""),
            api_rate_limit=form.cleaned_data.get("api_rate_limit", ""),
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


@admin.register(AccessAttempt)
class LoginLockoutAdmin(RolePermissionAdmin):
    """Failed passwords of the cool-off period and the locks they make (apps.accounts.lockout).

    Administrators release a lock by deleting the failure records behind it: the selected ones
    (a user name + address pair), or everything from their addresses and for their user names
    (the ceilings).
    """

    view_permissions = ("accounts.manage_users", "accounts.view_audit_logs")
    list_display = (
        "username",
        "ip_address",
        "pair_failures",
        "address_failures",
        "user_name_failures",
        "lock",
        "attempt_time",
    )
    search_fields = ("username", "ip_address")
    list_filter = ("attempt_time",)
    ordering = ("-attempt_time",)
    fields = (
        "username",
        "ip_address",
        "user_agent",
        "failures_since_start",
        "attempt_time",
        "path_info",
    )
    readonly_fields = fields
    actions = ("release_selected", "release_widely")

    def get_queryset(self, request):
        return lockout.attempts_with_totals(since=lockout.cool_off_start(timezone.now()))

    @admin.display(description="Pair failures")
    def pair_failures(self, obj) -> int:
        return obj.pair_failures

    @admin.display(description="Address failures")
    def address_failures(self, obj) -> int:
        return obj.address_failures

    @admin.display(description="User name failures")
    def user_name_failures(self, obj) -> int:
        return obj.user_name_failures

    @admin.display(description="Locked")
    def lock(self, obj) -> str:
        if obj.attempt_time < lockout.cool_off_start(timezone.now()):
            return "no (cooled off)"
        reason = lockout.Failures(
            pair=obj.pair_failures,
            address=obj.address_failures,
            user_name=obj.user_name_failures,
        ).lock_reason(settings.AXES_FAILURE_LIMIT)
        return f"locked: {reason}" if reason else "no"

    def has_release_permission(self, request) -> bool:
        return request.user.has_perm("accounts.manage_users")

    @admin.action(
        description="Release: delete the selected failure records", permissions=["release"]
    )
    def release_selected(self, request, queryset):
        self._release(request, queryset, widen=False)

    @admin.action(
        description="Release widely: also every record from their addresses and for their user names",
        permissions=["release"],
    )
    def release_widely(self, request, queryset):
        self._release(request, queryset, widen=True)

    def _release(self, request, queryset, *, widen: bool) -> None:
        count = services.login_lockouts_release(
            attempt_ids=list(queryset.values_list("pk", flat=True)), widen=widen, actor=request.user
        )
        self.message_user(
            request, f"Released: {count} failure record(s) deleted.", messages.SUCCESS
        )


class _ReadOnlyAuthLogAdmin(RolePermissionAdmin):
    view_permissions = ("accounts.manage_users", "accounts.view_audit_logs")
    list_display = ("attempt_time", "username", "ip_address", "path_info")
    search_fields = ("username", "ip_address")
    list_filter = ("attempt_time",)
    ordering = ("-attempt_time",)

    def get_readonly_fields(self, request, obj=None):
        return [field.name for field in self.model._meta.fields]


@admin.register(AccessFailureLog)
class SignInFailureAdmin(_ReadOnlyAuthLogAdmin):
    """Every failed password (AXES_ENABLE_ACCESS_FAILURE_LOG), kept after a release."""

    list_display = (*_ReadOnlyAuthLogAdmin.list_display, "locked_out")


@admin.register(AccessLog)
class SignInAdmin(_ReadOnlyAuthLogAdmin):
    """Every accepted password."""

    list_display = (*_ReadOnlyAuthLogAdmin.list_display, "logout_time")
