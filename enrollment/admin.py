"""Consent form versions are registered by data managers in the admin site."""

from django.contrib import admin

from enrollment.models import ConsentFormVersion


@admin.register(ConsentFormVersion)
class ConsentFormVersionAdmin(admin.ModelAdmin):
    list_display = ("kind", "version", "effective_from", "requires_reconsent")
    list_filter = ("kind", "requires_reconsent")

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
