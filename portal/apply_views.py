"""The public page where someone who is not a customer yet applies for service at an address of
the territory (no sign-in). What it sends is a request in the CSR hub's Pending Moves
(cis.services.move_request_apply, throttled by portal.applications); a CSR completes it into
a customer, an account and a move-in, or declines it."""
from __future__ import annotations

from axes.helpers import get_client_ip_address
from django.core.exceptions import ObjectDoesNotExist, ValidationError
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from cis import selectors as cis_selectors
from core.clock import utility_today, utility_zone
from portal.applications import ApplicationThrottled, application_submit
from portal.forms import ApplyForm

MAX_QUERY = 200


def _premise(value: str):
    """The premise the form names, if one may be applied for; None otherwise."""
    if not value.isdigit():
        return None
    try:
        return cis_selectors.premise_open_for_applications(premise_id=int(value))
    except ObjectDoesNotExist:
        return None


def apply(request):
    data = request.POST if request.method == "POST" else request.GET
    query = data.get("address", "").strip()[:MAX_QUERY]
    found = cis_selectors.premises_open_for_applications(query=query) if query else []
    chosen = _premise(request.POST.get("premise", "")) if request.method == "POST" else None
    if chosen is not None and all(p.pk != chosen.pk for p in found):
        found = [chosen, *found]
    form = ApplyForm(request.POST or None, premises=[(str(p.pk), p.address_text()) for p in found])
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            fields = {name: value for name, value in form.cleaned_data.items() if name != "premise"}
            try:
                move_request = application_submit(
                    client_address=get_client_ip_address(request) or "", now=timezone.now(), today=utility_today(),
                    premise=chosen, language=(get_language() or "en")[:2], **fields)
            except ApplicationThrottled as exc:
                form.add_error(None, _("Too many applications from here or for this email lately: try again "
                                       "after %(when)s, or call us.") % {
                    "when": f"{timezone.localtime(exc.until, utility_zone()):%Y-%m-%d %H:%M %Z}"})
                status = 429
            except ValidationError as exc:
                for field, errors in exc.message_dict.items():
                    form.add_error(field if field in form.fields else None, errors)
            else:
                return render(request, "portal/apply_sent.html", {"move_request": move_request})
    return render(request, "portal/apply.html", {
        "form": form, "query": query, "found": found, "searched": bool(query)}, status=status)
