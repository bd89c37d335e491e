"""Bulk onboarding: a vendor's shipping file of meters (with their channels and CT/PT
multipliers), optionally installed at service points (an AMI deployment or a conversion);
the default VEE configuration a new MDM starts with; and the first VEE pass over the history
a conversion loaded.

`meters_onboard` takes plain records (MeterOnboarding, ChannelSpec, MultiplierPeriod,
InstallationSpec), checks all of them first and writes nothing when any is wrong
(MeterOnboardingError names each record), then writes meters, channels, multipliers and
installations with one bulk insert per table in one transaction."""
from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from django.db import transaction
from django.db.models import Max, Min

from cis.selectors import service_point_labels
from mdm.services import vee_runs
from mdm.models import Channel, ChannelMultiplier, Installation, IntervalDay, Meter, VeeRuleSet, VeeRuleSetAssignment
from mdm.vee_config import (
    DEFAULT_RULE_SET_NAME,
    LARGE_RATE_CLASSES,
    LARGE_RULE_SET_NAME,
    default_rules_json,
    large_customer_rules_json,
)

# The code values onboarding records take (the model choices, as plain enums).
MeterKind = Meter.Kind
MeterStatus = Meter.Status
ChannelUnit = Channel.Unit
ChannelDirection = Channel.Direction

_BATCH = 5000
_INTERVALS = {None, 5, 15, 30, 60}


@dataclass(frozen=True)
class ChannelSpec:
    unit: str
    direction: str = ChannelDirection.DELIVERED
    interval_minutes: int | None = None  # None: a register channel
    dials: int | None = None


@dataclass(frozen=True)
class MultiplierPeriod:
    """The meter's transformer ratios over the local dates [start_date, end_date), applied to
    every channel of the meter (the CTs and PTs it is wired through)."""

    start_date: dt.date
    end_date: dt.date | None = None
    ct_ratio: Decimal = Decimal(1)
    pt_ratio: Decimal = Decimal(1)
    register_constant: Decimal = Decimal(1)


@dataclass(frozen=True)
class InstallationSpec:
    service_point_id: int
    installed_at: dt.datetime  # timezone-aware
    install_read: Decimal | None = None


@dataclass(frozen=True)
class MeterOnboarding:
    """One line of a shipping file: the meter, its channels (numbered 1.. in this order),
    its multiplier periods and, if it goes straight into the field, where it is installed."""

    serial_number: str
    kind: str
    manufacturer: str = ""
    model: str = ""
    ami_capable: bool = True
    channels: tuple[ChannelSpec, ...] = ()
    multipliers: tuple[MultiplierPeriod, ...] = ()
    installation: InstallationSpec | None = None


@dataclass(frozen=True)
class OnboardingProblem:
    serial_number: str
    message: str

    def __str__(self) -> str:
        return f"meter {self.serial_number}: {self.message}"


class MeterOnboardingError(Exception):
    """The shipping file cannot be onboarded; `problems` names each meter and why. Nothing was written."""

    def __init__(self, problems: list[OnboardingProblem]):
        self.problems = problems
        shown = "; ".join(str(p) for p in problems[:20])
        more = f" (and {len(problems) - 20} more)" if len(problems) > 20 else ""
        super().__init__(f"{len(problems)} problem(s) onboarding meters: {shown}{more}")


class MetersAlreadyOnboardedError(MeterOnboardingError):
    """Some serial numbers are already known to the MDM (a shipping file received twice)."""


@dataclass
class OnboardingResult:
    meters: dict[str, Meter] = field(default_factory=dict)  # serial -> meter
    installations: dict[str, Installation] = field(default_factory=dict)  # serial -> its installation
    channels: int = 0
    multipliers: int = 0


def _commodity(kind: str) -> str:
    return "electric" if kind in (MeterKind.ELECTRIC_SINGLE_PHASE, MeterKind.ELECTRIC_POLYPHASE) else kind


def _onboarding_check(records: Sequence[MeterOnboarding]) -> list[OnboardingProblem]:
    problems: list[OnboardingProblem] = []

    def add(serial: str, message: str) -> None:
        problems.append(OnboardingProblem(serial or "(blank)", message))

    seen: set[str] = set()
    kinds, units, directions = set(MeterKind.values), set(ChannelUnit.values), set(ChannelDirection.values)
    placed: dict[tuple[int, str], list[tuple[dt.datetime, str]]] = {}
    for rec in records:
        serial = rec.serial_number
        if not serial or serial != serial.strip():
            add(serial, "needs a serial number without surrounding spaces")
        elif serial in seen:
            add(serial, "listed twice")
        seen.add(serial)
        if rec.kind not in kinds:
            add(serial, f"unknown meter kind {rec.kind!r}")
        shapes = set()
        for number, ch in enumerate(rec.channels, 1):
            if ch.unit not in units:
                add(serial, f"channel {number}: unknown unit {ch.unit!r}")
            if ch.direction not in directions:
                add(serial, f"channel {number}: unknown direction {ch.direction!r}")
            if ch.interval_minutes not in _INTERVALS:
                add(serial, f"channel {number}: interval length {ch.interval_minutes} is not 5, 15, 30 or 60 minutes")
            shape = (ch.unit, ch.direction, ch.interval_minutes)
            if shape in shapes:
                add(serial, f"channel {number}: a second {ch.unit} {ch.direction} channel of that length")
            shapes.add(shape)
        periods = sorted(rec.multipliers, key=lambda p: p.start_date)
        for p in periods:
            if p.end_date is not None and p.end_date <= p.start_date:
                add(serial, f"multiplier from {p.start_date} ends on or before it starts")
            if min(p.ct_ratio, p.pt_ratio, p.register_constant) <= 0:
                add(serial, f"multiplier from {p.start_date}: ratios must be positive")
        for before, after in zip(periods, periods[1:]):
            if before.end_date is None or before.end_date > after.start_date:
                add(serial, f"multiplier periods from {before.start_date} and {after.start_date} overlap")
        if rec.multipliers and not rec.channels:
            add(serial, "has multipliers but no channels")
        inst = rec.installation
        if inst is not None:
            if inst.installed_at.tzinfo is None:
                add(serial, "installation time must be timezone-aware")
            placed.setdefault((inst.service_point_id, _commodity(rec.kind)), []).append((inst.installed_at, serial))
    for (sp_id, commodity), meters in placed.items():
        if len(meters) > 1:
            for _, serial in meters[1:]:
                add(serial, f"service point {sp_id} already gets {commodity} meter {meters[0][1]} in this file")
    known = service_point_labels(service_point_ids={sp for sp, _ in placed})
    for (sp_id, _), meters in placed.items():
        if sp_id not in known:
            for _, serial in meters:
                add(serial, f"service point {sp_id} does not exist")
    return problems


@transaction.atomic
def meters_onboard(records: Sequence[MeterOnboarding]) -> OnboardingResult:
    """Create the meters of a shipping file with their channels and multipliers, and install
    those that say where (status installed; the rest are in stock), in bulk and in order.

    Raises MeterOnboardingError (with .problems) for bad records: a serial listed twice, an
    unknown kind, unit or direction, an interval length the store cannot hold, two channels
    of the same shape, overlapping or non-positive multipliers, two meters of one commodity
    for the same service point, an unknown service point. Raises MetersAlreadyOnboardedError
    when any serial is already known (the file was received before): nothing is written
    twice. An installation clashing with one already in the database fails on the database's
    exclusion constraint (IntegrityError)."""
    records = list(records)
    problems = _onboarding_check(records)
    if problems:
        raise MeterOnboardingError(problems)
    serials = [r.serial_number for r in records]
    known: set[str] = set()
    for i in range(0, len(serials), _BATCH):
        known.update(Meter.objects.filter(serial_number__in=serials[i:i + _BATCH]).values_list("serial_number", flat=True))
    if known:
        raise MetersAlreadyOnboardedError([OnboardingProblem(s, "is already known") for s in serials if s in known])

    meters = Meter.objects.bulk_create(
        [Meter(serial_number=r.serial_number, kind=r.kind, manufacturer=r.manufacturer, model=r.model,
               ami_capable=r.ami_capable, status=MeterStatus.IN_STOCK) for r in records],
        batch_size=_BATCH,
    )
    channels = []
    channels_of: list[list[Channel]] = []
    for rec, meter in zip(records, meters):
        mine = [Channel(meter=meter, channel_number=number, unit=c.unit, direction=c.direction,
                        interval_minutes=c.interval_minutes, dials=c.dials)
                for number, c in enumerate(rec.channels, 1)]
        channels.extend(mine)
        channels_of.append(mine)
    Channel.objects.bulk_create(channels, batch_size=_BATCH)
    multipliers = [
        ChannelMultiplier(channel=ch, start_date=p.start_date, end_date=p.end_date, ct_ratio=p.ct_ratio,
                          pt_ratio=p.pt_ratio, register_constant=p.register_constant)
        for rec, mine in zip(records, channels_of) for p in rec.multipliers for ch in mine
    ]
    ChannelMultiplier.objects.bulk_create(multipliers, batch_size=_BATCH)
    placed = [(rec.installation, meter) for rec, meter in zip(records, meters) if rec.installation is not None]
    installations = Installation.objects.bulk_create(
        [Installation(meter=meter, service_point_id=spec.service_point_id, commodity=meter.commodity,
                      installed_at=spec.installed_at, install_read=spec.install_read)
         for spec, meter in placed],
        batch_size=_BATCH,
    )
    installed_ids = [meter.pk for _, meter in placed]
    for i in range(0, len(installed_ids), _BATCH):
        Meter.objects.filter(pk__in=installed_ids[i:i + _BATCH]).update(status=MeterStatus.INSTALLED)
    for _, meter in placed:
        meter.status = MeterStatus.INSTALLED
    return OnboardingResult(
        meters={m.serial_number: m for m in meters},
        installations={meter.serial_number: inst for (_, meter), inst in zip(placed, installations)},
        channels=len(channels), multipliers=len(multipliers),
    )


def meters_exist() -> bool:
    """True once the MDM knows any meter (an initial onboarding goes into an empty MDM)."""
    return Meter.objects.exists()


# ---- the default VEE configuration and the first VEE pass --------------------------------------


@transaction.atomic
def vee_default_rule_sets_ensure(*, since: dt.date = dt.date(2000, 1, 1), description: str = "") -> dict[str, bool]:
    """The default rule set assigned as the default, and the commercial/industrial rule set
    assigned to those rate classes, from `since`; what exists already is kept (a migration
    seeds the default on install). `description` goes on rule sets created now. Returns
    {rule set name: created now}."""
    created = {}
    default, created[DEFAULT_RULE_SET_NAME] = VeeRuleSet.objects.get_or_create(
        name=DEFAULT_RULE_SET_NAME, defaults={"rules": default_rules_json(), "description": description})
    if not VeeRuleSetAssignment.objects.filter(scope=VeeRuleSetAssignment.Scope.DEFAULT).exists():
        VeeRuleSetAssignment.objects.create(rule_set=default, scope=VeeRuleSetAssignment.Scope.DEFAULT,
                                            start_date=since)
    large, created[LARGE_RULE_SET_NAME] = VeeRuleSet.objects.get_or_create(
        name=LARGE_RULE_SET_NAME, defaults={"rules": large_customer_rules_json(), "description": description})
    for rate_class in LARGE_RATE_CLASSES:
        scope = VeeRuleSetAssignment.Scope.RATE_CLASS
        if not VeeRuleSetAssignment.objects.filter(scope=scope, scope_value=rate_class).exists():
            VeeRuleSetAssignment.objects.create(rule_set=large, scope=scope, scope_value=rate_class, start_date=since)
    return created


def vee_run_stored_days(*, scope: str, now_fn, user=None):
    """Run VEE here and now over every stored channel-day (the first pass over the history a
    conversion or a go-live loaded). Returns the finished VeeRun, or None when nothing is
    stored. Raises VeeRunError."""
    span = IntervalDay.objects.aggregate(first=Min("local_date"), last=Max("local_date"))
    if span["first"] is None:
        return None
    end = span["last"] + dt.timedelta(days=1)
    channels = vee_runs.channels_with_data(start_date=span["first"], end_date=end)
    run = vee_runs.vee_run_create(channel_ids=channels, start_date=span["first"], end_date=end, scope=scope,
                                  now=now_fn(), user=user)
    return vee_runs.vee_run_execute(vee_run_id=run.pk, now_fn=now_fn)
