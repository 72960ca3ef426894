from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CrfConfig(AppConfig):
    name = "crf"
    verbose_name = _("Clinical CRFs")

    def ready(self) -> None:
        from django.db.models.signals import post_migrate

        from crf import carry, services
        from dosing import measurements
        from trialsite import workflow

        # What follows a write in this app's read models (workflow.Step).
        workflow.register_step(workflow.Step.CRF, services.crf_follows)
        # Vitals and gland-function values carried forward to later forms.
        measurements.register_measurement_source(carry.crf_measurements)
        # A database migrated from before the visit-forms and outcome read models gets them.
        post_migrate.connect(_store_missing_visit_forms, sender=self)
        post_migrate.connect(_store_missing_outcome_states, sender=self)


def _store_missing_visit_forms(sender, using: str = "default", **kwargs) -> None:
    from crf.services import visit_forms_rebuild
    from dosing.models import Visit

    visit_forms_rebuild(Visit.objects.using(using).filter(forms_state__isnull=True))


def _store_missing_outcome_states(sender, using: str = "default", **kwargs) -> None:
    from crf.services import outcome_state_rebuild
    from enrollment.models import Participant

    outcome_state_rebuild(Participant.objects.using(using).filter(outcome_state__isnull=True))
