"""Consent form versions are registered in the app (Consent forms page, data managers),
through ``consent_form_version_register``; the admin site only lists them."""

from django.contrib import admin

from enrollment.models import ConsentFormVersion


@admin.register(ConsentFormVersion)
class ConsentFormVersionAdmin(admin.ModelAdmin):
    list_display = ("kind", "version", "effective_from", "requires_reconsent", "registered_by")
    list_filter = ("kind", "requires_reconsent")

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
