"""The VEE worklist's actions: a person accepts, edits, dismisses or re-runs an item. Each
resolves the item with who, when and why; an accept or an edit re-validates the day around the
person's values (mdm.vee_processing) and the new version records who and why."""
from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import numpy as np
from django.db import transaction

from mdm import selectors, vee_processing
from mdm.flags import Flag
from mdm.interval_store import DEFAULT_DECIMALS, resolution_range, scale_values
from mdm.models import VeeRun, VeeWorklistItem
from mdm.services.intervals import channel_resolutions
from mdm.services.vee_runs import vee_run_create, vee_run_execute
from mdm.vee.engine import ManualEdit, VeeInputError
from mdm.vee.flags import PERSON_SET, in_codes

DAY = dt.timedelta(days=1)


class WorklistError(Exception):
    """A worklist action that does not fit the item (already resolved, no reason, bad slots)."""


def _open_item(item_id: int) -> VeeWorklistItem:
    item = VeeWorklistItem.objects.select_for_update().select_related("channel").get(pk=item_id)
    if item.status != VeeWorklistItem.Status.OPEN:
        raise WorklistError(f"This item is already {item.get_status_display().lower()}.")
    return item


def _resolve(item: VeeWorklistItem, *, status: str, user, now: dt.datetime, reason: str) -> VeeWorklistItem:
    item.status = status
    item.resolved_by = user
    item.resolved_at = now
    item.reason = reason
    item.save(update_fields=["status", "resolved_by", "resolved_at", "reason"])
    return item


def worklist_item_accept(*, item_id: int, user, now: dt.datetime, reason: str = "") -> VeeWorklistItem:
    """A person accepts what the store holds for the item's day. Readings the rule failed
    (FAILED_VALIDATION) become EDITED with their own value, so the next run does not fail them
    again; VEE's estimates stay as they are.

    Raises WorklistError when the item is not open."""
    with transaction.atomic():
        item = _open_item(item_id)
        reason = reason.strip() or f"Accepted ({item.rule})"
        day = selectors.channel_days([item.channel_id], item.local_date, item.local_date + DAY)[item.channel_id].get(item.local_date)
        if day is not None:
            failed = [s for s in item.slots if s < len(day.flags) and day.flags[s] == Flag.FAILED_VALIDATION]
            edits = [
                ManualEdit(item.channel_id, item.local_date, s, (float(day.values[s]),), reason, user.get_username())
                for s in failed
            ]
            if edits:
                vee_processing.vee_channel_days(channel_ids=[item.channel_id], start_date=item.local_date,
                                 end_date=item.local_date + DAY, now=now, edits=edits, changed_by_id=user.pk,
                                 reason=reason)
        return _resolve(item, status=VeeWorklistItem.Status.ACCEPTED, user=user, now=now, reason=reason)


def worklist_item_edit(*, item_id: int, first_slot: int, values: Sequence[float], reason: str, user,
                       now: dt.datetime) -> VeeWorklistItem:
    """A person keys values for slots first_slot.. of the item's day: they become EDITED (never
    validated or estimated over again), the day is re-validated around them, and the new
    version records who and why. The item is resolved (EDITED) only when every interval it
    flags now holds a person's value; otherwise it is returned still OPEN
    (`worklist_item_unsettled_slots` says which are left).

    Raises WorklistError (item not open, no reason, no values, slots outside the day)."""
    if not reason.strip():
        raise WorklistError("A reason is required for a manual edit.")
    if not values:
        raise WorklistError("Enter at least one value.")
    with transaction.atomic():
        item = _open_item(item_id)
        decimals = channel_resolutions([item.channel_id]).get(item.channel_id, DEFAULT_DECIMALS)
        _, inexact = scale_values(np.asarray(values, dtype=np.float64), decimals)
        if inexact.any():
            bad = values[int(np.flatnonzero(inexact)[0])]
            raise WorklistError(f"{bad:g} cannot be stored on this channel ({resolution_range(decimals)}).")
        edit = ManualEdit(item.channel_id, item.local_date, int(first_slot), tuple(float(v) for v in values),
                          reason.strip(), user.get_username())
        try:
            vee_processing.vee_channel_days(channel_ids=[item.channel_id], start_date=item.local_date,
                                            end_date=item.local_date + DAY, now=now, edits=[edit],
                                            changed_by_id=user.pk, reason=reason.strip())
        except VeeInputError as exc:
            raise WorklistError(str(exc)) from exc
        if worklist_item_unsettled_slots(item):
            return item  # the edit is kept, but the flagged intervals are not all settled: still open
        return _resolve(item, status=VeeWorklistItem.Status.EDITED, user=user, now=now, reason=reason.strip())


def worklist_item_unsettled_slots(item: VeeWorklistItem) -> list[int]:
    """The item's flagged intervals a person has not set yet (in the store now). An edit settles
    an item only once every flagged interval holds a person's value; an edit elsewhere on the day
    leaves it open. An item that names no interval is settled by any edit of its day."""
    if not item.slots:
        return []
    day = selectors.channel_days([item.channel_id], item.local_date, item.local_date + DAY)[item.channel_id].get(
        item.local_date)
    if day is None:
        return list(item.slots)
    person = in_codes(np.asarray(day.flags), PERSON_SET)
    return [s for s in item.slots if not (s < len(person) and person[s])]


def worklist_item_dismiss(*, item_id: int, user, now: dt.datetime, reason: str) -> VeeWorklistItem:
    """Raises WorklistError when the item is not open or no reason is given."""
    if not reason.strip():
        raise WorklistError("Say why the item is dismissed.")
    with transaction.atomic():
        item = _open_item(item_id)
        return _resolve(item, status=VeeWorklistItem.Status.DISMISSED, user=user, now=now, reason=reason.strip())


def worklist_item_rerun(*, item_id: int, user, now: dt.datetime) -> VeeRun:
    """Run VEE again over the item's channel-day, here and now (after a corrected import or a
    rule change). Raises VeeWorklistItem.DoesNotExist."""
    item = VeeWorklistItem.objects.get(pk=item_id)
    run = vee_run_create(channel_ids=[item.channel_id], start_date=item.local_date, end_date=item.local_date + DAY,
                         scope=f"worklist item {item.pk}", now=now, user=user)
    return vee_run_execute(vee_run_id=run.pk, now_fn=lambda: now)
