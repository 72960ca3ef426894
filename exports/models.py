"""Exports are audited events: who exported what, when, with which filters, for whom."""

from __future__ import annotations

from datetime import datetime, timedelta

import pghistory
import pgtrigger
from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from enrollment.models import Participant


class ExportKind(models.TextChoices):
    CSV = "csv", _("CSV bundle (.zip) with data dictionary")
    ODM = "odm", _("CDISC ODM 1.3.2 XML")
    STATS = "stats", _("Statistics packages: SPSS, Stata and SAS files (.zip)")
    CASEBOOK = "casebook", _("PDF casebook")


class ExportStatus(models.TextChoices):
    RUNNING = "running", _("Running")
    DONE = "done", _("Done")
    FAILED = "failed", _("Failed")


@pghistory.track()
class Export(models.Model):
    """One export: itself part of the audit trail (pghistory records its creation)."""

    kind = models.CharField(_("kind"), max_length=10, choices=ExportKind.choices)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("exported by"), on_delete=models.PROTECT
    )
    created_at = models.DateTimeField(_("started at"), auto_now_add=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    status = models.CharField(
        _("status"), max_length=10, choices=ExportStatus.choices, default=ExportStatus.RUNNING
    )
    filters = models.JSONField(_("filters"), default=dict)
    options = models.JSONField(_("options"), default=dict)
    participants = models.JSONField(_("participants included"), default=list)
    row_counts = models.JSONField(_("rows per form"), default=dict)
    rows_done = models.PositiveIntegerField(_("rows written"), default=0)
    file_name = models.CharField(_("file name"), max_length=200, blank=True)
    size_bytes = models.PositiveBigIntegerField(_("size (bytes)"), null=True, blank=True)
    error = models.TextField(_("error"), blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("export")
        verbose_name_plural = _("exports")
        triggers = [pgtrigger.Protect(name="forbid_delete", operation=pgtrigger.Delete)]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.created_at:%Y-%m-%d %H:%M} ({self.created_by})"

    @property
    def casebook_subject(self) -> str:
        """The subject ID of a casebook export ("" for another kind)."""
        if self.kind != ExportKind.CASEBOOK or not self.participants:
            return ""
        return self.participants[0]

    def is_stale(self, now: datetime, limit: timedelta) -> bool:
        """Still marked running long after it started: its worker stopped (restart, crash)."""
        return self.status == ExportStatus.RUNNING and now - self.created_at > limit

    def filter_items(self) -> list[tuple[str, str]]:
        """The filters that were set, as (name, text): lists joined, dates as they are."""
        items = []
        for name, value in self.filters.items():
            if not value:
                continue
            text = ", ".join(map(str, value)) if isinstance(value, list | tuple) else str(value)
            items.append((name, text))
        return items


class DateShift(models.Model):
    """The secret per-participant offset of de-identified exports (kept stable across
    exports so a participant's shifted dates agree from one export to the next)."""

    participant = models.OneToOneField(
        Participant, on_delete=models.PROTECT, related_name="export_date_shift"
    )
    offset_days = models.IntegerField()

    class Meta:
        triggers = [
            pgtrigger.Protect(name="forbid_change", operation=pgtrigger.Delete | pgtrigger.Update)
        ]

    def __str__(self) -> str:
        return f"date shift of {self.participant}"
