from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class NotificationsConfig(AppConfig):
    name = "notifications"
    verbose_name = _("Notifications")

    def ready(self) -> None:
        from notifications import services
        from trialsite import workflow

        # A serious-AE alert queues its e-mails in the transaction that records it.
        workflow.register_alert_handler(services.sae_alert_queue)
