from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DemoConfig(AppConfig):
    """Demo data for `make run` and load data for `make bench`: outside the clinical apps,
    written through their services like a site would enter it."""

    name = "demo"
    verbose_name = _("Demo and load data")
