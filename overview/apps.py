from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class OverviewConfig(AppConfig):
    """Pages composed from several apps: the dashboard, the participant page, the search."""

    name = "overview"
    verbose_name = _("Overview")
