from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CrfConfig(AppConfig):
    name = "crf"
    verbose_name = _("Clinical CRFs")

    def ready(self) -> None:
        from crf import services
        from trialsite import workflow

        # An adverse event or a follow-up written: the event's state follows (workflow.Step).
        workflow.register_step(workflow.Step.SAFETY, services.adverse_event_state_follows)
