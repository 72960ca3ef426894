from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DosingConfig(AppConfig):
    name = "dosing"
    verbose_name = _("Dosing and visits")

    def ready(self) -> None:
        from django.db.models.signals import post_migrate

        from dosing import services
        from trialsite import workflow

        # A write to the course's facts: deviations and completion follow (workflow.Step).
        workflow.register_step(workflow.Step.COURSE, services.course_changed)
        # A database migrated from before the stored course gets it (every later write
        # keeps it; check_course compares it with the engine).
        post_migrate.connect(_store_missing_courses, sender=self)


def _store_missing_courses(sender, using: str = "default", **kwargs) -> None:
    from django.utils import timezone

    from dosing.stored_course import courses_rebuild
    from enrollment.models import Participant

    missing = Participant.objects.using(using).filter(course_events__isnull=True)
    if missing.exists():
        courses_rebuild(missing, timezone.localdate())
