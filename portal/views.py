"""The customer portal's pages. Each signed-in page wears `portal_view` and reaches account
data only through `linked_account` (portal.scoping): another customer's ids give a 404."""
from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.hashers import make_password
from django.core.exceptions import ObjectDoesNotExist
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from billing.selectors import account_balance, bill_with_segments, bills_list
from cis.selectors import service_addresses
from core.clock import utility_today, utility_zone
from core.roles import Role, has_role
from core.templatetags.formats import unit_label
from core.two_factor import LoginView as StaffLoginView
from integrations.services import write_greenbutton
from portal import services
from portal.pay_views import account_money
from portal.plans_views import plans_status
from portal.forms import AccountForm, DateRangeForm, NewLoginForm, ProofForm, UsageForm
from portal.presenting import explain_line, greenbutton_feed, usage_csv
from portal.scoping import SESSION_IDLE_SECONDS, linked_account, linked_account_ids, portal_view
from portal.usage import account_usage, bucket_rows_html, chart_svg, chart_top, commodity_word, group_usage, totals

STEP1 = "portal_link_step1"
# The currency of Green Button amounts, by the utility's country; another country's is left out.
_CURRENCY = {"CA": "CAD", "US": "USD"}


# ---- signing in, registering, linking -----------------------------------------------------

class PortalLoginView(StaffLoginView):
    """The hub's sign-in (django-axes throttling, a second factor for those who set one up)
    with the portal's page; a portal session ends after SESSION_IDLE_SECONDS idle."""
    template_name = "portal/login.html"

    def get_default_redirect_url(self) -> str:
        # Called after the sign-in: a staff login that used this page goes to its own start page.
        return reverse("portal:home") if has_role(self.request.user, Role.CUSTOMER) else "/"

    def get_success_url(self) -> str:
        # A customer with a second factor gives its code on the portal's page, not the hub's.
        url = super().get_success_url()
        hub_verify = reverse("two-factor-verify")
        if url.startswith(hub_verify) and has_role(self.request.user, Role.CUSTOMER):
            return reverse("portal:two-factor-verify") + url[len(hub_verify):]
        return url

    def form_valid(self, form):
        response = super().form_valid(form)
        self.request.session.set_expiry(SESSION_IDLE_SECONDS)
        return response




def register(request):
    """Step 1: the account (and, for a new login, an email and password)."""
    signed_in = request.user.is_authenticated
    form_class = AccountForm if signed_in else NewLoginForm
    form = form_class(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        request.session[STEP1] = {
            "user_id": request.user.pk if signed_in else None,
            "account_number": data["account_number"], "name": data["name"],
            "email": request.user.email if signed_in else data["email"],
            "password_hash": "" if signed_in else make_password(data["password1"]),
        }
        return redirect("portal:register-proof")
    return render(request, "portal/register.html", {"form": form, "signed_in": signed_in})


def register_proof(request):
    """Step 2: the identity question. Wrong answers are counted per account number and email."""
    step1 = request.session.get(STEP1)
    # Step 1 was for this visitor as they are now (signing in or out in between starts again).
    if not step1 or step1.get("user_id") != (request.user.pk if request.user.is_authenticated else None):
        request.session.pop(STEP1, None)
        return redirect("portal:register")
    form = ProofForm(request.POST or None)
    status = 200
    if request.method == "POST" and form.is_valid():
        now = timezone.now()
        try:
            account = services.link_proof_check(
                account_number=step1["account_number"], name=step1["name"], email=step1["email"],
                proof=form.cleaned_data["proof"], answer=form.cleaned_data["answer"], now=now)
        except services.LinkLockedError as exc:
            form.add_error(None, _("Too many tries for this account and email: try again after %(when)s.") % {
                "when": f"{timezone.localtime(exc.until, utility_zone()):%Y-%m-%d %H:%M %Z}"})
            status = 429
        except services.LinkProofError as exc:
            form.add_error(None, str(exc))
            status = 400
        else:
            url = request.build_absolute_uri(reverse("portal:link-confirm", kwargs={"token": "TOKEN"}))
            services.link_request_create(
                account=account, email=step1["email"], user=request.user if request.user.is_authenticated else None,
                password_hash=step1["password_hash"], proof=form.cleaned_data["proof"], now=now,
                confirm_url=url.replace("TOKEN", "{token}"))
            del request.session[STEP1]
            return render(request, "portal/link_sent.html", {"email": step1["email"]})
    elif request.method == "POST":
        status = 400
    return render(request, "portal/register_proof.html", {"form": form, "step1": step1}, status=status)


def link_confirm(request, token: str):
    """GET shows a button (mail scanners follow links; only a person's POST links the account)."""
    now = timezone.now()
    try:
        pending = services.link_request_get(token=token, now=now)
    except services.LinkTokenError as exc:
        return render(request, "portal/link_invalid.html", {"message": str(exc)}, status=404)
    if request.method != "POST":
        return render(request, "portal/link_confirm.html", {"pending": pending})
    new_login = pending.user_id is None
    try:
        user, account = services.link_confirm(token=token, now=now)
    except services.LinkTokenError as exc:
        return render(request, "portal/link_invalid.html", {"message": str(exc)}, status=404)
    messages.success(request, _("Account %(number)s is now linked to your login.") % {"number": account.account_number})
    if new_login:
        # The login was made from this link with the password chosen in step 1: sign it in.
        login(request, user, backend="django.contrib.auth.backends.ModelBackend")
        request.session.set_expiry(SESSION_IDLE_SECONDS)
    elif not request.user.is_authenticated or request.user.pk != user.pk:
        # The link adds an account to an existing login; it does not sign anyone in.
        return redirect(f"{reverse('portal:login')}?next={reverse('portal:account', args=[account.account_number])}")
    return redirect("portal:account", account_number=account.account_number)


# ---- what a customer sees -----------------------------------------------------------------

def _summary(account) -> dict:
    balance = account_balance(account_id=account.pk)
    last_bill = bills_list(include_drafts=False, account_id=account.pk, status="issued").first()
    return {"account": account, "balance": balance, "last_bill": last_bill,
            "address": service_addresses([account.pk]).get(account.pk, ""), "plans": plans_status(account)}


@portal_view
def home(request):
    ids = linked_account_ids(request.user)
    if len(ids) == 1:
        return redirect("portal:account", account_number=_account_number(request.user, ids[0]))
    links = request.user.portal_links.select_related("account").order_by("linked_at", "id")
    return render(request, "portal/home.html", {"summaries": [_summary(link.account) for link in links]})


def _account_number(user, account_id: int) -> str:
    return user.portal_links.get(account_id=account_id).account.account_number


@portal_view
def account(request, account_number: str):
    acct = linked_account(request.user, account_number)
    return render(request, "portal/account.html", {**_summary(acct), **account_money(acct), "tab": "home"})


@portal_view
def bills(request, account_number: str):
    acct = linked_account(request.user, account_number)
    return render(request, "portal/bills.html", {
        "account": acct, "bills": bills_list(include_drafts=False, account_id=acct.pk)[:36], "tab": "bills"})


def _bill(acct, bill_id: int):
    try:
        bill = bill_with_segments(bill_id=bill_id, include_drafts=False)
    except ObjectDoesNotExist:
        raise Http404("No such bill.") from None
    if bill.account_id != acct.pk:
        raise Http404("No such bill.")
    return bill


@portal_view
def bill(request, account_number: str, bill_id: int):
    acct = linked_account(request.user, account_number)
    b = _bill(acct, bill_id)
    segments = [{"segment": s, "commodity": commodity_word(s.service_point.commodity),
                 "lines": [explain_line(line) for line in s.lines.all()]}
                for s in b.segments.all() if s.live or b.status == "cancelled"]
    return render(request, "portal/bill.html", {"account": acct, "bill": b, "segments": segments, "tab": "bills"})


@portal_view
def bill_pdf(request, account_number: str, bill_id: int):
    """The bill's stored PDF (billing's BillDocument, printed when the bill was issued)."""
    acct = linked_account(request.user, account_number)
    b = _bill(acct, bill_id)
    try:
        document = b.document
    except ObjectDoesNotExist:
        document = None
    if document is not None and document.status == "ready" and document.file:
        return FileResponse(document.file.open("rb"), content_type="application/pdf",
                            filename=f"bill-{b.bill_number or b.pk}.pdf")
    response = render(request, "portal/bill_preparing.html", {"account": acct, "bill": b, "tab": "bills"}, status=202)
    response["Retry-After"] = "30"
    return response


def _range_form(request, *, default_days: int, form_class=DateRangeForm):
    today = utility_today()
    initial = {"start": today - dt.timedelta(days=default_days), "end": today, "by": "day"}
    data = request.GET if "start" in request.GET or "end" in request.GET else {**initial, **request.GET.dict()}
    return form_class(data)


@portal_view
def usage(request, account_number: str):
    acct = linked_account(request.user, account_number)
    form = _range_form(request, default_days=30, form_class=UsageForm)
    charts = []
    if form.is_valid():
        start, end = form.range()
        tz = utility_zone()
        by = form.cleaned_data["by"]
        if by == "hour" and (end - start).days > 31:
            form.add_error("by", _("Hourly totals are shown for at most 31 days: choose a shorter range or daily "
                                   "totals."))
        else:
            for s in account_usage(account=acct, start_date=start, end_date=end, tz=tz):
                buckets = group_usage(s, by=by, tz=tz)
                title = (_("%(service)s: used (%(unit)s)") if s.direction == "delivered"
                         else _("%(service)s: sent to the grid (%(unit)s)")) % {"service": s.label, "unit": unit_label(s.unit)}
                actual, estimated = totals(s)
                charts.append({"series": s, "title": title, "svg": chart_svg(buckets, unit=s.unit, title=title),
                               "buckets": buckets, "rows": bucket_rows_html(buckets, unit=s.unit), "actual": actual, "estimated": estimated,
                               "top": chart_top(buckets)})
    status = 200 if form.is_valid() else 400
    return render(request, "portal/usage.html", {"account": acct, "form": form, "charts": charts, "tab": "usage",
                                                 "zone": utility_zone().key}, status=status)


def _bad_range(form) -> HttpResponse:
    errors = "; ".join(f"{field}: {' '.join(msgs)}" for field, msgs in form.errors.items())
    return HttpResponse(_("Bad date range: %(errors)s") % {"errors": errors}, status=400,
                        content_type="text/plain; charset=utf-8")


@portal_view
def usage_csv_download(request, account_number: str):
    acct = linked_account(request.user, account_number)
    form = _range_form(request, default_days=30)
    if not form.is_valid():
        return _bad_range(form)
    start, end = form.range()
    tz = utility_zone()
    body = usage_csv(account_usage(account=acct, start_date=start, end_date=end, tz=tz), tz=tz)
    response = HttpResponse(body, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="usage-{acct.account_number}-{start}-{end}.csv"'
    return response


def greenbutton_bytes(acct, start: dt.date, end: dt.date) -> bytes:
    """The account's Green Button file over local days [start, end) (the page and the API)."""
    tz = utility_zone()
    series = account_usage(account=acct, start_date=start, end_date=end, tz=tz)
    in_range = [b for b in bills_list(include_drafts=False, account_id=acct.pk, status="issued")
                .prefetch_related("segments") if b.period_start < end and b.period_end > start]
    feed = greenbutton_feed(utility=settings.UTILIS_UTILITY_NAME, account_number=acct.account_number, zone=tz.key,
                            currency=_CURRENCY.get(settings.UTILIS_HOLIDAY_COUNTRY, ""), now=timezone.now(),
                            series_list=series, bills=in_range, tz=tz)
    return write_greenbutton(feed)


@portal_view
def greenbutton_download(request, account_number: str):
    """Green Button Download My Data: NAESB ESPI Atom XML of the chosen local days."""
    acct = linked_account(request.user, account_number)
    form = _range_form(request, default_days=30)
    if not form.is_valid():
        return _bad_range(form)
    start, end = form.range()
    response = HttpResponse(greenbutton_bytes(acct, start, end), content_type="application/atom+xml; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="greenbutton-{acct.account_number}-{start}-{end}.xml"'
    return response
