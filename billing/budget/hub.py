"""The Billing Hub's Payment plans page (/billing/budget/): plan types (edit, add), the
calculator (an account's monthly amount and its workings before enrolment), and the posts the
account panel makes: enrol (refusal reasons shown) and leave."""
from __future__ import annotations

from django import forms
from django.contrib import messages
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path
from django.views.decorators.http import require_POST

from billing.budget import services
from billing.budget.models import BudgetPlan, BudgetPlanType
from billing.hub.common import STAFF, form_errors
from cis.selectors import account_get
from core.actors import Actor
from core.clock import utility_today
from core.permissions import role_required
from core.roles import Role, user_roles

PLAN_ROLES = (Role.CSR, Role.BILLING)


class PlanTypeForm(forms.ModelForm):
    review_months = forms.CharField(required=False, help_text="Plan months separated by commas, e.g. 4, 8.")
    reason = forms.CharField(max_length=500, help_text="Why (kept in the audit history).")

    class Meta:
        model = BudgetPlanType
        fields = ["code", "name", "active", "basis", "lookback_months", "min_history_months", "uplift_percent",
                  "review_months", "variance_percent", "settlement", "spread_months", "min_refund",
                  "require_no_arrears", "min_months_at_address"]

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk and not self.is_bound:
            self.initial["review_months"] = ", ".join(map(str, self.instance.review_months or []))

    def clean_review_months(self):
        text = (self.cleaned_data.get("review_months") or "").replace(" ", "")
        try:
            return [int(part) for part in text.split(",") if part]
        except ValueError as exc:
            raise forms.ValidationError("Give plan months as whole numbers separated by commas, e.g. 4, 8.") from exc


class QuoteForm(forms.Form):
    account_number = forms.CharField(max_length=20)
    plan_type = forms.ModelChoiceField(queryset=BudgetPlanType.objects.filter(active=True))

    def clean_account_number(self):
        try:
            return account_get(account_number=self.cleaned_data["account_number"].strip())
        except Exception as exc:  # noqa: BLE001 - DoesNotExist of cis's model
            raise forms.ValidationError("No account has that number.") from exc


class EnrolForm(QuoteForm):
    reason = forms.CharField(max_length=500, required=False)


class LeaveForm(forms.Form):
    reason = forms.CharField(max_length=500)


def _account_page(account_number: str):
    return redirect(f"/hub/accounts/{account_number}/#panel-billing.budget")


@role_required(*PLAN_ROLES)
def budget_page(request):
    """GET: plan types and the calculator; `?account=&plan_type=` shows a quote."""
    quote, reasons, quote_error = None, [], ""
    form = QuoteForm(request.GET or None)
    if request.GET and form.is_valid():
        account, plan_type = form.cleaned_data["account_number"], form.cleaned_data["plan_type"]
        today = utility_today()
        try:
            quote = services.budget_quote(account_id=account.pk, plan_type=plan_type, as_of=today)
        except services.BudgetError as exc:
            quote_error = str(exc)
        reasons = services.budget_eligibility(account_id=account.pk, plan_type=plan_type, as_of=today)
    edit = None
    if request.GET.get("edit"):
        edit = get_object_or_404(BudgetPlanType, code=request.GET["edit"])
    return render(request, "billing/budget/hub.html", {
        "tab": "budget", "plan_types": BudgetPlanType.objects.all(), "quote_form": form, "quote": quote,
        "reasons": reasons, "quote_error": quote_error, "type_form": PlanTypeForm(instance=edit), "editing": edit,
        "can_edit": bool(set(STAFF) & set(user_roles(request.user))) or request.user.is_superuser,
    })


@require_POST
@role_required(*STAFF)
def plan_type_post(request):
    instance = BudgetPlanType.objects.filter(pk=request.POST.get("id") or None).first()
    form = PlanTypeForm(request.POST, instance=instance)
    if not form.is_valid():
        messages.error(request, "Plan type not saved: " + form_errors(form))
        return render(request, "billing/budget/hub.html", {
            "tab": "budget", "plan_types": BudgetPlanType.objects.all(), "quote_form": QuoteForm(), "type_form": form,
            "editing": instance, "can_edit": True}, status=400)
    plan_type = services.plan_type_save(plan_type=form.save(commit=False), reason=form.cleaned_data["reason"],
                                        actor=Actor.of(request.user))
    messages.success(request, f"Plan type {plan_type.code} saved.")
    return redirect("billing:budget")


@require_POST
@role_required(*PLAN_ROLES)
def enrol_post(request):
    form = EnrolForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Not enrolled: " + form_errors(form))
        return redirect("billing:budget")
    account, plan_type = form.cleaned_data["account_number"], form.cleaned_data["plan_type"]
    try:
        plan = services.budget_enrol(account_id=account.pk, plan_type=plan_type, as_of=utility_today(),
                                     actor=Actor.of(request.user), reason=form.cleaned_data["reason"])
    except services.BudgetError as exc:
        messages.error(request, "Not enrolled: " + " ".join(exc.reasons))
        return _account_page(account.account_number)
    messages.success(request, f"{account.account_number} enrolled on {plan_type.name}: ${plan.monthly_amount} a month "
                              f"from the next bill.")
    return _account_page(account.account_number)


@require_POST
@role_required(*PLAN_ROLES)
def leave_post(request, plan_id: int):
    plan = BudgetPlan.objects.filter(pk=plan_id).first()
    if plan is None:
        raise Http404("No such plan")
    form = LeaveForm(request.POST)
    number = account_number_of(plan)
    if not form.is_valid():
        messages.error(request, "Plan not ended: " + form_errors(form))
        return _account_page(number)
    try:
        settlement = services.budget_leave(plan=plan, on=utility_today(), reason=form.cleaned_data["reason"],
                                           actor=Actor.of(request.user))
    except services.BudgetError as exc:
        messages.error(request, "Plan not ended: " + str(exc))
        return _account_page(number)
    text = f"Plan ended; the deferred balance of ${settlement.balance} was posted to the account."
    if settlement.refund_due:
        text += f" ${settlement.refund_due} is due to the customer as a refund."
    messages.success(request, text)
    return _account_page(number)


def account_number_of(plan: BudgetPlan) -> str:
    return plan.account.account_number


urlpatterns = [
    path("budget/", budget_page, name="budget"),
    path("budget/types/", plan_type_post, name="budget-type"),
    path("budget/enrol/", enrol_post, name="budget-enrol"),
    path("budget/<int:plan_id>/leave/", leave_post, name="budget-leave"),
]
