"""The Django admin, for superusers and system tables only (issue 16).

User administration (accounts, roles, sites, passwords) happens in the app's own pages
(accounts/), where every change is audited and its rules hold; the raw admin would let
whoever reaches it set another user's password or grant themselves a role.
"""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest


class SuperuserAdminSite(admin.AdminSite):
    def has_permission(self, request: HttpRequest) -> bool:
        # Staff status alone (data managers have it) no longer opens the admin.
        return request.user.is_active and request.user.is_superuser
