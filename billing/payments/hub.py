"""The Billing Hub's Payments page: import a bank remittance (lockbox) file, see what each
import did, and work the suspense worklist (lines no account, or several, matched): staff
assign each to an account with a reason, which posts it through payment_post."""
from __future__ import annotations

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, JsonResponse
from django.shortcuts import redirect, render
from django.urls import path
from django.views.decorators.http import require_POST

from billing.hub.common import STAFF, form_errors, request_now
from billing.payments import autopay, autopay_review, autopay_views, remittance, remittance_uploads, selectors
from billing.payments.models import RemittanceItem, RemittanceUpload
from billing.payments.services import PaymentError
from core.actors import Actor
from core.permissions import role_required

MAX_FILE_BYTES = 20 * 1024 * 1024


class RemittanceUploadForm(forms.Form):
    format = forms.ChoiceField(choices=())
    file = forms.FileField()

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        choice = self.fields["format"]
        assert isinstance(choice, forms.ChoiceField)
        choice.choices = [(f.key, f.title) for f in remittance.remittance_formats()]

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > MAX_FILE_BYTES:
            raise ValidationError(f"The file is larger than {MAX_FILE_BYTES // (1024 * 1024)} MB.")
        return upload


class AssignForm(forms.Form):
    account_number = forms.CharField(max_length=20)
    reason = forms.CharField(max_length=500)


@role_required(*STAFF)
def payments_page(request):
    return render(request, "billing/hub/payments.html", {
        "upload_form": RemittanceUploadForm(), "files": selectors.remittance_files(),
        "uploads": list(RemittanceUpload.objects.defer("content").select_related("file")[:10]),
        "suspense": list(selectors.suspense_items()[:200]), "assign_form": AssignForm(), "tab": "payments",
        "held_debits": autopay.held_debits(), "returns_form": autopay_views.ReturnsUploadForm(auto_id="returns_%s"),
        "reviewed_debits": autopay_review.reviewed_debits(), "returned_debits": autopay_review.returned_debits(),
    })


@require_POST
@role_required(*STAFF)
def remittance_upload(request):
    form = RemittanceUploadForm(request.POST, request.FILES)
    if not form.is_valid():
        messages.error(request, "File not imported: " + form_errors(form))
        return redirect("billing:payments")
    upload = form.cleaned_data["file"]
    try:
        stored = remittance_uploads.remittance_upload_store(
            format=form.cleaned_data["format"], content=upload.read(), file_name=upload.name,
            actor=Actor.of(request.user), now=request_now())
    except remittance.RemittanceError as exc:
        messages.error(request, str(exc))
        return redirect("billing:payments")
    # The import runs on a worker (the interactive queue); the upload's page shows its progress.
    return redirect("billing:remittance-upload-detail", upload_id=stored.pk)


def _upload_or_404(upload_id: int) -> RemittanceUpload:
    upload = RemittanceUpload.objects.defer("content").filter(pk=upload_id).select_related("file").first()
    if upload is None:
        raise Http404(f"There is no remittance upload {upload_id}.")
    return upload


@role_required(*STAFF)
def remittance_upload_detail(request, upload_id: int):
    """An uploaded remittance file: its import's progress while a worker imports it (polled by
    static/js/run-progress.js, which reloads the page when the status changes), then what it
    did and each rejected line with its line, field and message; or why it failed."""
    upload = _upload_or_404(upload_id)
    progress = remittance_uploads.remittance_upload_progress(upload)
    rejected = (list(RemittanceItem.objects.filter(file_id=upload.file_id, status=RemittanceItem.Status.REJECTED)
                     .order_by("line_number")[:500])
                if upload.file_id and upload.status == RemittanceUpload.Status.DONE else [])
    return render(request, "billing/payments/upload.html", {
        "upload": upload, "progress": progress, "rejected": rejected, "tab": "payments",
        "live": upload.status in (RemittanceUpload.Status.QUEUED, RemittanceUpload.Status.RUNNING),
        # What the core.runs progress partial reads.
        "progress_run": {"pk": upload.pk, "progress_done": progress["done"], "progress_total": progress["total"]},
    })


@role_required(*STAFF)
def remittance_upload_progress(request, upload_id: int):
    """Polled every 2 s by static/js/run-progress.js while the upload is queued or importing."""
    return JsonResponse(remittance_uploads.remittance_upload_progress(_upload_or_404(upload_id)))


@require_POST
@role_required(*STAFF)
def suspense_assign(request, item_id: int):
    item = RemittanceItem.objects.filter(pk=item_id).select_related("file").first()
    if item is None:
        messages.error(request, f"There is no remittance line {item_id}.")
        return redirect("billing:payments")
    form = AssignForm(request.POST)
    if not form.is_valid():
        messages.error(request, f"Line {item.line_number} not assigned: " + form_errors(form))
        return redirect("billing:payments")
    try:
        item = remittance.suspense_assign(item=item, account_number=form.cleaned_data["account_number"],
                                          reason=form.cleaned_data["reason"], actor=Actor.of(request.user),
                                          now=request_now())
    except ValidationError as exc:
        messages.error(request, f"Line {item.line_number} not assigned: " + "; ".join(exc.messages))
        return redirect("billing:payments")
    except PaymentError as exc:
        messages.error(request, f"Line {item.line_number} not assigned: {exc}")
        return redirect("billing:payments")
    receipt = item.payment.receipt_number if item.payment else ""
    messages.success(request, f"Line {item.line_number} of {item.file.file_name} posted to "
                              f"{form.cleaned_data['account_number']}: receipt {receipt}.")
    return redirect("billing:payments")


# Spread into billing/urls.py (the billing namespace).
urlpatterns = [
    path("payments/", payments_page, name="payments"),
    path("payments/import/", remittance_upload, name="remittance-upload"),
    path("payments/uploads/<int:upload_id>/", remittance_upload_detail, name="remittance-upload-detail"),
    path("payments/uploads/<int:upload_id>/progress.json", remittance_upload_progress,
         name="remittance-upload-progress"),
    path("payments/suspense/<int:item_id>/assign/", suspense_assign, name="suspense-assign"),
]
