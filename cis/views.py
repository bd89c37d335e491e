"""The Customer Service Hub: search, the account 360 page and its entries, the move-in /
move-out wizard and the Pending Moves hub. Views read through cis.selectors, write through
cis.services (one call per request, except a new applicant's move-in, see move_in) and map
domain errors onto the form field they concern."""
from __future__ import annotations

import datetime as dt

from django.contrib import messages
from django.core import signing
from django.core.exceptions import ObjectDoesNotExist, PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db import transaction
from django.http import Http404, HttpResponseNotAllowed
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from cis import selectors, services
from cis.forms import (
    SEARCH_KIND_LABELS,
    ApplicantForm,
    ComplaintOpenForm,
    ComplaintStatusForm,
    ContactForm,
    MoveInForm,
    MoveOutForm,
    MoveRequestCompleteForm,
    MoveRequestDeclineForm,
    NoteForm,
    PendingMovesFilterForm,
    SearchForm,
)
from cis.models import Account, Complaint, Move, ServicePoint
from core import clock as core_clock
from core import codes, privacy
from core.panels import account_panels
from core.permissions import role_required
from core.roles import Role, has_role

# CSRs (and administrators, who always pass) change things; billing and metering staff read.
READ_ROLES = (Role.CSR, Role.BILLING, Role.METERING)
WRITE_ROLES = (Role.CSR,)

WIZARD_SALT = "cis.hub.move-wizard"
WIZARD_MAX_AGE = 60 * 60  # seconds a confirmation page stays valid


def _today() -> dt.date:
    """Today where the utility is: a CSR in Toronto at 9 pm is still on today's date, which
    UTC (the project's TIME_ZONE) would already call tomorrow."""
    return core_clock.utility_today()


def _can_write(user) -> bool:
    return has_role(user, Role.ADMIN, *WRITE_ROLES)


def _account_or_404(account_number: str) -> Account:
    try:
        return selectors.account_get(account_number=account_number)
    except Account.DoesNotExist:
        raise Http404(f"There is no account {account_number}.") from None


def _add_validation_errors(form, exc: ValidationError) -> None:
    """Put a service's ValidationError next to the fields it names, the rest at the top."""
    if hasattr(exc, "error_dict"):
        for field, errors in exc.message_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, exc.messages)


# --- search -----------------------------------------------------------------------------


@role_required(*READ_ROLES)
@require_GET
def search(request):
    form = _search_form(request, request.GET or None)
    return render(request, "cis/search.html", _search_context(form, request))


@role_required(*READ_ROLES)
@require_GET
def search_results(request):
    """The results table alone, for the live search as the CSR types."""
    return render(request, "cis/_search_results.html", _search_context(_search_form(request, request.GET), request))


def _search_form(request, data) -> SearchForm:
    """The search form without the kinds this user may not search by (an ID number for a
    role that may not read IDs: a hit would confirm a guessed number)."""
    form = SearchForm(data)
    hidden = selectors.search_kinds_hidden_from(request.user)
    if hidden:
        kind = form.fields["kind"]
        kind.choices = [(k, label) for k, label in kind.choices if k not in hidden]  # type: ignore[attr-defined]
    return form


def _search_context(form: SearchForm, request) -> dict:
    """One page of hits and the links to its neighbours (to the full page: they work with or
    without the live search, and the live search starts again from page 1)."""
    hidden = selectors.search_kinds_hidden_from(request.user)
    results = form.search_page(hidden_kinds=hidden) if form.is_bound else None
    context = {
        "form": form, "results": results, "hits": results.hits if results else [],
        "query": request.GET.get("q", ""),
        # cis's labels and the registered providers' ("Meter number"), for "Matched on".
        "kind_labels": {**SEARCH_KIND_LABELS, **form.kind_labels()},
    }
    if results is not None:
        base = reverse("cis:search")
        context["previous_url"] = f"{base}?{form.page_query(results.page - 1)}" if results.page > 1 else ""
        context["next_url"] = f"{base}?{form.page_query(results.page + 1)}" if results.has_next else ""
    return context


# --- account 360 --------------------------------------------------------------------------


def _panels(request, account: Account) -> list[dict]:
    rendered = []
    for panel in account_panels():
        if panel.roles and not has_role(request.user, Role.ADMIN, *panel.roles):
            continue
        context = panel.context(request, account)
        if context is None:
            continue
        html = render_to_string(panel.template, {"panel": panel, "account": account, **context}, request=request)
        rendered.append({"panel": panel, "html": html})
    return rendered


def _account_page(request, account: Account, *, status: int = 200, **forms):
    today = _today()
    customer = account.customer
    # Case notes (notes, contacts, complaints) are left out for a role that may not read them,
    # with their rows in the audit trail; identifiers are masked (core.privacy).
    case_notes = privacy.may_read(request.user, privacy.PersonalData.CASE_NOTES)
    complaints = list(account.complaints.select_related("created_by")) if case_notes else []
    bound_status_form = forms.pop("complaint_status_form", None)
    complaint_rows = [
        (
            c,
            bound_status_form
            if bound_status_form is not None and bound_status_form.instance.pk == c.pk
            else ComplaintStatusForm(instance=c, prefix=f"complaint-{c.pk}"),
        )
        for c in complaints
    ]
    context = {
        "account": account,
        "customer": customer,
        "customer_id_number": privacy.shown(request.user, privacy.PersonalData.GOVERNMENT_ID, customer.id_number),
        "case_notes": case_notes,
        "today": today,
        "can_write": _can_write(request.user),
        "children": account.children.select_related("customer").order_by("account_number"),
        "agreements": selectors.account_agreements(account=account),
        "premises": selectors.account_premises(account=account),
        "pending": selectors.pending_moves().filter(account=account),
        "notes": account.notes.select_related("created_by") if case_notes else [],
        "contacts": account.contacts.select_related("created_by") if case_notes else [],
        "complaint_rows": complaint_rows,
        "audit": selectors.account_audit_trail(
            account=account, case_notes=case_notes,
            masked_fields=privacy.masked_fields(request.user, "cis.Customer"),
        ),
        "panels": _panels(request, account),
        "note_form": forms.get("note_form") or NoteForm(prefix="note"),
        "contact_form": forms.get("contact_form") or ContactForm(prefix="contact"),
        "complaint_form": forms.get("complaint_form") or ComplaintOpenForm(prefix="complaint"),
    }
    return render(request, "cis/account_detail.html", context, status=status)


@role_required(*READ_ROLES)
@require_GET
def account_detail(request, account_number: str):
    return _account_page(request, _account_or_404(account_number))


def _after_entry(request, account: Account, message: str, anchor: str):
    messages.success(request, message)
    return redirect(reverse("cis:account", args=[account.account_number]) + f"#{anchor}")


def _entry_post(request, account_number: str, *, form_class, prefix: str, service, done: str, anchor: str):
    """Add an entry (note, contact, complaint) to an account through its service; a bad form
    re-renders the 360 page with the errors beside the fields."""
    account = _account_or_404(account_number)
    form = form_class(request.POST, prefix=prefix)
    if form.is_valid():
        try:
            service(account=account, user=request.user, **form.cleaned_data)
        except ValidationError as exc:
            _add_validation_errors(form, exc)
        else:
            return _after_entry(request, account, done, anchor)
    return _account_page(request, account, status=400, **{f"{prefix}_form": form})


@role_required(*WRITE_ROLES)
@require_POST
def note_add(request, account_number: str):
    return _entry_post(request, account_number, form_class=NoteForm, prefix="note", service=services.note_add,
                       done="Note added.", anchor="notes")


@role_required(*WRITE_ROLES)
@require_POST
def contact_log(request, account_number: str):
    return _entry_post(request, account_number, form_class=ContactForm, prefix="contact",
                       service=services.contact_log, done="Contact logged.", anchor="contacts")


@role_required(*WRITE_ROLES)
@require_POST
def complaint_open(request, account_number: str):
    return _entry_post(request, account_number, form_class=ComplaintOpenForm, prefix="complaint",
                       service=services.complaint_open, done="Complaint opened.", anchor="complaints")


@role_required(*WRITE_ROLES)
@require_POST
def complaint_update(request, account_number: str, complaint_id: int):
    account = _account_or_404(account_number)
    complaint = get_object_or_404(Complaint, pk=complaint_id, account=account)
    # The form writes into its own copy so a failed validation leaves `complaint` as stored.
    form = ComplaintStatusForm(request.POST, instance=Complaint.objects.get(pk=complaint.pk), prefix=f"complaint-{complaint.pk}")
    if form.is_valid():
        try:
            services.complaint_update(complaint=complaint, today=_today(), user=request.user, **form.cleaned_data)
        except ValidationError as exc:
            _add_validation_errors(form, exc)
        else:
            return _after_entry(request, account, f"Complaint {complaint.pk} is now {complaint.get_status_display().lower()}.", "complaints")
    return _account_page(request, account, status=400, complaint_status_form=form)


# --- move wizard --------------------------------------------------------------------------
# Step 1 (choose) posts step=review; step 2 (confirm) shows what will happen and carries the
# step-1 answers in a signed token, so nothing is stored and nothing can be altered between
# the two; step 3 posts step=perform with that token, validates again and calls the service.

_NOT_STATE = {"csrfmiddlewaretoken", "step", "state"}


def _sign_state(request, kind: str, data) -> str:
    answers = {k: v for k, v in data.items() if k not in _NOT_STATE}
    return signing.dumps({"user": request.user.pk, "kind": kind, "data": answers}, salt=WIZARD_SALT, compress=True)


def _load_state(request, kind: str) -> dict | None:
    try:
        state = signing.loads(request.POST.get("state", ""), salt=WIZARD_SALT, max_age=WIZARD_MAX_AGE)
    except signing.BadSignature:
        return None
    if state.get("user") != request.user.pk or state.get("kind") != kind:
        return None
    return state["data"]


def _wizard_data(request, kind: str):
    """The answers to validate: the posted step-1 form, or the signed ones from step 2."""
    step = request.POST.get("step", "review")
    if step in ("perform", "edit"):
        data = _load_state(request, kind)
        if data is None:
            messages.error(request, "The confirmation expired or was changed. Check the move and confirm again.")
        return step, data
    return step, request.POST


@role_required(*WRITE_ROLES)
def move_out(request, account_number: str):
    account = _account_or_404(account_number)
    today = _today()
    template = "cis/moves/move_out.html"
    context = {"account": account, "today": today}
    if request.method == "GET":
        initial = {"move_out_date": today}
        if request.GET.get("agreement"):
            initial["agreement"] = request.GET["agreement"]
        return render(request, template, {**context, "form": MoveOutForm(initial=initial, account=account, today=today)})
    if request.method != "POST":
        return HttpResponseNotAllowed(["GET", "POST"])
    step, data = _wizard_data(request, "move_out")
    form = MoveOutForm(data, account=account, today=today) if data is not None else MoveOutForm(account=account, today=today)
    if data is None or step == "edit" or not form.is_valid():
        return render(request, template, {**context, "form": form})
    if step == "perform":
        try:
            result = services.move_out_request(
                account=account, service_point=form.cleaned_data["agreement"].service_point,
                move_out_date=form.cleaned_data["move_out_date"], today=today, user=request.user,
            )
        except services.MoveError as exc:
            form.add_error(None, str(exc))
            return render(request, template, {**context, "form": form})
        messages.success(request, "Move-out done." if result.applied else "Move-out recorded; it waits as pending.")
        return redirect("cis:move-detail", pk=result.move.pk)
    return render(
        request, "cis/moves/confirm.html",
        {**context, "kind": "move-out", "title": f"Confirm the move-out of account {account.account_number}",
         "lines": form.preview(), "state": _sign_state(request, "move_out", data),
         "action": reverse("cis:move-out", args=[account.account_number])},
    )


def _applicant_initial(query) -> dict:
    return {k.removeprefix("applicant-"): v for k, v in query.items() if k.startswith("applicant-")}


def _sp_candidates(query: str, selected: str, today: dt.date) -> list[dict]:
    """Service points to pick from, each with who is served there today."""
    found = selectors.service_points_available(query=query) if query else []
    if selected and not any(sp.sp_number == selected for sp in found):
        found = list(ServicePoint.objects.select_related("premise").filter(sp_number__iexact=selected)) + found
    return [{"sp": sp, "occupant": selectors.active_agreement_on(service_point=sp, day=today)} for sp in found]


@role_required(*WRITE_ROLES)
def move_in(request):
    today = _today()
    if request.method == "GET":
        # A GET comes from the first visit, a link from an account, or the no-JS "Find" button
        # (which submits the whole form by GET so nothing typed is lost).
        initial = {"move_in_date": today, **{k: v for k, v in request.GET.items() if k in MoveInForm.base_fields}}
        if request.GET.get("account"):
            initial["account_number"] = request.GET["account"]
        form = MoveInForm(initial=initial, today=today)
        applicant = ApplicantForm(initial=_applicant_initial(request.GET), prefix="applicant")
        return _move_in_page(request, form, applicant, today)
    if request.method != "POST":
        return HttpResponseNotAllowed(["GET", "POST"])
    step, data = _wizard_data(request, "move_in")
    if data is None:
        return _move_in_page(request, MoveInForm(today=today), ApplicantForm(prefix="applicant"), today)
    form = MoveInForm(data, today=today)
    new_applicant = data.get("applicant") == MoveInForm.APPLICANT_NEW
    applicant = ApplicantForm(data, prefix="applicant")
    valid = form.is_valid() & (applicant.is_valid() if new_applicant else True)  # & so both show errors
    if step == "edit" or not valid:
        return _move_in_page(request, form, applicant, today)
    if step == "perform":
        return _move_in_perform(request, form, applicant if new_applicant else None, today)
    return render(
        request, "cis/moves/confirm.html",
        {"kind": "move-in", "title": "Confirm the move-in", "today": today,
         "lines": form.preview(applicant=applicant if new_applicant else None),
         "state": _sign_state(request, "move_in", data), "action": reverse("cis:move-in")},
    )


def _move_in_page(request, form: MoveInForm, applicant: ApplicantForm, today: dt.date):
    def value(name: str) -> str:
        return (form.data.get(name) if form.is_bound else form.initial.get(name)) or ""

    return render(
        request, "cis/moves/move_in.html",
        {"form": form, "applicant_form": applicant, "today": today,
         "candidates": _sp_candidates(value("sp_query").strip(), value("service_point").strip(), today),
         "selected_sp": value("service_point").strip(),
         "new_applicant": value("applicant") == MoveInForm.APPLICANT_NEW,
         "rate_codes": codes.code_choices(codes.RATE_CODE)[:200],
         "bill_cycles": codes.code_choices(codes.BILL_CYCLE_CODE)},
    )


def _move_in_perform(request, form: MoveInForm, applicant: ApplicantForm | None, today: dt.date):
    day = form.cleaned_data["move_in_date"]
    try:
        # A new applicant's customer, account and move stand or fall together: a refused move
        # must not leave a customer without service behind.
        with transaction.atomic():
            if applicant is not None:
                customer = services.customer_create(user=request.user, **applicant.cleaned_data)
                account = services.account_open(
                    customer=customer, opened_date=day, user=request.user, bill_cycle_code=form.bill_cycle,
                    status=Account.Status.PENDING if day > today else Account.Status.ACTIVE,
                )
            else:
                account = form.existing_account()
            result = services.move_in_request(
                account=account, service_point=form.chosen_service_point(), move_in_date=day,
                rate_code=form.cleaned_data["rate_code"], today=today, user=request.user,
                bill_cycle_code=form.bill_cycle,
            )
    except services.MoveError as exc:
        form.add_error(None, str(exc))
        return _move_in_page(request, form, applicant or ApplicantForm(prefix="applicant"), today)
    except ValidationError as exc:
        _add_validation_errors(applicant if applicant is not None else form, exc)
        return _move_in_page(request, form, applicant or ApplicantForm(prefix="applicant"), today)
    if applicant is not None:
        messages.success(request, f"New customer {account.customer.customer_number} and account {account.account_number} created.")
    messages.success(request, "Move-in done." if result.applied else "Move-in recorded; it waits as pending.")
    return redirect("cis:move-detail", pk=result.move.pk)


@role_required(*WRITE_ROLES)
@require_GET
def move_sp_candidates(request):
    """The service point choices alone, for the wizard's live finder."""
    today = _today()
    return render(
        request, "cis/moves/_sp_candidates.html",
        {"candidates": _sp_candidates(request.GET.get("sp_query", "").strip(), request.GET.get("service_point", "").strip(), today),
         "selected_sp": request.GET.get("service_point", "").strip(), "query": request.GET.get("sp_query", "").strip()},
    )


@role_required(*READ_ROLES)
@require_GET
def move_detail(request, pk: int):
    move = get_object_or_404(
        Move.objects.select_related("account__customer", "service_point__premise", "agreement", "requested_by"), pk=pk
    )
    return render(request, "cis/moves/move_detail.html", {"move": move, "can_write": _can_write(request.user)})


# --- pending moves ------------------------------------------------------------------------


@role_required(*READ_ROLES)
@require_GET
def pending_moves(request):
    form = PendingMovesFilterForm(request.GET or None)
    filters = form.cleaned_data if form.is_bound and form.is_valid() else {}
    moves = selectors.pending_moves(until=filters.get("date_to"))
    if filters.get("date_from"):
        moves = moves.filter(effective_date__gte=filters["date_from"])
    if filters.get("kind"):
        moves = moves.filter(kind=filters["kind"])
    page = Paginator(moves, 50).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request, "cis/moves/pending.html",
        {"form": form, "page": page, "query": query.urlencode(), "can_write": _can_write(request.user), "today": _today(),
         "requests": selectors.move_requests_open()[:100]},
    )


@role_required(*READ_ROLES)
def move_request(request, pk: int):
    """A customer's move request (from the portal): complete it with the move services, or decline it."""
    if request.method not in ("GET", "POST"):
        return HttpResponseNotAllowed(["GET", "POST"])
    if request.method == "POST" and not _can_write(request.user):
        raise PermissionDenied("Your role does not allow this.")
    try:
        req = selectors.move_request_get(move_request_id=pk)
    except ObjectDoesNotExist:
        raise Http404("No such move request.") from None
    today = _today()
    # An application names a premise of the territory: its service points are the first found.
    seed = req.new_address or (" ".join(filter(None, [req.premise.address_line1, req.premise.address_line2]))
                               if req.premise else "")
    initial = {"move_out_date": req.move_out_date, "move_in_date": req.move_in_date, "sp_query": request.GET.get("sp_query", seed)}
    action = request.POST.get("action") if request.method == "POST" else ""
    complete = MoveRequestCompleteForm(request.POST if action == "complete" else None, move_request=req,
                                       initial=initial)
    decline = MoveRequestDeclineForm(request.POST if action == "decline" else None)
    status = 200
    if action == "complete" and complete.is_valid():
        data = complete.cleaned_data
        try:
            req = services.move_request_complete(
                move_request=req, today=today, now=timezone.now(), user=request.user,
                move_in_service_point=complete.sp, rate_code=data["rate_code"],
                bill_cycle_code=data["bill_cycle_code"], move_out_date=data["move_out_date"],
                move_in_date=data["move_in_date"], response=data["response"])
        except services.MoveError as exc:
            complete.add_error(None, str(exc))
            status = 400
        else:
            account = req.account
            assert account is not None  # a completed request has its account (a check constraint)
            messages.success(request, f"Request {req.pk} of account {account.account_number} completed."
                             if req.kind != "new_customer" else
                             f"Application {req.pk} completed: new customer {account.customer.customer_number}, "
                             f"account {account.account_number}.")
            return redirect("cis:pending-moves")
    elif action == "decline" and decline.is_valid():
        try:
            services.move_request_decline(move_request=req, reason=decline.cleaned_data["reason"],
                                          now=timezone.now(), user=request.user)
        except (services.MoveError, ValidationError) as exc:
            decline.add_error(None, exc.messages if isinstance(exc, ValidationError) else str(exc))
            status = 400
        else:
            messages.success(request, f"Request {req.pk} of {_requester(req)} declined.")
            return redirect("cis:pending-moves")
    elif request.method == "POST":
        status = 400
    query = (complete["sp_query"].value() or "").strip()
    selected = (complete["service_point"].value() or "").strip()
    return render(request, "cis/moves/move_request.html", {
        "req": req, "complete": complete, "decline": decline, "can_write": _can_write(request.user),
        "candidates": _sp_candidates(query, selected, today) if req.kind != "move_out" else [],
        "selected_sp": selected, "query": query, "rate_codes": codes.code_choices(codes.RATE_CODE)[:200],
        "today": today, "applicant_id_number": privacy.shown(request.user, privacy.PersonalData.GOVERNMENT_ID,
                                             req.applicant_id_number),
    }, status=status)


def _requester(req) -> str:
    return f"account {req.account.account_number}" if req.account else f"applicant {req.applicant_name()}"


@role_required(*WRITE_ROLES)
def move_cancel(request, pk: int):
    move = get_object_or_404(Move.objects.select_related("account__customer", "service_point__premise"), pk=pk)
    if request.method == "POST":
        try:
            services.move_cancel(move=move, user=request.user)
        except services.MoveError as exc:
            messages.error(request, str(exc))
        else:
            messages.success(request, f"{move.get_kind_display()} of account {move.account.account_number} on {move.effective_date:%Y-%m-%d} cancelled.")
        return redirect("cis:pending-moves")
    if request.method != "GET":
        return HttpResponseNotAllowed(["GET", "POST"])
    return render(request, "cis/moves/cancel_confirm.html", {"move": move})
