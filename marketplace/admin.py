"""Staff screens of the kernel: users, the read-only audit log and periodic job failures."""

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.utils.translation import gettext_lazy as _

from .admin_tools import ReadOnlyAdmin
from .models import AuditLogEntry, JobFailure, User


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    ordering = ["email"]
    list_display = ["email", "first_name", "last_name", "phone", "is_staff", "is_active", "date_joined"]
    list_filter = ["is_staff", "is_superuser", "is_active", "groups"]
    search_fields = ["email", "first_name", "last_name", "phone"]
    fieldsets = (
        (None, {"fields": ("email", "password")}),
        (_("Personal info"), {"fields": ("first_name", "last_name", "phone")}),
        (_("Permissions"), {"fields": ("is_active", "is_staff", "is_superuser", "groups", "user_permissions")}),
        (_("Important dates"), {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = ((None, {"classes": ("wide",), "fields": ("email", "password1", "password2")}),)


@admin.register(AuditLogEntry)
class AuditLogEntryAdmin(ReadOnlyAdmin):
    """Read-only: the log is append-only and only services write to it."""

    list_display = ["seq", "created_at", "actor", "action", "object_type", "object_id", "stream_seq", "reason"]
    list_filter = ["action", "object_type"]
    search_fields = ["action", "object_type", "object_id", "stream", "reason", "actor__email"]
    list_select_related = ["actor"]
    date_hierarchy = "created_at"


class OpenFilter(admin.SimpleListFilter):
    title = _("state")
    parameter_name = "state"

    def lookups(self, request, model_admin):
        return [("open", _("Unresolved")), ("resolved", _("Resolved"))]

    def queryset(self, request, queryset):
        if self.value() == "open":
            return queryset.filter(resolved_at__isnull=True)
        if self.value() == "resolved":
            return queryset.filter(resolved_at__isnull=False)
        return queryset


@admin.register(JobFailure)
class JobFailureAdmin(ReadOnlyAdmin):
    """Read-only: periodic jobs record the items they could not handle; staff fix the cause
    (the code says which rule refused it) and the next run marks the row resolved."""

    list_display = ["last_seen", "job", "object_type", "object_id", "code", "count", "first_seen", "resolved_at"]
    list_filter = [OpenFilter, "job", "code"]
    search_fields = ["job", "object_type", "object_id", "code", "message"]
    date_hierarchy = "last_seen"
