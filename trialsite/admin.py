"""The Django admin: system tables for superusers (trialsite/admin_site.py).

Users, roles and sites of users are administered in the app (accounts/), where each
change is audited with its reason; here they are shown read-only, to superusers too:
no password form, no role or site editing, no permission editing on the role groups
(their permissions follow trialsite/roles.py after every migrate anyway).
"""

from django.contrib import admin
from django.contrib.auth.admin import GroupAdmin, UserAdmin
from django.contrib.auth.models import Group
from django.http import HttpRequest

from trialsite.models import Site, User


class ReadOnlyAdmin:
    """Shown, never changed, added or deleted through the admin."""

    def has_add_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


@admin.register(User)
class TrialUserAdmin(ReadOnlyAdmin, UserAdmin):
    fieldsets = (
        *UserAdmin.fieldsets,
        ("Trial", {"fields": ("sites",)}),
    )
    list_display = ("username", "first_name", "last_name", "is_active", "is_staff")
    list_filter = ("groups", "sites", "is_active")


admin.site.unregister(Group)


@admin.register(Group)
class RoleGroupAdmin(ReadOnlyAdmin, GroupAdmin):
    pass


@admin.register(Site)
class SiteAdmin(admin.ModelAdmin):
    list_display = ("code", "name", "city", "is_active")

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False
