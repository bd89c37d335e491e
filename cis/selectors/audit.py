"""The audit trail of an account: what changed, who changed it and why."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.apps import apps
from django.contrib.auth import get_user_model

from cis.models import Account, Customer, Premise, ServicePoint
from core.privacy import mask_changes


@dataclass(frozen=True)
class AuditEntry:
    at: dt.datetime
    model: str
    object_number: str  # the business number (account, customer, agreement, service point, premise), or ''
    label: str
    user_id: int | None
    username: str
    reason: str
    url: str
    changes: dict  # field -> [before, after]


_HIDDEN_FIELDS = {
    "updated_at", "created_at", "search_name", "search_address", "phone_search", "id_number_search", "display_name",
}
_SNAPSHOT_SKIP = {"pgh_id", "pgh_created_at", "pgh_label", "pgh_obj_id", "pgh_context_id"}


def _event_model(name: str):
    return apps.get_model("cis", f"{name}Event")


def _snapshot(event) -> dict:
    return {
        f.attname: getattr(event, f.attname)
        for f in event._meta.concrete_fields
        if f.attname not in _SNAPSHOT_SKIP and f.attname not in _HIDDEN_FIELDS
    }


def _plain(value):
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    if value is None or isinstance(value, (bool, int, str)):
        return value
    return str(value)


# The business number a person knows each audited object by (its database id is no one's).
_NUMBER_FIELDS = {"Customer": "customer_number", "Account": "account_number", "Agreement": "agreement_number",
                  "Service point": "sp_number", "Premise": "premise_number"}


def _object_number(label: str, snap: dict, fallback: dict) -> str:
    """The object's business number from its snapshot (a delete's snapshot too); for a contact,
    note or complaint, which have none, '' (they are shown by their kind and text)."""
    field = _NUMBER_FIELDS.get(label)
    if field is None:
        return ""
    return str(snap.get(field) or fallback.get(field) or "")


# A change to a reference is shown by the referenced row's business number, under its name.
_REFERENCES = {"customer_id": ("customer", Customer, "customer_number"),
               "account_id": ("account", Account, "account_number"),
               "service_point_id": ("service point", ServicePoint, "sp_number"),
               "premise_id": ("premise", Premise, "premise_number")}


def _with_numbers(changes_list: list[dict]) -> list[dict]:
    """Each changes dict with its reference fields (customer_id: 7567) as business numbers
    (customer: C0001234); one query per kind of reference."""
    wanted: dict[str, set] = {}
    for changes in changes_list:
        for field, pair in changes.items():
            if field in _REFERENCES:
                wanted.setdefault(field, set()).update(v for v in pair if v is not None)
    numbers = {field: dict(_REFERENCES[field][1]._default_manager.filter(pk__in=ids)
                           .values_list("pk", _REFERENCES[field][2]))
               for field, ids in wanted.items()}

    def shown(field, value):
        return None if value is None else numbers[field].get(value, "(removed)")

    return [{(_REFERENCES[f][0] if f in _REFERENCES else f):
             ([shown(f, v) for v in pair] if f in _REFERENCES else pair) for f, pair in changes.items()}
            for changes in changes_list]


def account_audit_trail(*, account: Account, limit: int = 200, case_notes: bool = True,
                        masked_fields: frozenset[str] = frozenset()) -> list[AuditEntry]:
    """Every recorded change to the account, its customer, its agreements (deleted ones too),
    the service points and premises they cover, and its contacts, notes and complaints,
    newest first, with before/after per changed field.

    For a reader who may not read case notes (core.privacy) pass `case_notes=False`: the
    contacts', notes' and complaints' rows are left out before the limit. The customer's
    `masked_fields` (core.privacy.masked_fields) have their values masked.

    Reads the event tables pghistory's triggers fill; objects are found through the event
    snapshots, not the live tables, so a deleted agreement keeps its history here."""
    agreement_events = _event_model("ServiceAgreement").objects.filter(account_id=account.pk)
    sp_ids = set(agreement_events.values_list("service_point_id", flat=True))
    sp_events = _event_model("ServicePoint").objects.filter(pgh_obj_id__in=sp_ids)
    premise_ids = set(sp_events.values_list("premise_id", flat=True))
    sources = [
        ("Customer", _event_model("Customer").objects.filter(pgh_obj_id=account.customer_id)),
        ("Account", _event_model("Account").objects.filter(pgh_obj_id=account.pk)),
        ("Agreement", agreement_events),
        ("Service point", sp_events),
        ("Premise", _event_model("Premise").objects.filter(pgh_obj_id__in=premise_ids)),
    ]
    if case_notes:
        sources += [
            ("Contact", _event_model("Contact").objects.filter(account_id=account.pk)),
            ("Note", _event_model("Note").objects.filter(account_id=account.pk)),
            ("Complaint", _event_model("Complaint").objects.filter(account_id=account.pk)),
        ]
    entries: list[tuple] = []
    for label, qs in sources:
        previous: dict = {}
        for event in qs.select_related("pgh_context").order_by("pgh_obj_id", "pgh_id"):
            snap = _snapshot(event)
            before = previous.get(event.pgh_obj_id)
            if event.pgh_label == "delete":
                changes = {k: [_plain(v), None] for k, v in snap.items() if v not in (None, "")}
            elif event.pgh_label == "insert" or before is None:
                changes = {k: [None, _plain(v)] for k, v in snap.items() if v not in (None, "")}
            else:
                changes = {k: [_plain(before.get(k)), _plain(v)] for k, v in snap.items() if before.get(k) != v}
            previous[event.pgh_obj_id] = snap
            if event.pgh_label == "update" and not changes:
                continue
            if label == "Customer" and masked_fields:
                changes = mask_changes(changes, masked_fields)
            ctx = event.pgh_context.metadata if event.pgh_context_id else {}
            entries.append((event.pgh_created_at, event.pgh_id, label, event, ctx, changes,
                            _object_number(label, snap, before or {})))
    entries.sort(key=lambda e: (e[0], e[1]), reverse=True)
    entries = entries[:limit]
    user_ids = {e[4].get("user") for e in entries if e[4].get("user")}
    names = dict(get_user_model().objects.filter(pk__in=user_ids).values_list("pk", "username"))
    shown_changes = _with_numbers([e[5] for e in entries])
    return [
        AuditEntry(
            at=at, model=label, object_number=number, label=event.pgh_label, user_id=ctx.get("user"),
            username=names.get(ctx.get("user"), "system"), reason=ctx.get("reason", ""), url=ctx.get("url", ""),
            changes=changes,
        )
        for (at, _, label, event, ctx, _raw, number), changes in zip(entries, shown_changes, strict=True)
    ]


