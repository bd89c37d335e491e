"""Issue 11's insights pages: usage compared with last year and with similar premises, and the
rate comparison. Each wears `portal_view` and reaches account data only through
`linked_account` (portal.scoping): another customer's account number is a 404."""
from __future__ import annotations

import datetime as dt

from django.core.cache import cache
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from billing.selectors import rate_comparison
from cis.selectors import account_agreements
from core.clock import utility_today, utility_zone
from core.templatetags.formats import quantity_text, unit_label
from mdm.selectors import MIN_PREMISES
from portal.forms import CompareForm
from portal.insights import compare_svg, compare_usage
from portal.presenting import line_description
from portal.scoping import linked_account, portal_view
from portal.usage import commodity_word

# A comparison is worked out once per account and day, then read from the cache: its inputs
# are the months before this one, which change only when a late read or a rate change comes in.
RATE_COMPARISON_CACHE_SECONDS = 6 * 3600
_UNITS = {"electric": "kWh", "water": "m3", "gas": "m3"}


def _compare_form(request) -> CompareForm:
    """By default the last 12 complete months, by month."""
    if "start" in request.GET or "end" in request.GET:
        return CompareForm(request.GET)
    this_month = utility_today().replace(day=1)
    start = (this_month - dt.timedelta(days=365)).replace(day=1)
    return CompareForm({"start": start, "end": this_month - dt.timedelta(days=1),
                        "by": request.GET.get("by", "month")})


@portal_view
def usage_compare(request, account_number: str):
    acct = linked_account(request.user, account_number)
    form = _compare_form(request)
    charts = []
    if form.is_valid():
        start, end = form.range()
        for c in compare_usage(account=acct, start=start, end=end, by=form.cleaned_data["by"], tz=utility_zone()):
            title = _("%(service)s: used (%(unit)s), compared") % {"service": c.series.label,
                                                                   "unit": unit_label(c.series.unit)}
            charts.append({"c": c, "title": title, "svg": compare_svg(c, title=title)})
    return render(request, "portal/usage_compare.html", {
        "account": acct, "form": form, "charts": charts, "tab": "usage", "zone": utility_zone().key,
        "min_premises": MIN_PREMISES}, status=200 if form.is_valid() else 400)


# Units of fixed charges are words, said in the page's language; others are measures ("672 kWh").
_COUNTED = {
    "bill": lambda n: ngettext("%(count)s bill", "%(count)s bills", n),
    "month": lambda n: ngettext("%(count)s month", "%(count)s months", n),
    "months": lambda n: ngettext("%(count)s month", "%(count)s months", n),
    "day": lambda n: ngettext("%(count)s day", "%(count)s days", n),
    "days": lambda n: ngettext("%(count)s day", "%(count)s days", n),
}


def _line_quantity(quantity, unit: str) -> str:
    if quantity is None:
        return ""
    counted = _COUNTED.get((unit or "").lower())
    if counted is not None and quantity == int(quantity):
        return counted(int(quantity)) % {"count": int(quantity)}
    return quantity_text(quantity, unit)


def _comparisons(account_id: int, as_of: dt.date):
    key = f"portal:rate-comparison:{account_id}:{as_of.isoformat()}"
    found = cache.get(key)
    if found is None:
        found = rate_comparison(account_id=account_id, as_of=as_of)
        cache.set(key, found, RATE_COMPARISON_CACHE_SECONDS)
    return found


@portal_view
def rate_compare(request, account_number: str):
    acct = linked_account(request.user, account_number)
    places = {ag.service_point_id: ag.service_point.premise.address_text() for ag in account_agreements(account=acct)}
    cards = []
    for c in _comparisons(acct.pk, utility_today()):
        options = [{"option": o, "difference": c.difference(o), "by": abs(c.difference(o) or 0),
                    "lines": [{"line": ln, "description": line_description(ln.description),
                               "quantity": _line_quantity(ln.quantity, ln.unit)} for ln in o.lines]}
                   for o in c.options]
        cards.append({"c": c, "place": places.get(c.service_point_id, ""), "commodity": commodity_word(c.commodity),
                      "unit": _UNITS.get(c.commodity, ""), "options": options,
                                            "others": sum(1 for o in c.options if not o.current)})
    return render(request, "portal/rate_compare.html", {"account": acct, "cards": cards, "tab": "bills"})
