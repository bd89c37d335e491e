"""run_vee: validate, estimate and apply manual edits over a batch of channel-days.

The order, and why:
1. Normalise: VEE's own earlier estimates become "to estimate" again and FAILED_VALIDATION
   readings become plain readings, so a re-run judges the same readings the same way and lands
   on the same values and flags (idempotent). Readings are never altered by a re-run.
2. Manual edits: a person's value wins over everything and is never validated or estimated.
3. Validations, all against the same readings (so their order cannot change the outcome).
4. Estimations in the configured order; each fills what it can, the rest goes to the next.
5. What nothing could fill: missing stays MISSING, a failed reading keeps its value flagged
   FAILED_VALIDATION, a head-end estimate keeps the head-end's value; each day with such slots
   goes to the worklist."""
from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from mdm.vee.channel_days import ChannelDays
from mdm.vee.estimations import ESTIMATORS, EstimationInput
from mdm.vee.flags import PERSON_SET, VEE_ESTIMATES, Flag, in_codes, is_reading
from mdm.vee.rules import OnFail, RuleSet
from mdm.vee.validations import Finding, validate


class VeeInputError(ValueError):
    """Input that does not fit the batch: an edit for an unknown channel-day or past the day's
    slots, an edit without a reason, history of another interval length."""


@dataclass(frozen=True)
class ManualEdit:
    channel_id: int
    day: dt.date
    first_slot: int
    values: tuple[float, ...]
    reason: str
    edited_by: str


@dataclass(frozen=True)
class EditRecord:
    """Who changed which slots and why, for the store's version history."""

    channel_id: int
    day: dt.date
    slots: tuple[int, ...]
    old_values: tuple[float, ...]
    new_values: tuple[float, ...]
    reason: str
    edited_by: str


@dataclass(frozen=True)
class WorklistEntry:
    channel_id: int
    day: dt.date
    rule: str
    message: str
    slots: tuple[int, ...]


@dataclass(frozen=True, eq=False)
class VeeResult:
    values: np.ndarray  # (N, S) new values
    flags: np.ndarray  # (N, S) new flags
    findings: tuple[Finding, ...]
    worklist: tuple[WorklistEntry, ...]
    edits: tuple[EditRecord, ...]
    estimated_by: dict[str, np.ndarray]  # method name -> (N, S) bool of the slots it filled

    def changed(self, batch: ChannelDays) -> np.ndarray:
        """(N,) bool: rows whose values or flags differ from the input (only these need a new
        version in the store)."""
        same_values = (self.values == batch.values) | (np.isnan(self.values) & np.isnan(batch.values))
        changed: NDArray[np.bool_] = ~(same_values & (self.flags == batch.flags)).all(axis=1)
        return changed


NO_ESTIMATE_RULE = "estimation"
# Day-level checks that only confirm what a flagged reading already says (see _validate).
SECOND_OPINION_KINDS = frozenset({"sum_check"})


def _apply_edits(
    batch: ChannelDays, values: np.ndarray, flags: np.ndarray, edits: Sequence[ManualEdit]
) -> list[EditRecord]:
    if not edits:
        return []
    rows = batch.row_of()
    records = []
    for edit in edits:
        row = rows.get((edit.channel_id, edit.day))
        if row is None:
            raise VeeInputError(f"edit for channel {edit.channel_id} on {edit.day}: not in this batch")
        if not edit.reason.strip():
            raise VeeInputError(f"edit for channel {edit.channel_id} on {edit.day}: a reason is required")
        end = edit.first_slot + len(edit.values)
        if edit.first_slot < 0 or end > batch.n_slots[row]:
            raise VeeInputError(
                f"edit for channel {edit.channel_id} on {edit.day}: slots {edit.first_slot}..{end - 1} "
                f"outside the day's {batch.n_slots[row]} slots"
            )
        old = tuple(float(v) for v in batch.values[row, edit.first_slot : end])
        values[row, edit.first_slot : end] = edit.values
        flags[row, edit.first_slot : end] = Flag.EDITED
        records.append(
            EditRecord(
                edit.channel_id, edit.day, tuple(range(edit.first_slot, end)), old,
                tuple(float(v) for v in edit.values), edit.reason, edit.edited_by,
            )
        )
    return records


def _worklist_from(finding: Finding, batch: ChannelDays) -> Iterable[WorklistEntry]:
    # Only failing days are visited: a Python step per exception, not per interval.
    for row in np.nonzero(finding.days)[0]:
        yield WorklistEntry(
            int(batch.channel_ids[row]), batch.days[row].astype(dt.date), finding.rule, finding.message(row),
            tuple(int(s) for s in np.nonzero(finding.slots[row])[0]),
        )


def run_vee(
    *,
    days: ChannelDays,
    rules: RuleSet,
    history: ChannelDays | None = None,
    holidays: frozenset[dt.date] | set[dt.date] = frozenset(),
    edits: Sequence[ManualEdit] = (),
) -> VeeResult:
    """Validate and estimate `days` under `rules`: the five steps of the module docstring, one
    function each, all pure array work.

    `history` holds earlier channel-days of the same channels (same interval length) for the
    usage check and like-day estimation; only days before each target day are used. `holidays`
    are the statutory holidays of the utility's calendar (`core.clock.holiday_calendar`).

    Raises VeeInputError for an edit that does not fit the batch, or history of another
    interval length (its slots would not line up)."""
    if history is not None and history.size and history.interval_minutes != days.interval_minutes:
        raise VeeInputError(
            f"history is {history.interval_minutes}-minute data, the batch {days.interval_minutes}-minute"
        )
    if days.size == 0:
        if edits:
            raise VeeInputError("edits for an empty batch")
        return VeeResult(days.values.copy(), days.flags.copy(), (), (), (), {})
    _check_edits_elapsed(days, edits)
    judged, future = _cut_at_as_of(days)
    state = _normalise(judged, edits)
    checked = _validate(rules, state, history)
    estimated = _estimate(rules, state, checked, history, frozenset(holidays))
    worklist = [*checked.worklist, *_unresolved(judged, state, checked, estimated)]
    worklist.sort(key=lambda e: (e.channel_id, e.day, e.rule))
    values, flags = _restore_future(days, future, estimated.values, state.flags)
    return VeeResult(values, flags, checked.findings, tuple(worklist), state.edits, estimated.estimated_by)


def _check_edits_elapsed(days: ChannelDays, edits: Sequence[ManualEdit]) -> None:
    if not edits or bool((days.elapsed_slots >= days.n_slots).all()):
        return
    rows = days.row_of()
    for edit in edits:
        row = rows.get((edit.channel_id, edit.day))
        if row is not None and edit.first_slot + len(edit.values) > days.elapsed_slots[row] \
                and edit.first_slot + len(edit.values) <= days.n_slots[row]:
            raise VeeInputError(
                f"edit for channel {edit.channel_id} on {edit.day}: intervals from "
                f"{int(days.elapsed_slots[row])} on have not happened yet"
            )


def _cut_at_as_of(days: ChannelDays) -> tuple[ChannelDays, NDArray[np.bool_]]:
    """The batch as of its as_of: slots that had not ended by then (`elapsed_slots`) look like
    padding (no value, not part of the day), so no rule judges them, no estimation fills them
    and no worklist entry names them. A day cut short has no day-end facts either: its register
    end read and the next day's first value lie after as_of."""
    future: NDArray[np.bool_] = days.valid & (np.arange(days.width)[None, :] >= days.elapsed_slots[:, None])
    if not future.any():
        return days, future
    partial = future.any(axis=1)
    fields = {f: getattr(days, f) for f in days.__dataclass_fields__}
    fields.update(
        values=np.where(future, np.nan, days.values),
        flags=np.where(future, np.int16(Flag.MISSING), days.flags).astype(np.int16),
        n_slots=np.minimum(days.n_slots, days.elapsed_slots),
        clock_slot=np.where(future, -1, days.clock_slot),
        edge_after=np.where(partial, np.nan, days.edge_after),
        register_end=np.where(partial, np.nan, days.register_end),
    )
    if days.timestamp_offset_s is not None:
        fields["timestamp_offset_s"] = np.where(future, np.nan, days.timestamp_offset_s)
    return ChannelDays(**fields), future


def _restore_future(days: ChannelDays, future: NDArray[np.bool_], values: NDArray[np.float64],
                    flags: NDArray[np.int16]) -> tuple[NDArray[np.float64], NDArray[np.int16]]:
    """Slots after as_of keep what the store holds, except VEE's own estimates there (left by a
    run that estimated ahead of time), which go back to MISSING."""
    if not future.any():
        return values, flags
    own = future & in_codes(days.flags, VEE_ESTIMATES)
    kept = future & ~own
    values = np.where(kept, days.values, np.where(own, np.nan, values))
    flags = np.where(kept, days.flags, np.where(own, np.int16(Flag.MISSING), flags)).astype(np.int16)
    return values, flags


@dataclass
class _State:
    """Steps 1-2: the batch's values and flags once normalised and edited. `flags` is the
    working array every later step writes into."""

    judged: ChannelDays  # the batch with the normalised values and flags
    values: NDArray[np.float64]
    flags: NDArray[np.int16]
    valid: NDArray[np.bool_]  # the slot exists on its local day
    reading: NDArray[np.bool_]  # an actual reading, to be validated
    person: NDArray[np.bool_]  # a value a person entered: never validated or estimated
    head_end: NDArray[np.bool_]  # the head-end estimated it
    edits: tuple[EditRecord, ...]


def _normalise(days: ChannelDays, edits: Sequence[ManualEdit]) -> _State:
    valid = days.valid
    # Whole-array np.where / copyto rather than boolean-index assignment: this runs over
    # millions of cells per batch.
    head_end = (days.flags == Flag.ESTIMATED_HEAD_END) & valid
    person = in_codes(days.flags, PERSON_SET) & valid
    reading = valid & is_reading(days.flags) & ~np.isnan(days.values)
    flags = np.where(reading, np.int16(Flag.ACTUAL), np.where(person, days.flags, np.int16(Flag.MISSING)))
    flags = flags.astype(np.int16, copy=False)
    values = np.where(reading | person, days.values, np.nan)
    edit_records = _apply_edits(days, values, flags, edits)
    if edit_records:
        reading &= flags == Flag.ACTUAL
        person = in_codes(flags, PERSON_SET) & valid
    judged = ChannelDays(**{**{f: getattr(days, f) for f in days.__dataclass_fields__}, "values": values, "flags": flags})
    return _State(judged, values, flags, valid, reading, person, head_end, tuple(edit_records))


@dataclass(frozen=True)
class _Checked:
    """Step 3: every validation's finding over the same readings."""

    findings: tuple[Finding, ...]
    failed: NDArray[np.bool_]  # readings that failed a rule that estimates or flags
    failed_to_estimate: NDArray[np.bool_]  # readings to replace by an estimate
    worklist: tuple[WorklistEntry, ...]


def _validate(rules: RuleSet, state: _State, history: ChannelDays | None) -> _Checked:
    readings = np.where(state.reading, state.values, np.nan)
    findings = tuple(validate(rule, state.judged, readings, history) for rule in rules.validations)
    failed = np.zeros(state.values.shape, dtype=bool)
    failed_to_estimate = np.zeros(state.values.shape, dtype=bool)
    worklist: list[WorklistEntry] = []
    # A day already on the worklist for flagged readings (a spike, a demand or clock problem) is
    # in front of a person anyway; its register mismatch is the same question asked twice (a
    # spike is exactly what makes the interval total miss the register), so the sum check's
    # finding is kept but adds no second worklist entry.
    flagged_rows = np.zeros(state.values.shape[0], dtype=bool)
    for finding in findings:
        if finding.on_fail is OnFail.FLAG and finding.kind not in SECOND_OPINION_KINDS:
            flagged_rows |= finding.days
    for finding in findings:
        if finding.on_fail in (OnFail.ESTIMATE, OnFail.FLAG):
            failed |= finding.slots
        if finding.on_fail is OnFail.ESTIMATE and finding.kind != "gaps":
            failed_to_estimate |= finding.slots
        if finding.on_fail in (OnFail.FLAG, OnFail.WORKLIST):
            entries = _worklist_from(finding, state.judged)
            if finding.kind in SECOND_OPINION_KINDS:
                entries = (e for e, row in zip(entries, np.nonzero(finding.days)[0]) if not flagged_rows[row])
            worklist.extend(entries)
    failed &= state.reading
    failed_to_estimate &= state.reading
    np.copyto(state.flags, np.int16(Flag.FAILED_VALIDATION), where=failed)
    return _Checked(findings, failed, failed_to_estimate, tuple(worklist))


@dataclass(frozen=True)
class _Estimated:
    """Step 4: the values after every estimation method had its turn."""

    values: NDArray[np.float64]
    remaining: NDArray[np.bool_]  # what no method could fill
    estimated_by: dict[str, NDArray[np.bool_]]


def _estimate(rules: RuleSet, state: _State, checked: _Checked, history: ChannelDays | None,
              holidays: frozenset[dt.date]) -> _Estimated:
    flags = state.flags
    remaining = (state.valid & ~state.reading & ~state.person) | checked.failed_to_estimate
    anchors = (state.reading & ~checked.failed) | (state.person & ~np.isnan(state.values))
    work = np.where(remaining, np.nan, state.values)
    estimated_by: dict[str, NDArray[np.bool_]] = {}
    for method in rules.estimations:
        if not remaining.any():
            break
        estimator, flag = ESTIMATORS[type(method)]
        # Only rows with something left to estimate: typically a few percent of the batch.
        rows = np.nonzero(remaining.any(axis=1))[0]
        est, filled_rows = estimator(
            method,
            EstimationInput(state.judged.take(rows), work[rows], remaining[rows], anchors[rows], history, holidays),
        )
        filled = np.zeros(remaining.shape, dtype=bool)
        filled[rows] = filled_rows & remaining[rows]
        work[filled] = est[filled[rows]]
        flags[filled] = flag
        remaining &= ~filled
        estimated_by[method.name] = filled
    return _Estimated(work, remaining, estimated_by)


def _unresolved(days: ChannelDays, state: _State, checked: _Checked,
                estimated: _Estimated) -> list[WorklistEntry]:
    """Step 5: whatever no method could fill keeps what it had, and its day goes to the
    worklist (a head-end estimate kept as it is is not a problem to work)."""
    work, flags, remaining = estimated.values, state.flags, estimated.remaining
    keep_head_end = remaining & state.head_end
    work[keep_head_end] = days.values[keep_head_end]
    flags[keep_head_end] = Flag.ESTIMATED_HEAD_END
    keep_failed = remaining & checked.failed_to_estimate
    work[keep_failed] = state.values[keep_failed]
    flags[keep_failed] = Flag.FAILED_VALIDATION
    still_missing = remaining & ~keep_head_end & ~keep_failed
    flags[still_missing] = Flag.MISSING
    unresolved = remaining & ~keep_head_end
    entries = []
    for row in np.nonzero(unresolved.any(axis=1))[0]:
        slots = np.nonzero(unresolved[row])[0]
        entries.append(
            WorklistEntry(
                int(days.channel_ids[row]), days.days[row].astype(dt.date), NO_ESTIMATE_RULE,
                f"no estimation method could fill {len(slots)} intervals", tuple(int(s) for s in slots),
            )
        )
    return entries
