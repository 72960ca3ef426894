from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MonitoringConfig(AppConfig):
    name = "monitoring"
    verbose_name = _("Monitoring and data quality")

    def ready(self) -> None:
        from monitoring import annotate, hooks
        from trialsite import workflow
        from trialsite.workflow import Step

        # Monitoring's part in every write (the order is workflow.Step's).
        workflow.register_guard(hooks.refuse_if_locked)
        workflow.register_step(Step.VERIFICATION, hooks.clear_stale_verifications)
        workflow.register_step(Step.SIGN_OFF, hooks.void_stale_sign_offs)
        workflow.register_step(Step.QUERY_ANSWER, hooks.answer_query_by_correction)
        workflow.register_step(Step.EDIT_CHECKS, hooks.run_edit_checks)
        workflow.register_form_annotator(annotate.annotate_edit_form)
