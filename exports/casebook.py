"""The PDF casebook of one participant (ReportLab, installs from pip alone).

Every CRF in visit order with values, units and flags; the signatures with
printed name, date-time and meaning; the participant's audit trail as an
appendix; a header with study, site, subject ID and "page x of y" on every page.
"""

from __future__ import annotations

import ast
import io
import re
from collections import defaultdict
from datetime import UTC

from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext as _
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle, getSampleStyleSheet
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfgen import canvas as pdf_canvas
from reportlab.platypus import PageBreak, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from enrollment.models import Participant
from exports.dictionary import row_unit_column, unit_of
from exports.registry import ExportForm, export_forms
from exports.rows import ExportFilters, ExportOptions, exported_items, rows
from trialsite import protocol, signatures
from trialsite.audit import history_of

# A CID font the PDF viewer supplies: Chinese free text renders without shipping font files.
CJK_FONT = "STSong-Light"
pdfmetrics.registerFont(UnicodeCIDFont(CJK_FONT))
_CJK = re.compile(r"[\u2e80-\u9fff\uf900-\ufaff\uff00-\uffef]")

STYLES = getSampleStyleSheet()
CELL = ParagraphStyle("cell", parent=STYLES["BodyText"], fontSize=8, leading=10)
CELL_CJK = ParagraphStyle("cell_cjk", parent=CELL, fontName=CJK_FONT)
H1 = STYLES["Heading1"]
H2 = STYLES["Heading2"]
H3 = ParagraphStyle("h3", parent=STYLES["Heading3"], spaceBefore=6, spaceAfter=2)


# The standard PDF fonts have no superscript digits: "×10⁹/L" is drawn as ×10<super>9</super>/L.
_SUPERSCRIPTS = str.maketrans("⁰¹²³⁴⁵⁶⁷⁸⁹⁺⁻", "0123456789+-")
_SUPERSCRIPT_RUN = re.compile("[⁰¹²³⁴⁵⁶⁷⁸⁹⁺⁻]+")


def _p(text: object, style: ParagraphStyle = CELL) -> Paragraph:
    text = str(text)
    if _CJK.search(text):
        style = ParagraphStyle(f"{style.name}_cjk", parent=style, fontName=CJK_FONT)
    escaped = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    escaped = _SUPERSCRIPT_RUN.sub(
        lambda m: f"<super>{m.group(0).translate(_SUPERSCRIPTS)}</super>", escaped
    )
    return Paragraph(escaped, style)


# A table row never splits across pages: a long text (an AE description of 100 kB, kept
# in the audit trail even after its correction) is cut into pieces, each in a row of its own,
# small enough for a page. The budget assumes the widest glyphs (a full-width CJK character
# is one em wide) so a piece fits whatever script it is in; a word longer than a line is
# broken by the paragraph itself (splitLongWords), a word longer than a piece here.
_PIECE_LINES = 40
_GLYPH_PT = CELL.fontSize + 0.5


def _pieces(text: str, width_pt: float) -> list[str]:
    """``text`` cut into pieces of at most a page's worth of lines in a column this wide,
    at a space when there is one in the second half of a piece."""
    size = max(40, int(width_pt / _GLYPH_PT) * _PIECE_LINES)
    pieces, start = [], 0
    while len(text) - start > size:
        cut = text.rfind(" ", start + size // 2, start + size)
        end = cut if cut > 0 else start + size
        pieces.append(text[start:end])
        start = end + 1 if cut > 0 else end
    return [*pieces, text[start:]]


def _rows(cells: list[object], widths_pt: list[float]) -> list[list[Paragraph]]:
    """One table row, as as many rows as its longest cell needs (each cell in pieces)."""
    columns = [
        _pieces(cell if isinstance(cell, str) else str(cell), width)
        for cell, width in zip(cells, widths_pt, strict=True)
    ]
    return [
        [_p(pieces[i]) if i < len(pieces) else _p("") for pieces in columns]
        for i in range(max(len(pieces) for pieces in columns))
    ]


_LIST_FIELDS = (ArrayField, models.JSONField)


def _readable(value: str, model_field: models.Field | None) -> str:
    """An audit value as a person reads it: the trail prints an array or JSON field's value
    as a Python list ("['hospitalisation']"); here its items (their labels when the field
    has choices), joined by commas. Only for those fields: a text a person typed is shown
    exactly as typed."""
    if not isinstance(model_field, _LIST_FIELDS) or not value.startswith(("[", "{")):
        return value
    try:
        items = ast.literal_eval(value)
    except (ValueError, SyntaxError, MemoryError, RecursionError):
        return value
    if isinstance(items, dict):
        items = [f"{key}: {item}" for key, item in items.items()]
    if not isinstance(items, list):
        return value
    base = getattr(model_field, "base_field", None)
    labels = dict(base.flatchoices) if base is not None else {}
    return ", ".join(str(labels.get(item, item)) for item in items) or "—"


_AUDIT_WIDTHS_MM = [25, 30, 22, 16, 30, 62]


def _audit_table(records: list) -> Table:
    """The appendix: every audit event of every record, values as a person reads them."""
    widths = [w * mm for w in _AUDIT_WIDTHS_MM]
    heads = [_("When (UTC)"), _("Record"), _("Who"), _("Action"), _("Reason"), _("Changes")]
    audit_rows = [[_p(head) for head in heads]]
    for form, row in records:
        record = form.model._default_manager.get(pk=row["record_id"])
        arrays = {
            str(f.verbose_name): f
            for f in form.model._meta.concrete_fields
            if isinstance(f, _LIST_FIELDS)
        }
        for entry in history_of(record):
            changes = "; ".join(
                f"{c.label}: {_readable(c.old, arrays.get(c.label))} → "
                f"{_readable(c.new, arrays.get(c.label))}"
                for c in entry.changes
            )
            when = entry.when.strftime("%Y-%m-%d %H:%M:%S")
            record_label = f"{form.label} #{row['record_id']}"
            audit_rows += _rows(
                [when, record_label, entry.who, entry.action, entry.reason, changes], widths
            )
    return _table(audit_rows, _AUDIT_WIDTHS_MM)


def _lab_flag(row: dict[str, str], participant: Participant) -> str:
    """The flag against the child's range (age at the sample, sex, site laboratory)."""
    from datetime import date
    from decimal import Decimal

    from trialsite import reference_ranges

    try:
        facts = participant.lab_facts(date.fromisoformat(row["taken_on"]))
        result = facts.flag(row["analyte"], Decimal(row["value"]))
    except (KeyError, ValueError, ArithmeticError, reference_ranges.UnknownLabCode):
        return ""
    return result.flag or ""


_FORM_WIDTHS_MM = [70, 75, 20, 12]


def _form_table(form: ExportForm, row: dict[str, str], participant: Participant) -> Table:
    widths = [w * mm for w in _FORM_WIDTHS_MM]
    data = [[_p(_("Field")), _p(_("Value")), _p(_("Unit")), _p(_("Flag"))]]
    for item in exported_items(form, ExportOptions()):
        value = row[item.name]
        if item.choices and value:
            labels = {str(code): label for code, label in item.choices}
            value = ", ".join(labels.get(code, code) for code in value.split("|"))
        flag = ""
        if form.code == "dosing_labresult" and item.name == "value":
            flag = _lab_flag(row, participant)
        unit_column = row_unit_column(item)
        unit = row.get(unit_column, "") if unit_column else unit_of(item)
        data += _rows([item.label, value or "—", unit, flag], widths)
    for computed in form.computed:
        data += _rows([computed.label, row[computed.name] or "—", "", _("computed")], widths)
    if row["record_status"] == "voided":
        data += _rows([_("VOIDED"), row["void_reason"], "", ""], widths)
    table = Table(data, colWidths=widths, repeatRows=1)
    table.setStyle(
        TableStyle(
            [
                ("GRID", (0, 0), (-1, -1), 0.25, colors.grey),
                ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e9ecef")),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
            ]
        )
    )
    return table


class _NumberedCanvas(pdf_canvas.Canvas):
    """Draws the header and "page x of y" once the total is known."""

    header = ""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._pages: list[dict] = []

    def showPage(self) -> None:  # noqa: N802 (ReportLab's API)
        self._pages.append(dict(self.__dict__))
        self._startPage()

    def save(self) -> None:
        total = len(self._pages)
        for state in self._pages:
            self.__dict__.update(state)
            self._decorate(total)
            super().showPage()
        super().save()

    def _decorate(self, total: int) -> None:
        width, height = A4
        font = CJK_FONT if _CJK.search(self.header) else "Helvetica"
        self.setFont(font, 8)
        self.drawString(15 * mm, height - 10 * mm, self.header)
        page_text = _("Page %(page)s of %(total)s") % {"page": self._pageNumber, "total": total}
        self.setFont(CJK_FONT if _CJK.search(page_text) else "Helvetica", 8)
        self.drawRightString(width - 15 * mm, height - 10 * mm, page_text)
        self.line(15 * mm, height - 12 * mm, width - 15 * mm, height - 12 * mm)


def build_casebook(participant: Participant, *, generated_by: str) -> bytes:
    """The casebook PDF of ``participant``."""
    filters = ExportFilters(subject_ids=(participant.subject_id,))
    options = ExportOptions()
    by_visit: dict[tuple[str, str], list] = defaultdict(list)
    other: list = []
    records = []
    for form in export_forms():
        for row in rows(form, filters, options):
            records.append((form, row))
            if row["visit_code"]:
                by_visit[(row["visit_date"], row["visit_code"])].append((form, row))
            else:
                other.append((form, row))

    story: list = [
        _p(f"{protocol.REGISTRY_ID} – {protocol.STUDY_TITLE}", H1),
        _p(_("Casebook of %(subject)s") % {"subject": participant.subject_id}, H2),
        _p(
            _("Site: %(site)s. Status: %(status)s. Enrolled: %(date)s.")
            % {
                "site": participant.site,
                "status": participant.get_status_display(),
                "date": participant.enrolled_on.isoformat(),
            }
        ),
        _p(
            _("Generated %(when)s by %(who)s.")
            % {"when": timezone.localtime().strftime("%Y-%m-%d %H:%M %Z"), "who": generated_by}
        ),
        Spacer(1, 6 * mm),
        _p(_("Screening, enrolment and study-wide records"), H2),
    ]
    for form, row in other:
        story += [_p(f"{form.label} #{row['record_id']}", H3), _form_table(form, row, participant)]
    for (visit_date, visit_code), entries in sorted(by_visit.items()):
        story += [
            PageBreak(),
            _p(_("Visit %(code)s on %(date)s") % {"code": visit_code, "date": visit_date}, H2),
        ]
        for form, row in entries:
            story += [
                _p(f"{form.label} #{row['record_id']}", H3),
                _form_table(form, row, participant),
            ]

    story += [PageBreak(), _p(_("Signatures"), H2)]
    story.append(_signature_table(records, participant))

    story += [PageBreak(), _p(_("Appendix: audit trail"), H2), _audit_table(records)]

    buffer = io.BytesIO()
    header = f"{protocol.REGISTRY_ID} · {participant.site.code} · {participant.subject_id}"
    canvas_class = type("CasebookCanvas", (_NumberedCanvas,), {"header": header})
    document = SimpleDocTemplate(
        buffer,
        pagesize=A4,
        topMargin=18 * mm,
        bottomMargin=15 * mm,
        leftMargin=15 * mm,
        rightMargin=15 * mm,
        title=f"{protocol.REGISTRY_ID} casebook {participant.subject_id}",
        author=generated_by,
    )
    document.build(story, canvasmaker=canvas_class)
    return buffer.getvalue()


def _signature_table(records: list, participant: Participant) -> Table:
    """Every signature of the records and the participant's sign-offs, valid or void."""
    signature_rows = [
        [
            _p(_("Record")),
            _p(_("Printed name")),
            _p(_("Date-time (UTC)")),
            _p(_("Meaning")),
            _p(_("Status")),
        ]
    ]
    for form, row in records:
        if not hasattr(form.model, "signature_payload"):
            continue
        record = form.model._default_manager.get(pk=row["record_id"])
        for state in signatures.signature_states(record):
            signature = state.signature
            signature_rows.append(
                [
                    _p(f"{form.label} #{row['record_id']}"),
                    _p(signature.printed_name),
                    _p(signature.signed_at.astimezone(UTC).strftime("%Y-%m-%d %H:%M")),
                    _p(signature.get_meaning_display()),
                    _p(_("valid") if state.valid else _("VOID: %(why)s") % {"why": state.reason}),
                ]
            )
    from monitoring.models import Signoff

    # Investigator sign-offs of visits and of the casebook (monitoring).
    for signoff in Signoff.objects.filter(participant=participant).select_related("visit"):
        label = (
            _("Visit %(code)s sign-off") % {"code": signoff.visit.visit_code}
            if signoff.visit
            else _("Casebook sign-off")
        )
        for state in signatures.signature_states(signoff):
            signature = state.signature
            signature_rows.append(
                [
                    _p(label),
                    _p(signature.printed_name),
                    _p(signature.signed_at.astimezone(UTC).strftime("%Y-%m-%d %H:%M")),
                    _p(signature.get_meaning_display()),
                    _p(_("valid") if state.valid else _("VOID: %(why)s") % {"why": state.reason}),
                ]
            )
    return _table(signature_rows, [35, 35, 30, 55, 30])


def _table(data: list, widths_mm: list[int]) -> Table:
    table = Table(data, colWidths=[w * mm for w in widths_mm], repeatRows=1)
    table.setStyle(
        TableStyle(
            [
                ("GRID", (0, 0), (-1, -1), 0.25, colors.grey),
                ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e9ecef")),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
            ]
        )
    )
    return table
