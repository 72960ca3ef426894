"""Administration of users and sites (data managers and superusers)."""

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin

from trialsite.models import Site, User


@admin.register(User)
class TrialUserAdmin(UserAdmin):
    fieldsets = (
        *UserAdmin.fieldsets,
        ("Trial", {"fields": ("sites",)}),
    )
    filter_horizontal = ("groups", "user_permissions", "sites")
    list_display = ("username", "first_name", "last_name", "is_active", "is_staff")
    list_filter = ("groups", "sites", "is_active")

    def has_delete_permission(self, request, obj=None) -> bool:
        # Deactivate instead: the audit trail and signatures refer to users.
        return False

    def get_readonly_fields(self, request, obj=None) -> tuple[str, ...]:
        # A data manager assigns roles and sites but cannot create superusers
        # or grant permissions outside the role groups.
        if request.user.is_superuser:
            return ()
        return ("is_superuser", "user_permissions", "last_login", "date_joined")


@admin.register(Site)
class SiteAdmin(admin.ModelAdmin):
    list_display = ("code", "name", "city", "is_active")

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
