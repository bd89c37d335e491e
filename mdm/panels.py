"""What mdm adds to the CSR hub through core's registries (registered in MdmConfig.ready): the
meters-and-usage panel on the account 360 page, and search by meter number."""
from __future__ import annotations

import datetime as dt
import re

import numpy as np

from cis.selectors import account_agreement_periods, service_point_labels
from core.clock import utility_today, utility_zone
from core.panels import AccountPanel, register_account_panel
from core.search import SearchProvider, register_search_provider
from mdm.models import Installation
from mdm.selectors import channel_days, service_point_ids_for_meter_serial


def _covered(periods: list[tuple[dt.date, dt.date | None]], day: dt.date) -> bool:
    return any(start <= day and (end is None or day < end) for start, end in periods)


def meters_panel_context(request, account) -> dict:
    """The meters at the account's service points and their last 30 days of usage, counting only
    the local days of the account's own agreements there: a customer who moved in today sees
    no usage of the previous occupant, and one who moved out sees none of the next."""
    periods = account_agreement_periods(account_id=account.pk)
    sp_ids = sorted(periods)
    tz = utility_zone()
    installations = [
        inst for inst in Installation.objects.filter(service_point_id__in=sp_ids)
        .select_related("meter").prefetch_related("meter__channels").order_by("-installed_at")
        # Only meters that were there while the account held the service point.
        if any(inst.installed_at.astimezone(tz).date() < (end or dt.date.max)
               and (inst.removed_at is None or inst.removed_at.astimezone(tz).date() >= start)
               for start, end in periods[inst.service_point_id])
    ][:20]
    labels = service_point_labels(service_point_ids=sp_ids)
    today = utility_today()
    start = today - dt.timedelta(days=30)
    window = [start + dt.timedelta(days=i) for i in range(31)]
    channels = [c for i in installations if i.removed_at is None for c in i.meter.channels.all() if c.interval_minutes]
    days = channel_days([c.pk for c in channels], start, today + dt.timedelta(days=1))
    rows = []
    for inst in installations:
        usage = []
        own = [d for d in window if _covered(periods[inst.service_point_id], d)]
        owned = set(own)
        for ch in inst.meter.channels.all():
            if not ch.interval_minutes or inst.removed_at is not None:
                continue
            per_day = [float(np.nansum(days[ch.pk][d].values)) if d in owned and d in days[ch.pk] else None
                       for d in window]
            known = [v for v in per_day if v is not None]
            top = max(known, default=0) or 1
            points = " ".join(f"{i * 4},{30 - 28 * (v or 0) / top:.1f}" for i, v in enumerate(per_day))
            usage.append({"channel": ch, "total": round(sum(known), 3), "days": len(known), "points": points,
                          "since": own[0] if own and own[0] > start else None})
        rows.append({"installation": inst, "label": labels.get(inst.service_point_id, ""), "usage": usage})
    return {"rows": rows}


_SERIAL = re.compile(r"[A-Za-z0-9][A-Za-z0-9-]{2,}")


def looks_like_meter_serial(query: str) -> bool:
    """One token of letters, digits and dashes holding a digit ("EL10000042", "12-3456-7"):
    a query the one box's "Anything" mode also tries as a meter number."""
    q = query.strip()
    return bool(_SERIAL.fullmatch(q)) and any(ch.isdigit() for ch in q)


def register() -> None:
    register_account_panel(
        AccountPanel(
            key="mdm.meters", title="Meters and usage", template="mdm/panels/meters.html",
            context=meters_panel_context, order=10,
        )
    )
    register_search_provider(
        SearchProvider("meter", "Meter number", service_point_ids_for_meter_serial, order=10,
                       looks_like=looks_like_meter_serial)
    )
