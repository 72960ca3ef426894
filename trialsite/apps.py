from django.apps import AppConfig
from django.contrib.admin import apps as admin_apps
from django.utils.translation import gettext_lazy as _


class TrialsiteConfig(AppConfig):
    name = "trialsite"
    verbose_name = _("Trial")

    def ready(self) -> None:
        from axes.signals import user_locked_out
        from django.contrib.auth.signals import user_logged_in
        from django.db.models.signals import post_migrate

        from trialsite import dbroles, middleware, roles, security

        # Like contrib.auth's permissions: role groups follow the code after every migrate.
        post_migrate.connect(roles.sync_role_groups, sender=self)
        # The app role's least privileges follow the tables after every migrate.
        post_migrate.connect(dbroles.grant_app_role, sender=self)
        user_locked_out.connect(security.log_lockout)
        # The absolute session lifetime counts from each login.
        user_logged_in.connect(middleware.session_started)


class TrialAdminConfig(admin_apps.AdminConfig):
    """django.contrib.admin with its site open to superusers only (trialsite/admin_site.py)."""

    default = False  # named in INSTALLED_APPS; TrialsiteConfig stays this module's default

    default_site = "trialsite.admin_site.SuperuserAdminSite"
