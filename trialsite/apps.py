from django.apps import AppConfig
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
