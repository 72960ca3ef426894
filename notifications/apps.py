from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class NotificationsConfig(AppConfig):
    name = "notifications"
    verbose_name = _("Notifications")

    def ready(self) -> None:
        from crf import hooks
        from notifications import services

        # A serious-AE alert queues its e-mails in the transaction that records it.
        hooks.on_sae_alert_raised(services.sae_alert_queue)
