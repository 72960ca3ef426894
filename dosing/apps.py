from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DosingConfig(AppConfig):
    name = "dosing"
    verbose_name = _("Dosing and visits")

    def ready(self) -> None:
        from dosing import services
        from trialsite import workflow

        # A write to the course's facts: deviations and completion follow (workflow.Step).
        workflow.register_step(workflow.Step.COURSE, services.course_changed)
