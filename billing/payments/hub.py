"""The Billing Hub's Payments page: import a bank remittance (lockbox) file, see what each
import did, and work the suspense worklist (lines no account, or several, matched): staff
assign each to an account with a reason, which posts it through payment_post."""
from __future__ import annotations

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.urls import path
from django.views.decorators.http import require_POST

from billing.hub.common import STAFF, form_errors, request_now
from billing.payments import autopay, autopay_review, autopay_views, remittance, selectors
from billing.payments.models import RemittanceItem
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
        batch = remittance.remittance_import(format=form.cleaned_data["format"], content=upload.read(),
                                             file_name=upload.name, actor=Actor.of(request.user), now=request_now())
    except remittance.RemittanceError as exc:
        messages.error(request, str(exc))
        return redirect("billing:payments")
    messages.success(request, f"{batch.file_name}: {batch.posted} posted, {batch.suspense} to suspense, "
                              f"{batch.duplicates} already posted, {batch.rejected} rejected.")
    return redirect("billing:payments")


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
    path("payments/suspense/<int:item_id>/assign/", suspense_assign, name="suspense-assign"),
]
