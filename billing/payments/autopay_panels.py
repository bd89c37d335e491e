"""The Autopay panel on the account 360 page (CSR, billing): the active enrolment (bank account
masked, "•••• 6789"), its recent debits and a cancel form; or the enrolment form, which posts to
billing/payments/autopay_views.py. A refused enrolment comes back with its field errors (kept in
the session for one page view, without the bank numbers: they are typed again)."""
from __future__ import annotations

from decimal import Decimal

from django import forms

from billing.payments import autopay
from billing.payments.autopay_models import AutopayDebit, AutopayEnrolment
from core.panels import AccountPanel, register_account_panel
from core.roles import Role

SESSION_KEY = "billing.autopay.enrol_form"


class EnrolForm(forms.Form):
    routing_number = forms.CharField(max_length=11, help_text="9 digits (the bank's ABA routing number).")
    account_number = forms.CharField(label="Bank account number", max_length=20, help_text="4 to 17 digits.")
    account_type = forms.ChoiceField(choices=AutopayEnrolment.AccountType.choices)
    holder_name = forms.CharField(label="Name on the bank account", max_length=100)
    start_date = forms.DateField(help_text="Bills due on or after this date are debited.",
                                 widget=forms.DateInput(attrs={"type": "date"}))
    max_amount = forms.DecimalField(label="Maximum withdrawal", required=False, max_digits=14, decimal_places=2,
                                    min_value=Decimal("0.01"), help_text="Optional: a debit above it is held for review.")
    reason = forms.CharField(max_length=500, required=False, help_text="Optional: how the customer authorised it.")


class CancelForm(forms.Form):
    reason = forms.CharField(max_length=500)


SENSITIVE = ("routing_number", "account_number")


def keep_refused(request, account_number: str, data, errors: dict[str, list[str]]) -> None:
    kept = {k: v for k, v in data.items() if k in EnrolForm.base_fields and k not in SENSITIVE}
    request.session[SESSION_KEY] = {"account": account_number, "data": kept, "errors": errors}


def _enrol_form(request, account) -> EnrolForm:
    kept = request.session.pop(SESSION_KEY, None) if hasattr(request, "session") else None
    if not kept or kept.get("account") != account.account_number:
        return EnrolForm(auto_id="autopay_%s")
    form = EnrolForm(data=kept["data"], auto_id="autopay_%s")
    form.is_valid()  # binds the kept values; its own errors are replaced by the ones the post had
    form.errors.clear()
    for name, messages in kept["errors"].items():
        form.add_error(name if name in form.fields else None, list(messages))
    return form


def autopay_panel_context(request, account) -> dict:
    enrolment = autopay.active_enrolment(account_id=account.pk)
    return {
        "account": account,
        "enrolment": enrolment,
        "masked_account": autopay.masked_account(enrolment) if enrolment else "",
        "debits": list(AutopayDebit.objects.filter(account_id=account.pk).select_related("bill", "payment")
                       .order_by("-due_date", "-id")[:12]),
        "enrol_form": None if enrolment else _enrol_form(request, account),
        "cancel_form": CancelForm(auto_id="autopay_cancel_%s"),
    }


def register() -> None:
    register_account_panel(AccountPanel(
        key="billing.autopay", title="Autopay", template="billing/payments/autopay_panel.html",
        context=autopay_panel_context, order=22, roles=(Role.CSR, Role.BILLING)))
