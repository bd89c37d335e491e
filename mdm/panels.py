"""What mdm adds to the CSR hub through core's registries (registered in MdmConfig.ready): the
meters-and-usage panel on the account 360 page, and search by meter number."""
from __future__ import annotations

import datetime as dt
import re

import numpy as np

from cis.selectors import account_service_point_ids, service_point_labels
from core.clock import utility_today
from core.panels import AccountPanel, register_account_panel
from core.search import SearchProvider, register_search_provider
from mdm.models import Installation
from mdm.selectors import channel_days, service_point_ids_for_meter_serial


def meters_panel_context(request, account) -> dict:
    sp_ids = account_service_point_ids(account_id=account.pk)
    installations = list(
        Installation.objects.filter(service_point_id__in=sp_ids)
        .select_related("meter").prefetch_related("meter__channels").order_by("-installed_at")[:20]
    )
    labels = service_point_labels(service_point_ids=sp_ids)
    today = utility_today()
    start = today - dt.timedelta(days=30)
    channels = [c for i in installations if i.removed_at is None for c in i.meter.channels.all() if c.interval_minutes]
    days = channel_days([c.pk for c in channels], start, today + dt.timedelta(days=1))
    rows = []
    for inst in installations:
        usage = []
        for ch in inst.meter.channels.all():
            if not ch.interval_minutes or inst.removed_at is not None:
                continue
            per_day = [float(np.nansum(days[ch.pk][d].values)) if d in days[ch.pk] else None
                       for d in (start + dt.timedelta(days=i) for i in range(31))]
            known = [v for v in per_day if v is not None]
            top = max(known, default=0) or 1
            points = " ".join(f"{i * 4},{30 - 28 * (v or 0) / top:.1f}" for i, v in enumerate(per_day))
            usage.append({"channel": ch, "total": round(sum(known), 3), "days": len(known), "points": points})
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
