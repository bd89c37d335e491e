"""The Billing Hub's Deposit Hub (/billing/deposits/): deposits required (not yet billed),
billed (instalments unpaid), held, and due for refund (good payment history reached); cheque
refunds to pay; the daily review's open recommendations and its runs with progress. Each
action is one service call (require, waive, refund, apply, transfer, bill now, a cheque paid,
a recommendation accepted or dismissed); a refusal is shown with the service's own message."""
from __future__ import annotations

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path
from django.views.decorators.http import require_POST

from billing.deposits import selectors, services
from billing.deposits.models import Deposit, DepositClass, DepositRecommendation, DepositRefund, DepositReview
from billing.hub.common import STAFF, VIEWERS, form_errors, local_today, request_now
from cis.selectors import account_get
from core.actors import Actor
from core.permissions import role_required
from core.roles import has_role
from core.runs import progress_response


class AccountField(forms.CharField):
    def clean(self, value):
        number = super().clean(value).strip()
        try:
            return account_get(account_number=number)
        except Exception as exc:  # noqa: BLE001 - DoesNotExist of cis's model
            raise forms.ValidationError(f"No account has the number {number}.") from exc


class RequireForm(forms.Form):
    account_number = AccountField(max_length=20)
    deposit_class = forms.ModelChoiceField(queryset=DepositClass.objects.filter(active=True), required=False,
                                           empty_label="The account's class by rule")
    amount = forms.DecimalField(required=False, min_value=0.01, max_digits=14, decimal_places=2,
                                help_text="Blank: the class's rule (average monthly bill x multiple, minimum, cap).")
    waiver = forms.ChoiceField(required=False, choices=[("", "No waiver: bill it"), *Deposit.Waiver.choices])
    waiver_reference = forms.CharField(required=False, max_length=200)
    reason = forms.CharField(max_length=500)


class WaiveForm(forms.Form):
    waiver = forms.ChoiceField(choices=Deposit.Waiver.choices)
    waiver_reference = forms.CharField(max_length=200)
    reason = forms.CharField(max_length=500)


class RefundForm(forms.Form):
    method = forms.ChoiceField(required=False, choices=[("", "The class's method"), *DepositRefund.Method.choices])
    reason = forms.CharField(max_length=500)


class ReasonForm(forms.Form):
    reason = forms.CharField(max_length=500)


class TransferForm(forms.Form):
    account_number = AccountField(max_length=20, label="To account")
    reason = forms.CharField(max_length=500)


class ChequeForm(forms.Form):
    cheque_number = forms.CharField(max_length=40)
    paid_on = forms.DateField()


class DismissForm(forms.Form):
    note = forms.CharField(max_length=500)


def _today():
    now = request_now()
    return now, local_today(now)


@role_required(*VIEWERS)
def deposit_hub(request):
    now, today = _today()
    context = selectors.hub_lists(on=today)
    context.update({"tab": "deposits", "today": today, "reviews": selectors.recent_reviews(),
                    "require_form": RequireForm(), "waivers": Deposit.Waiver.choices,
                    "methods": DepositRefund.Method.choices, "can_act": has_role(request.user, *STAFF)})
    return render(request, "billing/deposits/hub.html", context)


def _fail(request, what: str, exc: Exception) -> None:
    if isinstance(exc, ValidationError):
        text = "; ".join(f"{field}: {' '.join(msgs)}" if field != "__all__" else " ".join(msgs)
                         for field, msgs in exc.message_dict.items()) if hasattr(exc, "error_dict") else "; ".join(exc.messages)
    else:
        text = str(exc)
    messages.error(request, f"{what}: {text}")


@require_POST
@role_required(*STAFF)
def deposit_require_view(request):
    form = RequireForm(request.POST)
    if not form.is_valid():
        messages.error(request, "No deposit required: " + form_errors(form))
        return redirect("billing:deposits")
    data = form.cleaned_data
    _, today = _today()
    try:
        deposit = services.deposit_require(
            account=data["account_number"], as_of=today, actor=Actor.of(request.user), reason=data["reason"],
            deposit_class=data["deposit_class"], amount=data["amount"], waiver=data["waiver"],
            waiver_reference=data["waiver_reference"], trigger_key=f"manual:{today.isoformat()}")
    except (ValidationError, services.DepositError) as exc:
        _fail(request, "No deposit required", exc)
        return redirect("billing:deposits")
    verb = "waived" if deposit.status == Deposit.Status.WAIVED else "required"
    messages.success(request, f"Deposit {deposit.pk} of {deposit.amount} {verb} on account {deposit.account.account_number}.")
    return redirect("billing:deposits")


ACTIONS = {"waive": WaiveForm, "refund": RefundForm, "apply": ReasonForm, "transfer": TransferForm, "bill": ReasonForm}


@require_POST
@role_required(*STAFF)
def deposit_act(request, deposit_id: int, action: str):
    deposit = get_object_or_404(Deposit, pk=deposit_id)
    form_class = ACTIONS.get(action)
    if form_class is None:
        messages.error(request, f"Unknown deposit action {action!r}.")
        return redirect("billing:deposits")
    form = form_class(request.POST)
    label = f"Deposit {deposit.pk} not changed"
    if not form.is_valid():
        messages.error(request, f"{label}: " + form_errors(form))
        return redirect("billing:deposits")
    data, actor = form.cleaned_data, Actor.of(request.user)
    _, today = _today()
    try:
        if action == "waive":
            services.deposit_waive(deposit=deposit, waiver=data["waiver"], waiver_reference=data["waiver_reference"], on=today,
                                   actor=actor, reason=data["reason"])
            done = "waived"
        elif action == "refund":
            refund = services.deposit_refund(deposit=deposit, on=today, actor=actor, reason=data["reason"], method=data["method"])
            done = (f"refunded {refund.amount} ({refund.get_method_display().lower()})" if refund
                    else "closed: nothing was held to refund")
        elif action == "apply":
            services.deposit_apply(deposit=deposit, on=today, actor=actor, reason=data["reason"])
            done = "applied to the account"
        elif action == "transfer":
            moved = services.deposit_transfer(deposit=deposit, to_account=data["account_number"], on=today, actor=actor,
                                              reason=data["reason"])
            done = f"transferred to account {moved.account.account_number} (deposit {moved.pk})"
        else:
            instalment = services.deposit_bill_next(deposit=deposit, on=today, actor=actor.with_reason(data["reason"]))
            done = f"instalment {instalment.number} ({instalment.amount}) billed"
    except (ValidationError, services.DepositError) as exc:
        _fail(request, label, exc)
        return redirect("billing:deposits")
    messages.success(request, f"Deposit {deposit.pk} {done}.")
    return redirect("billing:deposits")


@require_POST
@role_required(*STAFF)
def recommendation_act(request, recommendation_id: int, action: str):
    recommendation = get_object_or_404(DepositRecommendation, pk=recommendation_id)
    _, today = _today()
    actor = Actor.of(request.user)
    label = f"Recommendation {recommendation.pk} not decided"
    try:
        if action == "accept":
            services.recommendation_accept(recommendation=recommendation, on=today, actor=actor,
                                           reason=request.POST.get("reason", ""))
        elif action == "dismiss":
            form = DismissForm(request.POST)
            if not form.is_valid():
                messages.error(request, f"{label}: " + form_errors(form))
                return redirect("billing:deposits")
            services.recommendation_dismiss(recommendation=recommendation, on=today, actor=actor, note=form.cleaned_data["note"])
        else:
            messages.error(request, f"Unknown recommendation action {action!r}.")
            return redirect("billing:deposits")
    except (ValidationError, services.DepositError) as exc:
        _fail(request, label, exc)
        return redirect("billing:deposits")
    messages.success(request, f"Recommendation {recommendation.pk} {'accepted' if action == 'accept' else 'dismissed'}.")
    return redirect("billing:deposits")


@require_POST
@role_required(*STAFF)
def refund_paid(request, refund_id: int):
    refund = get_object_or_404(DepositRefund, pk=refund_id)
    form = ChequeForm(request.POST)
    if not form.is_valid():
        messages.error(request, f"Refund {refund.pk} not paid: " + form_errors(form))
        return redirect("billing:deposits")
    try:
        services.deposit_refund_paid(refund=refund, cheque_number=form.cleaned_data["cheque_number"],
                                     paid_on=form.cleaned_data["paid_on"], actor=Actor.of(request.user))
    except (ValidationError, services.DepositError) as exc:
        _fail(request, f"Refund {refund.pk} not paid", exc)
        return redirect("billing:deposits")
    messages.success(request, f"Refund {refund.pk} paid by cheque {form.cleaned_data['cheque_number']}.")
    return redirect("billing:deposits")


@require_POST
@role_required(*STAFF)
def review_start(request):
    now, today = _today()
    run = services.deposit_review_start(run_date=today, now=now, user=request.user)
    messages.success(request, f"Deposit review of {run.run_date}: {run.accounts_total} accounts.")
    return redirect("billing:deposits")


@role_required(*VIEWERS)
def review_progress(request, run_id: int):
    run = get_object_or_404(DepositReview, pk=run_id)
    return progress_response(run, recommended=run.recommended, instalments_paid=run.instalments_paid,
                             interest_credited=run.interest_credited)


urlpatterns = [
    path("deposits/", deposit_hub, name="deposits"),
    path("deposits/require/", deposit_require_view, name="deposit-require"),
    path("deposits/review/", review_start, name="deposit-review-start"),
    path("deposits/reviews/<int:run_id>/progress/", review_progress, name="deposit-review-progress"),
    path("deposits/recommendations/<int:recommendation_id>/<str:action>/", recommendation_act,
         name="deposit-recommendation-act"),
    path("deposits/refunds/<int:refund_id>/paid/", refund_paid, name="deposit-refund-paid"),
    path("deposits/<int:deposit_id>/<str:action>/", deposit_act, name="deposit-act"),
]
