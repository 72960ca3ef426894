"""CDISC ODM 1.3.2 export: study metadata, admin data and clinical data with audit
records and signatures.  Validated against the official schema in the tests.

Written incrementally with ``lxml.etree.xmlfile``; subjects are read in batches
(one query per form per batch), so memory stays flat however many there are.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable, Iterable
from copy import deepcopy
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from django.contrib.contenttypes.models import ContentType
from lxml import etree

from dosing import engine
from exports import history
from exports import odm_metadata as meta
from exports.dictionary import canonical_lab_unit, data_type
from exports.registry import Computed, ExportForm, Item, export_forms
from exports.rows import ExportFilters, ExportOptions, exported_items, rows, shift_dates_in
from trialsite import protocol
from trialsite.models import Signature, SignatureMeaning, Site, User
from trialsite.signatures import (
    SignatureState,
    latest_valid_signatures,
    signature_states,
    stored_records,
)

NS = "http://www.cdisc.org/ns/odm/v1.3"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
METADATA_OID = "MDV.1"
# Subjects per batch: one query per form per batch, and every element of the batch is
# held until its subjects are written; 500 peaked at 610 MB, 50 stays near 130 MB
# whatever the number of participants (issue 10).
BATCH = 50
DATABASE_USER_OID = "USR.DATABASE"
LEGAL_REASON = (
    "Electronic signature with password re-entry, bound to a SHA-256 hash of the signed data"
)

# Scheduled events in protocol order; unscheduled visits repeat under SE.UNS.
_EVENTS = [
    ("SCREENING", "Screening", "Scheduled", "No"),
    ("ENROLMENT", "Enrolment and status", "Common", "No"),
    (protocol.BASELINE_VISIT_CODE, "Baseline (Day 0)", "Scheduled", "No"),
    *[
        (f"{protocol.RITUXIMAB_VISIT_PREFIX}{n}", f"Rituximab infusion {n}", "Scheduled", "No")
        for n in range(1, protocol.RITUXIMAB_MAX_INFUSIONS + 1)
    ],
    *[
        (f"{protocol.BELIMUMAB_VISIT_PREFIX}{n}", f"Belimumab infusion {n}", "Scheduled", "No")
        for n in range(1, engine.most_belimumab_infusions() + 1)
    ],
    *[
        (code, f"Week {day // protocol.DAYS_PER_WEEK} assessment", "Scheduled", "No")
        for code, day in protocol.ASSESSMENT_VISITS
    ],
    (protocol.UNSCHEDULED_VISIT_PREFIX, "Unscheduled visit", "Unscheduled", "Yes"),
    ("LOGS", "Study-wide logs (adverse events, medication, deviations, results)", "Common", "No"),
]


def _oid(*parts: str) -> str:
    return ".".join(re.sub(r"[^A-Za-z0-9_]+", "_", p).upper() for p in parts)


def form_oid(form: ExportForm) -> str:
    return _oid("F", form.code)


def item_oid(form: ExportForm, item: Item) -> str:
    return _oid("I", form.code, item.name)


def computed_oid(form: ExportForm, computed: Computed) -> str:
    return _oid("I", form.code, computed.name)


def method_oid(form: ExportForm, computed: Computed) -> str:
    return _oid("MT", form.code, computed.name)


def odm_computed(form: ExportForm) -> tuple[Computed, ...]:
    """The derived items of ``form`` the ODM file carries."""
    return tuple(computed for computed in form.computed if computed.in_odm)


def codelist_oid(form: ExportForm, item: Item) -> str:
    return _oid("CL", form.code, item.name)


def unit_oid(unit: str) -> str:
    return _oid("MU", unit.encode("ascii", "backslashreplace").decode())


def event_of(form: ExportForm, row: dict[str, str]) -> tuple[str, str | None]:
    """(StudyEventOID, repeat key) a row belongs to."""
    code = row["visit_code"]
    if code:
        return _visit_event(code)
    app = form.model._meta.app_label
    if app == "eligibility":
        return "SE.SCREENING", None
    if app == "enrollment":
        return "SE.ENROLMENT", None
    return "SE.LOGS", None


def _text(tag: str, text: str, **attrs: str) -> etree._Element:
    element = etree.Element(tag, **attrs)
    translated = etree.SubElement(element, "TranslatedText")
    translated.set(XML_LANG, "en")
    translated.text = text
    return element


def _texts(tag: str, make: Callable[[], object]) -> etree._Element:
    """``tag`` with ``make()`` in English and Simplified Chinese (lazy labels made twice)."""
    element = etree.Element(tag)
    for language, text in meta.translations(make):
        translated = etree.SubElement(element, "TranslatedText")
        translated.set(XML_LANG, language)
        translated.text = text
    return element


item_units = meta.item_units


def _odm_type(item: Item) -> str:
    kind = data_type(item.field)
    return {"text": "text", "boolean": "boolean"}.get(kind, kind)


STUDY_NOTE = (
    " Subjects keyed by a screening number (<SITE>-S<nnn>) are candidates never enrolled"
    " (screen failures): they have the screening event only, and a de-identified export"
    " leaves them out. Data queries are Annotations of the item (or form) they are about,"
    " flagged with their status."
)
QUERY_STATUS_CODELIST = "CL.QUERY_STATUS"
ANNOTATION_TYPE_CODELIST = "CL.ANNOTATION_TYPE"


def metadata(options: ExportOptions) -> etree._Element:
    forms = export_forms()
    study = etree.Element("Study", OID=_oid("ST", protocol.REGISTRY_ID))
    globals_ = etree.SubElement(study, "GlobalVariables")
    etree.SubElement(globals_, "StudyName").text = protocol.REGISTRY_ID
    etree.SubElement(globals_, "StudyDescription").text = protocol.STUDY_TITLE + STUDY_NOTE
    etree.SubElement(globals_, "ProtocolName").text = protocol.ORG_STUDY_ID
    units = sorted({u for f in forms for i in exported_items(f, options) for u in item_units(i)})
    if units:
        basic = etree.SubElement(study, "BasicDefinitions")
        for unit in units:
            mu = etree.SubElement(basic, "MeasurementUnit", OID=unit_oid(unit), Name=unit)
            mu.append(_text("Symbol", meta.UCUM[unit]))  # UCUM code; the Name as people read it
    mdv = etree.SubElement(
        study, "MetaDataVersion", OID=METADATA_OID, Name=f"{protocol.REGISTRY_ID} CRFs"
    )
    _events(mdv, forms)
    for form in forms:
        form_def = etree.SubElement(
            mdv, "FormDef", OID=form_oid(form), Name=form.label, Repeating="Yes"
        )
        etree.SubElement(
            form_def, "ItemGroupRef", ItemGroupOID=_oid("IG", form.code), Mandatory="Yes"
        )
    for form in forms:
        _item_group(mdv, form, options)
    _item_defs(mdv, forms, options)
    _codelists_and_methods(mdv, forms, options)
    return study


def _events(mdv: etree._Element, forms: tuple[ExportForm, ...]) -> None:
    """The protocol's events, each with the forms the schedule of assessments gives it
    (mandatory: the forms the visit expects)."""
    protocol_el = etree.SubElement(mdv, "Protocol")
    for order, (code, _name, _type, _repeat) in enumerate(_EVENTS, start=1):
        etree.SubElement(
            protocol_el,
            "StudyEventRef",
            StudyEventOID=f"SE.{code}",
            OrderNumber=str(order),
            Mandatory="Yes" if code == "SCREENING" else "No",
        )
    for code, name, kind, repeating in _EVENTS:
        event = etree.SubElement(
            mdv, "StudyEventDef", OID=f"SE.{code}", Name=name, Repeating=repeating, Type=kind
        )
        for order, (form, mandatory) in enumerate(meta.event_forms(code, forms), start=1):
            etree.SubElement(
                event,
                "FormRef",
                FormOID=form_oid(form),
                OrderNumber=str(order),
                Mandatory="Yes" if mandatory else "No",
            )


def _item_group(mdv: etree._Element, form: ExportForm, options: ExportOptions) -> None:
    group = etree.SubElement(
        mdv, "ItemGroupDef", OID=_oid("IG", form.code), Name=form.label, Repeating="No"
    )
    items = exported_items(form, options)
    for order, item in enumerate(items, start=1):
        etree.SubElement(
            group,
            "ItemRef",
            ItemOID=item_oid(form, item),
            OrderNumber=str(order),
            Mandatory="Yes" if meta.is_mandatory(item) else "No",
        )
    for order, computed in enumerate(odm_computed(form), start=len(items) + 1):
        etree.SubElement(
            group,
            "ItemRef",
            ItemOID=computed_oid(form, computed),
            OrderNumber=str(order),
            Mandatory="No",
            MethodOID=method_oid(form, computed),
        )


def _item_defs(mdv: etree._Element, forms, options: ExportOptions) -> None:
    """An ItemDef per exported field and per derived item the ODM carries."""
    for form in forms:
        for item in exported_items(form, options):
            attrs = {
                "OID": item_oid(form, item),
                "Name": f"{form.code}.{item.name}",
                "DataType": _odm_type(item),
            }
            max_length = getattr(item.field, "max_length", None)
            if attrs["DataType"] == "text" and max_length:
                attrs["Length"] = str(max_length)
            item_def = etree.SubElement(mdv, "ItemDef", **attrs)
            item_def.append(_texts("Question", lambda f=form, i=item: meta.question(f, i)))
            for unit in item_units(item):
                etree.SubElement(item_def, "MeasurementUnitRef", MeasurementUnitOID=unit_oid(unit))
            item_def.extend(_range_checks(form, item))
            if item.choices:
                etree.SubElement(item_def, "CodeListRef", CodeListOID=codelist_oid(form, item))
        for computed in odm_computed(form):
            item_def = etree.SubElement(
                mdv,
                "ItemDef",
                OID=computed_oid(form, computed),
                Name=f"{form.code}.{computed.name}",
                DataType=computed.data_type,
            )
            item_def.append(_texts("Question", lambda c=computed: c.label))


def _range_checks(form: ExportForm, item: Item) -> Iterable[etree._Element]:
    """Soft range checks from the reference ranges (a value outside is flagged, not
    refused); on a lab value, each one holds for the row's test only (its expression)."""
    analyte = next((i for i in form.items if i.name == "analyte"), None)
    for comparator, limits, condition in meta.range_checks(item):
        check = etree.Element("RangeCheck", Comparator=comparator, SoftHard="Soft")
        limit = limits.lower if comparator == "GE" else limits.upper
        if condition is None or analyte is None:
            etree.SubElement(check, "CheckValue").text = str(limit)
        else:
            etree.SubElement(check, "FormalExpression", Context="XPath 2.0").text = (
                f"if (../ItemData[@ItemOID='{item_oid(form, analyte)}']/@Value = "
                f"'{condition}') then {limit} else ()"
            )
        if limits.unit in meta.UCUM:
            etree.SubElement(check, "MeasurementUnitRef", MeasurementUnitOID=unit_oid(limits.unit))
        side = "below the lower" if comparator == "GE" else "above the upper"
        check.append(
            _text("ErrorMessage", f"{limits.analyte}: {side} reference limit {limit} {limits.unit}")
        )
        yield check


def _codelists_and_methods(mdv: etree._Element, forms, options: ExportOptions) -> None:
    """The CodeLists of the coded fields, then the MethodDefs of the derived items."""
    for form in forms:
        for item in exported_items(form, options):
            if not item.choices:
                continue
            integer = all(isinstance(code, int) for code, _label in item.choices)
            codelist = etree.SubElement(
                mdv,
                "CodeList",
                OID=codelist_oid(form, item),
                Name=item.label,
                DataType="integer" if integer else "text",
            )
            for code, _label in item.choices:
                entry = etree.SubElement(codelist, "CodeListItem", CodedValue=str(code))
                entry.append(_texts("Decode", lambda i=item, c=code: dict(i.choices)[c]))
    _annotation_codelists(mdv)
    for form in forms:
        for computed in odm_computed(form):
            method = etree.SubElement(
                mdv,
                "MethodDef",
                OID=method_oid(form, computed),
                Name=str(computed.label),
                Type="Computation",
            )
            method.append(_text("Description", computed.derivation))


def _annotation_codelists(mdv: etree._Element) -> None:
    """The codes of the Flags on query Annotations: what the annotation is, its status."""
    from monitoring.models import QueryStatus

    kinds = etree.SubElement(
        mdv, "CodeList", OID=ANNOTATION_TYPE_CODELIST, Name="Annotation type", DataType="text"
    )
    entry = etree.SubElement(kinds, "CodeListItem", CodedValue="query")
    entry.append(_text("Decode", "data query"))
    statuses = etree.SubElement(
        mdv, "CodeList", OID=QUERY_STATUS_CODELIST, Name="Query status", DataType="text"
    )
    for status in QueryStatus:
        entry = etree.SubElement(statuses, "CodeListItem", CodedValue=status.value)
        entry.append(_texts("Decode", lambda s=status: s.label))


def admin_data() -> etree._Element:
    admin = etree.Element("AdminData", StudyOID=_oid("ST", protocol.REGISTRY_ID))
    for user in User.objects.order_by("username"):
        element = etree.SubElement(admin, "User", OID=_oid("USR", user.username))
        etree.SubElement(element, "LoginName").text = user.username
        etree.SubElement(element, "DisplayName").text = user.printed_name
        etree.SubElement(element, "FullName").text = user.printed_name
    database = etree.SubElement(admin, "User", OID=DATABASE_USER_OID)
    etree.SubElement(database, "DisplayName").text = "Change made outside the application"
    for site in Site.objects.order_by("code"):
        location = etree.SubElement(
            admin, "Location", OID=_oid("LOC", site.code), Name=site.name, LocationType="Site"
        )
        etree.SubElement(
            location,
            "MetaDataVersionRef",
            StudyOID=_oid("ST", protocol.REGISTRY_ID),
            MetaDataVersionOID=METADATA_OID,
            EffectiveDate=protocol.STUDY_START,
        )
    for meaning in SignatureMeaning:
        for void in (False, True):
            definition = etree.SubElement(
                admin,
                "SignatureDef",
                OID=signature_def_oid(meaning.value, void=void),
                Methodology="Electronic",
            )
            # A void signature keeps its meaning, marked void (why: its Annotation).
            text = f"VOID (no longer valid): {meaning.label}" if void else str(meaning.label)
            etree.SubElement(definition, "Meaning").text = text
            etree.SubElement(definition, "LegalReason").text = LEGAL_REASON
    return admin


def _last_changes(form: ExportForm, ids: list[int]) -> dict[int, dict[str, Any]]:
    """The latest audit event of each record: who, when, why."""
    event_model = form.model.pgh_event_model
    latest = (
        event_model.objects.filter(pgh_obj_id__in=ids)
        .order_by("pgh_obj_id", "-pgh_id")
        .distinct("pgh_obj_id")
        .values("pgh_obj_id", "pgh_created_at", "pgh_context__metadata")
    )
    return {row["pgh_obj_id"]: row for row in latest}


def _signatures(form: ExportForm, ids: list[int]) -> dict[int, Signature]:
    """The latest signature over each record that still holds: one voided, or made void
    by a later change of the data it signed, is not exported."""
    return latest_valid_signatures(form.model, ids)


def _signoff_signatures(
    subject_ids: list[str],
) -> tuple[dict[str, Signature], dict[tuple[str, tuple[str, str | None]], Signature]]:
    """The investigator sign-offs of these subjects that still hold: casebook sign-offs by
    subject, visit sign-offs by (subject, study event)."""
    from monitoring.models import Signoff, SignoffKind

    signoffs = {
        signoff.pk: signoff
        for signoff in Signoff.objects.filter(
            participant__subject_id__in=subject_ids
        ).select_related("participant", "visit")
    }
    casebooks: dict[str, Signature] = {}
    visits: dict[tuple[str, tuple[str, str | None]], Signature] = {}
    for pk, signature in latest_valid_signatures(Signoff, signoffs).items():
        signoff = signoffs[pk]
        subject = signoff.participant.subject_id
        if signoff.kind == SignoffKind.CASEBOOK:
            casebooks[subject] = signature
        else:
            visits[(subject, _visit_event(signoff.visit.visit_code))] = signature
    return casebooks, visits


def _visit_event(visit_code: str) -> tuple[str, str | None]:
    prefix = protocol.UNSCHEDULED_VISIT_PREFIX
    if visit_code.startswith(prefix):
        return f"SE.{prefix}", visit_code[len(prefix) :] or "1"
    return _oid("SE", visit_code), None


def _stamp(moment: datetime, days: int = 0) -> str:
    """ISO 8601 UTC; ``days``: the participant's secret offset in a de-identified export."""
    moment = moment + timedelta(days=days)
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def signature_id(signature: Signature) -> str:
    """The Signature element's ID (odmlib's strict loading requires one)."""
    return f"SIG.{signature.pk}"


def signature_def_oid(meaning: str, *, void: bool = False) -> str:
    return _oid("SD", meaning, "void") if void else _oid("SD", meaning)


def _signature(
    signature: Signature, location: str, days: int, *, void: bool = False
) -> etree._Element:
    signed = etree.Element("Signature", ID=signature_id(signature))
    etree.SubElement(signed, "UserRef", UserOID=_oid("USR", signature.signer.username))
    etree.SubElement(signed, "LocationRef", LocationOID=location)
    etree.SubElement(
        signed, "SignatureRef", SignatureOID=signature_def_oid(signature.meaning, void=void)
    )
    etree.SubElement(signed, "DateTimeStamp").text = _stamp(signature.signed_at, days)
    return signed


def _source_note(signature: Signature | None, days: int) -> etree._Element | None:
    """For data entered after the fact: the day the paper source was signed (issue 15).

    ODM's Signature holds only the e-signature's own time stamp, so the source date goes in
    an Annotation beside it (the signatures CSV has it as a column)."""
    if signature is None or signature.source_signed_on is None:
        return None
    note = etree.Element("Annotation", SeqNum="1", ID=f"ANN.SRC.{signature_id(signature)}")
    signed_on = (signature.source_signed_on + timedelta(days=days)).isoformat()
    etree.SubElement(
        note, "Comment", SponsorOrSite="Site"
    ).text = f"Signature {signature_id(signature)}: paper source signed on {signed_on}"
    return note


def _void_entry(
    state: SignatureState, *, location: str, what: str, days: int
) -> tuple[etree._Element, etree._Element]:
    """A void signature and the Annotation that says what it signed and why it is void."""
    signature = state.signature
    note = etree.Element("Annotation", SeqNum="1", ID=f"ANN.{signature_id(signature)}")
    reason = shift_dates_in(str(state.reason), days)
    etree.SubElement(note, "Comment", SponsorOrSite="Sponsor").text = (
        f"Signature {signature_id(signature)} ({signature.meaning}, "
        f"{signature.signer.username}) over {what} is void: {reason}"
    )
    return _signature(signature, location, days, void=True), note


def _void_signatures(
    form: ExportForm, form_rows: list[dict[str, str]], offsets: dict[str, int]
) -> list[tuple[etree._Element, etree._Element]]:
    """The signatures over these records that no longer hold (``signature_states``)."""
    if not hasattr(form.model, "signature_payload") or not form_rows:
        return []
    by_id = {int(row["record_id"]): row for row in form_rows}
    signed = (
        Signature.objects.filter(
            content_type=ContentType.objects.get_for_model(form.model), object_id__in=by_id
        )
        .values_list("object_id", flat=True)
        .distinct()
    )
    entries = []
    for pk, obj in sorted(stored_records(form.model).in_bulk(list(signed)).items()):
        row = by_id[pk]
        what = f"{form.code} record {pk} of {row['subject_id'] or row['screening_number']}"
        for state in signature_states(obj, reload=False):
            if not state.valid:
                entries.append(
                    _void_entry(
                        state,
                        location=_oid("LOC", row["site"]),
                        what=what,
                        days=offsets.get(row["subject_id"], 0),
                    )
                )
    return entries


def _void_signoff_signatures(
    subject_ids: list[str], offsets: dict[str, int]
) -> list[tuple[etree._Element, etree._Element]]:
    """The investigator sign-offs' signatures of these subjects that no longer hold."""
    from monitoring.models import Signoff

    signoffs = Signoff.objects.filter(participant__subject_id__in=subject_ids).select_related(
        "participant", "visit", "site"
    )
    entries = []
    for signoff in signoffs.order_by("pk"):
        subject = signoff.participant.subject_id
        place = f"visit {signoff.visit.visit_code}" if signoff.visit else "casebook"
        for state in signature_states(signoff):
            if not state.valid:
                entries.append(
                    _void_entry(
                        state,
                        location=_oid("LOC", signoff.site.code),
                        what=f"the {place} sign-off of {subject}",
                        days=offsets.get(subject, 0),
                    )
                )
    return entries


def _audit_record(
    context: dict[str, Any] | None, moment: datetime, location: str, days: int
) -> etree._Element:
    """Who changed the record (or the database, outside the app), where, when and why."""
    context = context or {}
    record = etree.Element("AuditRecord")
    username = context.get("username")
    etree.SubElement(
        record, "UserRef", UserOID=_oid("USR", username) if username else DATABASE_USER_OID
    )
    etree.SubElement(record, "LocationRef", LocationOID=location)
    etree.SubElement(record, "DateTimeStamp").text = _stamp(moment, days)
    if context.get("reason"):
        etree.SubElement(record, "ReasonForChange").text = shift_dates_in(context["reason"], days)
    return record


def _item_data(
    form: ExportForm, item: Item, value: str, row: dict[str, str], **attrs: str
) -> etree._Element:
    """An ItemData with its value's unit (every value that has one)."""
    data = etree.Element("ItemData", ItemOID=item_oid(form, item), **attrs)
    if value != "":
        data.set("Value", value)
        unit = meta.value_unit(item, row)
        if unit:
            etree.SubElement(data, "MeasurementUnitRef", MeasurementUnitOID=unit_oid(unit))
    return data


def _form_data(
    form: ExportForm,
    row: dict[str, str],
    items: tuple[Item, ...],
    change: dict[str, Any] | None,
    signature: Signature | None,
    days: int = 0,
    queries: list[Any] | None = None,
) -> etree._Element:
    form_data = etree.Element("FormData", FormOID=form_oid(form), FormRepeatKey=row["record_id"])
    location = _oid("LOC", row["site"])
    if change is not None:
        form_data.append(
            _audit_record(change["pgh_context__metadata"], change["pgh_created_at"], location, days)
        )
    if signature is not None:
        form_data.append(_signature(signature, location, days))
        if (note := _source_note(signature, days)) is not None:
            form_data.append(note)
    names = {item.name for item in items}
    on_items = _place_queries(form_data, queries or [], row, days, names)
    group = etree.SubElement(form_data, "ItemGroupData", ItemGroupOID=_oid("IG", form.code))
    if row["record_status"] == "voided":
        group.set("TransactionType", "Remove")
    for item in items:
        if row[item.name] != "":
            data = _item_data(form, item, row[item.name], row)
            data.extend(on_items.get(item.name, []))
            group.append(data)
    for computed in odm_computed(form):
        if row[computed.name] != "":
            etree.SubElement(
                group, "ItemData", ItemOID=computed_oid(form, computed), Value=row[computed.name]
            )
    return form_data


def _queries(form: ExportForm, ids: list[int]) -> dict[int, list[Any]]:
    """The data queries about these records (open and closed), with their messages."""
    from monitoring.models import DataQuery

    found: dict[int, list[Any]] = defaultdict(list)
    queries = (
        DataQuery.objects.filter(
            content_type=ContentType.objects.get_for_model(form.model), object_id__in=ids
        )
        .select_related("opened_by")
        .prefetch_related("messages__author")
        .order_by("pk")
    )
    for query in queries:
        found[query.object_id].append(query)
    return found


def _query_note(query: Any, seq: int, days: int) -> etree._Element:
    """A query as an Annotation: its status as a Flag, its question and messages."""
    note = etree.Element("Annotation", SeqNum=str(seq), ID=f"ANN.QUERY.{query.pk}")
    opened_by = query.opened_by.username if query.opened_by else "automatic check"
    where = f" on {query.field_name}" if query.field_name else ""
    lines = [
        f"Query {query.pk}{where} ({query.status}), opened {_stamp(query.opened_at, days)} "
        f"by {opened_by}: {shift_dates_in(query.question, days)}"
    ]
    for message in query.messages.all():
        author = message.author.username if message.author else "automatic check"
        lines.append(
            f"{message.kind} {_stamp(message.created_at, days)} by {author}: "
            f"{shift_dates_in(message.text, days)}"
        )
    etree.SubElement(note, "Comment", SponsorOrSite="Sponsor").text = "\n".join(lines)
    flag = etree.SubElement(note, "Flag")
    etree.SubElement(flag, "FlagValue", CodeListOID=QUERY_STATUS_CODELIST).text = query.status
    etree.SubElement(flag, "FlagType", CodeListOID=ANNOTATION_TYPE_CODELIST).text = "query"
    return note


def _place_queries(
    form_data: etree._Element,
    queries: list[Any],
    row: dict[str, str],
    days: int,
    names: set[str],
) -> dict[str, list[etree._Element]]:
    """Append the form-level queries to ``form_data``; return those about an item that has
    a value in ``row`` (by item name), to go on its ItemData."""
    on_items: dict[str, list[etree._Element]] = defaultdict(list)
    on_form = []
    for query in queries:
        field = query.field_name
        if field in names and row.get(field, "") != "":
            on_items[field].append(_query_note(query, len(on_items[field]) + 1, days))
        else:
            on_form.append(_query_note(query, 1, days))
    _insert_before_groups(form_data, on_form)
    return on_items


def _subject_batches(filters: ExportFilters, options: ExportOptions) -> Iterable[list[str]]:
    from enrollment.models import Participant

    participants = Participant.objects.order_by("subject_id")
    if filters.site_codes:
        participants = participants.filter(site__code__in=filters.site_codes)
    if filters.subject_ids:
        participants = participants.filter(subject_id__in=filters.subject_ids)
    batch: list[str] = []
    for subject_id in participants.values_list("subject_id", flat=True).iterator(chunk_size=BATCH):
        batch.append(subject_id)
        if len(batch) == BATCH:
            yield batch
            batch = []
    if batch:
        yield batch


def write_odm(
    path: Path,
    *,
    filters: ExportFilters,
    options: ExportOptions,
    started_at: datetime,
    software_version: str,
    progress: Callable[[int], None] = lambda rows_done: None,
) -> tuple[dict[str, int], set[str]]:
    """Write the ODM file; returns rows per form and the subject IDs it contains."""
    forms = export_forms()
    counts = {form.code: 0 for form in forms}
    subjects: set[str] = set()
    with etree.xmlfile(str(path), encoding="utf-8") as xf:
        xf.write_declaration()
        with xf.element(
            "ODM",
            nsmap={None: NS},
            # The full history is a series of transactions (Insert, Update, Remove).
            FileType="Transactional" if options.full_history else "Snapshot",
            FileOID=_oid("EXPORT", started_at.strftime("%Y%m%dT%H%M%S")),
            CreationDateTime=_stamp(started_at),
            ODMVersion="1.3.2",
            Originator=protocol.REGISTRY_ID,
            SourceSystem="trialsite EDC",
            SourceSystemVersion=software_version,
        ):
            xf.write(_in_namespace(metadata(options)))
            xf.write(_in_namespace(admin_data()))
            with xf.element(
                f"{{{NS}}}ClinicalData",
                StudyOID=_oid("ST", protocol.REGISTRY_ID),
                MetaDataVersionOID=METADATA_OID,
            ):
                void: list[tuple[etree._Element, etree._Element]] = []
                for batch in _subject_batches(filters, options):
                    for subject in _batch_subjects(batch, filters, options, counts, void):
                        subjects.add(subject.get("SubjectKey"))
                        xf.write(_in_namespace(subject))
                    progress(sum(counts.values()))
                # Screen failures: in the file, not among the participants it contains.
                for candidate in _screen_failures(filters, options, counts, void):
                    xf.write(_in_namespace(candidate))
                # Void signatures, each with its state and why (ODM's Signature has no
                # state): a SignatureDef "VOID: ..." and an Annotation saying what was
                # signed and why the signature no longer holds.
                if void:
                    container = etree.Element("Signatures")
                    container.extend(signature for signature, _note in void)
                    xf.write(_in_namespace(container))
                    notes = etree.Element("Annotations")
                    notes.extend(note for _signature, note in void)
                    xf.write(_in_namespace(notes))
    return counts, subjects


def _batch_subjects(
    batch: list[str],
    filters: ExportFilters,
    options: ExportOptions,
    counts: dict[str, int],
    void: list[tuple[etree._Element, etree._Element]],
) -> Iterable[etree._Element]:
    """The SubjectData of a batch of subjects (rows counted in ``counts``; their void
    signatures added to ``void``)."""
    by_subject: dict[str, dict[tuple[str, str | None], list]] = defaultdict(
        lambda: defaultdict(list)
    )
    batch_filters = ExportFilters(
        site_codes=filters.site_codes,
        subject_ids=tuple(batch),
        date_from=filters.date_from,
        date_to=filters.date_to,
    )
    offsets = _subject_offsets(batch, options)
    casebook_signatures, visit_signatures = _signoff_signatures(batch)
    void.extend(_void_signoff_signatures(batch, offsets))
    for form in export_forms():
        form_rows = list(rows(form, batch_filters, options))
        for row, element in _form_elements(form, form_rows, batch_filters, options, offsets):
            by_subject[row["subject_id"]][event_of(form, row)].append((row["site"], element))
        void.extend(_void_signatures(form, form_rows, offsets))
        counts[form.code] += len(form_rows)
    for subject_id in batch:
        events = by_subject.get(subject_id)
        if events:
            yield _subject_data(
                subject_id,
                events,
                casebook_signature=casebook_signatures.get(subject_id),
                visit_signatures=visit_signatures,
                days=offsets.get(subject_id, 0),
                history=options.full_history,
            )


def _form_elements(
    form: ExportForm,
    form_rows: list[dict[str, str]],
    filters: ExportFilters,
    options: ExportOptions,
    offsets: dict[str, int],
) -> Iterable[tuple[dict[str, str], etree._Element]]:
    """(row, FormData) of each row: its current data, or with the full history, one
    FormData per audited change (the last with the signature and the queries)."""
    ids = [int(row["record_id"]) for row in form_rows]
    changes = {} if options.full_history else _last_changes(form, ids)
    signatures = _signatures(form, ids)
    queries = _queries(form, ids)
    items = exported_items(form, options)
    transactions = _history(form, filters, options) if options.full_history else {}
    for row in form_rows:
        days = offsets.get(row["subject_id"], 0)
        record_id = int(row["record_id"])
        signature, record_queries = signatures.get(record_id), queries.get(record_id, [])
        steps = transactions.get(record_id)
        if not steps:
            change = changes.get(record_id)
            element = _form_data(form, row, items, change, signature, days, record_queries)
            if options.full_history:  # no audited change (made before auditing began)
                element.set("TransactionType", "Upsert")
            yield row, element
            continue
        for step in steps[:-1]:
            yield row, step
        last = steps[-1]
        if signature is not None:
            last.insert(1, _signature(signature, _oid("LOC", row["site"]), days))
            if (note := _source_note(signature, days)) is not None:
                _insert_before_groups(last, [note])
        _derived_now(form, row, last)
        names = {item.name for item in items}
        on_items = _place_queries(last, record_queries, row, days, names)
        for query_notes in on_items.values():  # the item may be unchanged in the last step
            _insert_before_groups(last, query_notes)
        yield row, last


def _derived_now(form: ExportForm, row: dict[str, str], form_data: etree._Element) -> None:
    """The derived items (scores, ages) of the record as it now is, on its last change."""
    group = form_data.find("ItemGroupData")
    for computed in odm_computed(form):
        if group is not None and row[computed.name] != "":
            etree.SubElement(
                group,
                "ItemData",
                ItemOID=computed_oid(form, computed),
                Value=row[computed.name],
                TransactionType="Upsert",
            )


def _insert_before_groups(form_data: etree._Element, notes: list[etree._Element]) -> None:
    """Annotations of a FormData go before its ItemGroupData (the schema's order)."""
    group = form_data.find("ItemGroupData")
    for note in notes:
        note.set("SeqNum", str(len(form_data.findall("Annotation")) + 1))
        if group is None:
            form_data.append(note)
        else:
            group.addprevious(note)


def _history(
    form: ExportForm, filters: ExportFilters, options: ExportOptions
) -> dict[int, list[etree._Element]]:
    """Each record's audited changes, in order, as transactional FormData: who, when and
    why on the form and on each ItemData changed (Insert, Update, Remove)."""
    by_column = {item.column: item for item in exported_items(form, options)}
    found: dict[int, list[etree._Element]] = defaultdict(list)
    for event, changed in history._changes(form, filters, options):
        steps = found[event["pgh_obj_id"]]
        voided = any(column == "voided_at" and new for column, _old, new in changed)
        kind = "Remove" if voided else ("Update" if steps else "Insert")
        location, days = _oid("LOC", event["_site"]), event["_days"]
        audit = _audit_record(event["_context"], event["pgh_created_at"], location, days)
        form_data = etree.Element(
            "FormData",
            FormOID=form_oid(form),
            FormRepeatKey=str(event["pgh_obj_id"]),
            TransactionType=kind,
        )
        form_data.append(audit)
        group = etree.SubElement(
            form_data, "ItemGroupData", ItemGroupOID=_oid("IG", form.code), TransactionType=kind
        )
        unit_row = _unit_row(event)
        for column, old, new in changed:
            if (item := by_column.get(column)) is None:
                continue  # the void fields: the FormData's Remove says it
            change = "Remove" if new == "" else ("Update" if old != "" else "Insert")
            data = _item_data(form, item, new, unit_row, TransactionType=change)
            data.insert(0, deepcopy(audit))
            group.append(data)
        steps.append(form_data)
    return found


def _unit_row(event: dict[str, Any]) -> dict[str, str]:
    """What ``odm_metadata.value_unit`` reads of a row, from an audit event's values."""
    row = {key: value for key, value in event.items() if isinstance(value, str)}
    if isinstance(event.get("analyte"), str):
        row["value_unit"] = canonical_lab_unit(event["analyte"])
    return row


def _screen_failures(
    filters: ExportFilters,
    options: ExportOptions,
    counts: dict[str, int],
    void: list[tuple[etree._Element, etree._Element]],
) -> Iterable[etree._Element]:
    """Candidates never enrolled, keyed by their screening number, with their screening
    forms (none in a de-identified export, nor when participants are chosen)."""
    if options.shift_dates or filters.subject_ids:
        return
    by_candidate: dict[str, dict[tuple[str, str | None], list]] = defaultdict(
        lambda: defaultdict(list)
    )
    for form in export_forms():
        if form.model._meta.app_label != "eligibility":
            continue
        form_rows = [row for row in rows(form, filters, options) if not row["subject_id"]]
        for row, element in _form_elements(form, form_rows, filters, options, {}):
            candidate = by_candidate[row["screening_number"]]
            candidate[("SE.SCREENING", None)].append((row["site"], element))
        void.extend(_void_signatures(form, form_rows, {}))
        counts[form.code] += len(form_rows)
    for number in sorted(by_candidate):
        yield _subject_data(number, by_candidate[number], history=options.full_history)


def _subject_offsets(subject_ids: list[str], options: ExportOptions) -> dict[str, int]:
    """The secret date offset of each subject (0 for all unless dates are shifted)."""
    if not options.shift_dates:
        return {}
    from enrollment.models import Participant

    pks = Participant.objects.filter(subject_id__in=subject_ids).values_list("subject_id", "pk")
    return {subject_id: options.offsets.get(pk, 0) for subject_id, pk in pks}


def _subject_data(
    subject_id: str,
    events: dict,
    *,
    casebook_signature: Signature | None = None,
    visit_signatures: dict | None = None,
    days: int = 0,
    history: bool = False,
) -> etree._Element:
    subject = etree.Element("SubjectData", SubjectKey=subject_id)
    if history:
        subject.set("TransactionType", "Upsert")
    site = next(iter(events.values()))[0][0]
    location = _oid("LOC", site)
    # The investigator's sign-off of the whole casebook signs the subject's data.
    if casebook_signature is not None:
        subject.append(_signature(casebook_signature, location, days))
    etree.SubElement(subject, "SiteRef", LocationOID=location)
    if (note := _source_note(casebook_signature, days)) is not None:
        subject.append(note)
    order = {f"SE.{code}": n for n, (code, *_rest) in enumerate(_EVENTS)}
    for (event_oid, repeat), form_elements in sorted(
        events.items(), key=lambda kv: (order.get(kv[0][0], 99), kv[0][1] or "")
    ):
        event = etree.SubElement(subject, "StudyEventData", StudyEventOID=event_oid)
        if history:
            event.set("TransactionType", "Upsert")
        if repeat is not None:
            event.set("StudyEventRepeatKey", repeat)
        # The investigator's sign-off of a visit signs the visit's study event.
        signature = (visit_signatures or {}).get((subject_id, (event_oid, repeat)))
        if signature is not None:
            event.append(_signature(signature, location, days))
            if (note := _source_note(signature, days)) is not None:
                event.append(note)
        for _site, element in form_elements:
            event.append(element)
    return subject


def _in_namespace(element: etree._Element) -> etree._Element:
    """Elements built without a namespace, moved into ODM's default namespace."""
    for node in element.iter():
        if isinstance(node.tag, str) and not node.tag.startswith("{"):
            node.tag = f"{{{NS}}}{node.tag}"
    return element
