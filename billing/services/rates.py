"""Rate schedules and their date-effective versions: create, add a version, supersede the
current one, and import an OpenEI URDB tariff. Components are stored as the JSON list that
`billing.rating.Component.from_dict` reads, and are checked by the rating engine's own
strategies before they are saved, so a bad rate fails here and not in a bill run."""
from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

from django.db import IntegrityError, transaction

from billing import rating
from billing.models import RateSchedule, RateVersion
from billing.rating import urdb


class RateError(Exception):
    """A rate schedule or version cannot be saved as asked; the message says why."""


class RateVersionOverlap(RateError):
    """Another version of the schedule is in effect in part of the new version's range."""


def _checked_components(components: Sequence[Mapping[str, Any]], *, label: str) -> list[dict[str, Any]]:
    """The components as rating reads them, each one's params checked by its strategy.
    Raises RateError naming the component that is wrong."""
    if not isinstance(components, (list, tuple)):
        raise RateError("Components must be a list.")
    parsed = []
    for index, data in enumerate(components, 1):
        if not isinstance(data, Mapping) or "kind" not in data or "code" not in data:
            raise RateError(f"Component {index} needs a kind and a code.")
        try:
            component = rating.Component.from_dict(data)
            rating.strategy_for(component)
        except rating.ComponentConfigError as exc:
            raise RateError(f"Component {index} ({data.get('code')}): {exc}") from exc
        parsed.append(component)
    codes = [c.code for c in parsed]
    repeated = sorted({c for c in codes if codes.count(c) > 1})
    if repeated:
        raise RateError(f"{label}: component codes repeat: {', '.join(repeated)}")
    return [c.to_dict() for c in parsed]


def rate_schedule_create(*, code: str, name: str, commodity: str = "electric", rate_class: str = "",
                         description: str = "", source: str = "manual", source_ref: str = "") -> RateSchedule:
    """Create an empty rate schedule (add versions with `rate_version_add`).

    Raises RateError when the code is empty or already used."""
    code = (code or "").strip()
    if not code:
        raise RateError("A rate schedule needs a code.")
    if RateSchedule.objects.filter(code=code).exists():
        raise RateError(f"Rate schedule {code} already exists.")
    try:
        with transaction.atomic():
            return RateSchedule.objects.create(
                code=code, name=(name or code).strip()[:200], commodity=commodity, rate_class=rate_class,
                description=description, source=source, source_ref=source_ref[:100],
            )
    except IntegrityError as exc:  # a concurrent create of the same code
        raise RateError(f"Rate schedule {code} already exists.") from exc


def rate_version_add(*, schedule: RateSchedule, start_date: dt.date, end_date: dt.date | None = None,
                     components: Sequence[Mapping[str, Any]], notes: str = "") -> RateVersion:
    """Add a version in effect over [start_date, end_date) (end None: open-ended).

    Raises RateVersionOverlap when another version covers part of that range, RateError for
    an end not after the start or components the rating engine would refuse."""
    if end_date is not None and end_date <= start_date:
        raise RateError(f"The end date {end_date} must be after the start date {start_date}.")
    stored = _checked_components(components, label=f"{schedule.code} from {start_date}")
    try:
        with transaction.atomic():
            return RateVersion.objects.create(
                schedule=schedule, start_date=start_date, end_date=end_date, components=stored, notes=notes,
            )
    except IntegrityError as exc:
        if "rateversion_no_overlap" not in str(exc):
            raise
        raise RateVersionOverlap(_overlap_message(schedule, start_date, end_date)) from exc


def _overlap_message(schedule: RateSchedule, start: dt.date, end: dt.date | None) -> str:
    clashes = RateVersion.objects.filter(schedule=schedule, start_date__lt=end or dt.date.max).exclude(
        end_date__lte=start
    )
    spans = ", ".join(f"[{v.start_date}, {v.end_date or 'open'})" for v in clashes) or "another version"
    until = end or "open end"
    return f"{schedule.code}: [{start}, {until}) overlaps the version(s) in effect {spans}."


def rate_version_supersede(*, schedule: RateSchedule, start_date: dt.date, end_date: dt.date | None = None,
                           components: Sequence[Mapping[str, Any]] | None = None, notes: str = "") -> RateVersion:
    """A new version from `start_date`: the version in effect that day is ended there (it
    keeps its earlier days), and the new one copies its components unless `components` are
    given. This is how a rate change is entered: copy, end-date, edit.

    Raises RateError when no version is in effect on `start_date` and no components are
    given, or when the current version starts on that very day (edit that one instead);
    RateVersionOverlap when a later version already covers part of the new range."""
    with transaction.atomic():
        current = (
            RateVersion.objects.select_for_update()
            .filter(schedule=schedule, start_date__lte=start_date)
            .exclude(end_date__lte=start_date)
            .first()
        )
        if current is not None and current.start_date == start_date:
            raise RateError(f"A version of {schedule.code} already starts on {start_date}.")
        if components is None:
            if current is None:
                raise RateError(f"No version of {schedule.code} is in effect on {start_date} to copy.")
            components = current.components
        if current is not None:
            current_end = current.end_date
            current.end_date = start_date
            current.save(update_fields=["end_date"])
            if end_date is None and current_end is not None:
                # The copy takes over exactly the days the current version gave up.
                end_date = current_end
        return rate_version_add(schedule=schedule, start_date=start_date, end_date=end_date,
                                components=components, notes=notes)


def rate_schedule_import_urdb(*, doc: str | bytes | Mapping, code: str | None = None,
                              effective_start: dt.date | None = None,
                              effective_end: dt.date | None = None) -> RateSchedule:
    """Import a URDB tariff (a dict, JSON text, or JSON text holding a JSON string as PySAM's
    sample files do; see billing.rating.urdb.decode) as a rate schedule with one version.
    An existing schedule with the same code gets the tariff as a new version.

    Raises RateError for a document that is not a URDB tariff or uses features the import
    refuses (the message lists them), RateVersionOverlap when the code's schedule already has
    a version in that range."""
    try:
        data = urdb.decode(doc)
        version = urdb.rate_from_urdb(data, code=code, effective_start=effective_start, effective_end=effective_end)
    except urdb.UnsupportedURDBFeature as exc:
        raise RateError(str(exc)) from exc
    except (ValueError, TypeError, KeyError, AttributeError) as exc:
        raise RateError(f"Not a URDB tariff: {exc}") from exc
    schedule_code = (code or version.code)[:30]
    with transaction.atomic():
        schedule = RateSchedule.objects.filter(code=schedule_code).first()
        if schedule is None:
            schedule = rate_schedule_create(
                code=schedule_code, name=version.name or schedule_code, commodity="electric",
                rate_class=str(data.get("sector", ""))[:30].lower(),
                description=str(data.get("description", "")), source="urdb", source_ref=str(data.get("label", "")),
            )
        rate_version_add(schedule=schedule, start_date=version.effective_start, end_date=version.effective_end,
                         components=version.to_components_json(),
                         notes=f"Imported from URDB {data.get('label', '')} ({data.get('utility', '')})".strip())
    return schedule


def rating_versions(*, schedule: RateSchedule) -> list[rating.RateVersion]:
    """The schedule's versions as the rating engine takes them. Each gets its own code
    (schedule@start) because rating keys a split period's parts by version code."""
    return [
        rating.RateVersion(
            code=f"{schedule.code}@{v.start_date.isoformat()}", effective_start=v.start_date,
            effective_end=v.end_date, name=schedule.name,
            components=tuple(rating.Component.from_dict(c) for c in v.components),
        )
        for v in schedule.versions.order_by("start_date")
    ]


# ---- a tariff book loaded in one go (seed, go-live) ------------------------------------------
from dataclasses import dataclass  # noqa: E402  (kept with the additions below)


@dataclass(frozen=True)
class RateVersionSpec:
    start_date: dt.date
    components: Sequence[Mapping[str, Any]]
    end_date: dt.date | None = None
    notes: str = ""


@transaction.atomic
def rate_schedule_ensure(*, code: str, name: str, commodity: str = "electric", rate_class: str = "",
                         description: str = "", versions: Sequence[RateVersionSpec] = ()) -> tuple[RateSchedule, bool, int]:
    """A tariff-book load that can run again: the schedule with `code` (created when missing)
    and, when it has no version yet, `versions`. Returns (schedule, created, versions added).
    A schedule that already has versions keeps them; change those with rate_version_supersede.

    Raises RateError / RateVersionOverlap as rate_schedule_create and rate_version_add do;
    nothing of this schedule is saved then."""
    existing = RateSchedule.objects.filter(code=(code or "").strip()).first()
    created = existing is None
    schedule = existing if existing is not None else rate_schedule_create(
        code=code, name=name, commodity=commodity, rate_class=rate_class, description=description)
    added = 0
    if not schedule.versions.exists():
        for spec in versions:
            rate_version_add(schedule=schedule, start_date=spec.start_date, end_date=spec.end_date,
                             components=spec.components, notes=spec.notes)
            added += 1
    return schedule, created, added
