"""The Collections Hub's pages for what collections sends out: the notice letters (each one's
PDF, and the bulk print of a run date with its progress) and the collection agency referral
(refer an account, export the file, download an export). Each post is one call of
billing/collections/letters.py or agency.py; a refusal is a message, never a 500."""
from __future__ import annotations

import datetime as dt

from django import forms
from django.contrib import messages
from django.core.exceptions import ObjectDoesNotExist
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path
from django.views.decorators.http import require_POST

from billing.collections import agency, letters
from billing.collections.models import NOTICE_KINDS, CollectionAction, CollectionCase
from billing.collections.output_models import AgencyExport, LetterPrint, NoticeLetter
from billing.hub.common import STAFF, VIEWERS, form_errors, local_today, request_now
from cis.selectors import account_get
from core.actors import Actor
from core.permissions import role_required
from core.runs import progress_response


class PrintForm(forms.Form):
    run_date = forms.DateField(label="Run date", help_text="The letters of the notices taken on this date.")


class ReferForm(forms.Form):
    reason = forms.CharField(max_length=200)


@role_required(*VIEWERS)
def letter_pdf(request, action_id: int):
    action = get_object_or_404(CollectionAction.objects.select_related("account", "case"), pk=action_id,
                               kind__in=NOTICE_KINDS)
    return letters.letter_pdf_response(request, action)


@role_required(*STAFF)
def letters_page(request):
    now = request_now()
    recent = (CollectionAction.objects.filter(kind__in=NOTICE_KINDS).select_related("account")
              .order_by("-action_date", "-id")[:50])
    states = dict(NoticeLetter.objects.filter(action__in=[a.pk for a in recent]).values_list("action_id", "status"))
    return render(request, "billing/collections/letters.html", {
        "tab": "collections", "form": PrintForm(initial={"run_date": local_today(now)}),
        "prints": letters.recent_prints(), "letters": [(a, states.get(a.pk, "")) for a in recent],
    })


@require_POST
@role_required(*STAFF)
def letter_print_start(request):
    form = PrintForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Not printed: " + form_errors(form))
        return redirect("billing:collections-letters")
    run_date: dt.date = form.cleaned_data["run_date"]
    try:
        job = letters.letter_print_start(run_date=run_date, actor=Actor.of(request.user), now=request_now())
    except letters.LetterError as exc:
        messages.error(request, str(exc))
        return redirect("billing:collections-letters")
    messages.success(request, f"Printing the {job.progress_total} notice letters of {run_date} in the background.")
    return redirect("billing:collections-letters")


@role_required(*STAFF)
def letter_print_progress(request, print_id: int):
    job = get_object_or_404(LetterPrint, pk=print_id)
    return progress_response(job, chunks=False, **{k: v for k, v in letters.letter_print_progress(job).items()
                                                   if k in ("letters", "url")})


@role_required(*STAFF)
def letter_print_pdf(request, print_id: int):
    job = get_object_or_404(LetterPrint, pk=print_id)
    if job.status != LetterPrint.Status.DONE or not job.file.name or not job.file.storage.exists(job.file.name):
        raise Http404("This print is not ready.")
    return FileResponse(job.file.open("rb"), content_type="application/pdf", filename=f"letters-{job.run_date}.pdf")


@role_required(*STAFF)
def agency_page(request):
    pending = list(agency.referrals_pending()[:200])
    written_off = list(agency.written_off_not_referred().select_related("account")[:200])
    return render(request, "billing/collections/agency.html", {
        "tab": "collections", "pending": pending, "written_off": written_off, "waiting": len(pending) + len(written_off),
        "exports": agency.recent_exports(), "layout": agency.LAYOUT,
    })


@require_POST
@role_required(*STAFF)
def agency_export(request):
    try:
        export = agency.agency_export_create(actor=Actor.of(request.user), now=request_now())
    except agency.AgencyError as exc:
        messages.error(request, str(exc))
        return redirect("billing:collections-agency")
    messages.success(request, f"{export.file_name}: {export.accounts} accounts, {export.total_amount} referred.")
    return redirect("billing:collections-agency")


@role_required(*STAFF)
def agency_export_file(request, export_id: int):
    export = get_object_or_404(AgencyExport, pk=export_id)
    response = HttpResponse(export.content, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{export.file_name}"'
    return response


@require_POST
@role_required(*STAFF)
def agency_refer(request, account_number: str):
    try:
        account = account_get(account_number=account_number)
    except ObjectDoesNotExist:
        raise Http404("No such account.") from None
    back = redirect("billing:collections_account", account_number)
    form = ReferForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Not referred: " + form_errors(form))
        return back
    case = (CollectionCase.objects.filter(account_id=account.pk).exclude(status=CollectionCase.Status.PAID)
            .order_by("-opened_on", "-id").first())
    if case is None:
        messages.error(request, "Not referred: the account has no unpaid collections case.")
        return back
    try:
        referral = agency.agency_refer(case=case, reason=form.cleaned_data["reason"], actor=Actor.of(request.user),
                                       now=request_now())
    except agency.AgencyError as exc:
        messages.error(request, f"Not referred: {exc}")
        return back
    messages.success(request, f"Referred to the agency for {referral.amount}: it goes in the next referral file.")
    return back


# Spread into billing/urls.py (the billing namespace).
urlpatterns = [
    path("collections/letters/", letters_page, name="collections-letters"),
    path("collections/letters/<int:action_id>/pdf/", letter_pdf, name="collections-letter"),
    path("collections/letters/print/", letter_print_start, name="letter-print-start"),
    path("collections/letters/print/<int:print_id>/progress/", letter_print_progress, name="letter-print-progress"),
    path("collections/letters/print/<int:print_id>/pdf/", letter_print_pdf, name="letter-print-pdf"),
    path("collections/agency/", agency_page, name="collections-agency"),
    path("collections/agency/export/", agency_export, name="agency-export"),
    path("collections/agency/exports/<int:export_id>/", agency_export_file, name="agency-export-file"),
    path("collections/accounts/<str:account_number>/refer/", agency_refer, name="agency-refer"),
]
