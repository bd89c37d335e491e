"""The forms of the portal's payment options (portal/plans_views.py): autopay from a bank
account, the equal payment plan, a payment arrangement and paperless bills; the portal's own
rules for an arrangement a customer makes without staff; and the customer's words for the
reasons billing gives in English.

Each form checks every field itself, with a message in the page's language, before billing's
service is called (which checks again and is what the database holds to)."""
from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext, gettext_lazy as _

from billing.selectors import routing_check_digit
from core.money import format_money

# A payment arrangement a customer makes in the portal is made at once within these rules (what
# a CSR would agree to over the phone without asking anyone); anything else is for staff, who
# may split arrears into up to 24 instalments in the Collections Hub (docs/portal.md).
ARRANGEMENT_MIN_INSTALMENTS = 2
ARRANGEMENT_MAX_INSTALMENTS = 12
ARRANGEMENT_FIRST_DUE_WITHIN = dt.timedelta(days=30)
ARRANGEMENT_MIN_INSTALMENT = Decimal("10.00")
ARRANGEMENT_MAX_ARREARS = Decimal("5000.00")
ARRANGEMENT_BROKEN_LOOKBACK = dt.timedelta(days=365)
ARRANGEMENT_EVERY_DAYS = 30


def _digits(value: str) -> str:
    return re.sub(r"[\s-]", "", value or "")


class AutopayForm(forms.Form):
    holder_name = forms.CharField(label=_("Name on the bank account"), max_length=100,
                                  widget=forms.TextInput(attrs={"autocomplete": "name"}))
    routing_number = forms.CharField(
        label=_("Routing number"), max_length=11, help_text=_("9 digits, from a cheque or your bank."),
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "off"}))
    account_number = forms.CharField(
        label=_("Bank account number"), max_length=20, help_text=_("4 to 17 digits."),
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "off"}))
    account_type = forms.ChoiceField(label=_("Account type"), widget=forms.RadioSelect,
                                     choices=[("checking", _("Chequing")), ("savings", _("Savings"))])
    max_amount = forms.DecimalField(
        label=_("Largest amount to take at once ($, optional)"), required=False, min_value=Decimal("0.01"),
        max_digits=9, decimal_places=2, help_text=_("A bill above it is not debited until we have checked it with you."),
        widget=forms.TextInput(attrs={"inputmode": "decimal"}))
    authorise = forms.BooleanField(label=_("I authorise the utility to debit this bank account for each bill on its "
                                           "due date, until I cancel autopay."))

    def clean_routing_number(self) -> str:
        routing = _digits(self.cleaned_data["routing_number"])
        if not re.fullmatch(r"[0-9]{9}", routing):
            raise ValidationError(gettext("A routing number is 9 digits."))
        if routing[8] != routing_check_digit(routing[:8]):
            raise ValidationError(gettext("%(number)s is not a valid routing number (its last digit does not match "
                                          "the others). Check it on a cheque or with your bank.") % {"number": routing})
        return routing

    def clean_account_number(self) -> str:
        number = _digits(self.cleaned_data["account_number"])
        if not re.fullmatch(r"[0-9]{4,17}", number):
            raise ValidationError(gettext("A bank account number is 4 to 17 digits."))
        return number

    def clean_holder_name(self) -> str:
        name = " ".join(self.cleaned_data["holder_name"].split())
        if not name:
            raise ValidationError(gettext("Enter the name on the bank account."))
        return name


class ReasonForm(forms.Form):
    """Cancelling autopay: why, if the customer wants to say."""
    reason = forms.CharField(label=_("Why (optional)"), max_length=300, required=False,
                             widget=forms.Textarea(attrs={"rows": 2}))


class BudgetEnrolForm(forms.Form):
    plan_type = forms.ChoiceField(label=_("Plan"), widget=forms.HiddenInput)
    accept = forms.BooleanField(label=_("I understand that my bills will ask for the plan amount each month and that "
                                        "the difference from my actual charges is settled once a year, or when I "
                                        "leave the plan."))

    def __init__(self, *args, plan_types, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["plan_type"].choices = [(t.code, t.name) for t in plan_types]


class BudgetLeaveForm(ReasonForm):
    accept = forms.BooleanField(label=_("I understand what leaving the plan does to my balance."))


class ArrangementForm(forms.Form):
    instalments = forms.IntegerField(
        label=_("Number of instalments"), min_value=ARRANGEMENT_MIN_INSTALMENTS, max_value=ARRANGEMENT_MAX_INSTALMENTS,
        widget=forms.TextInput(attrs={"inputmode": "numeric"}))
    first_due = forms.DateField(label=_("First instalment due on"), widget=forms.DateInput(attrs={"type": "date"}),
                                help_text=_("Within 30 days from today."))

    def __init__(self, *args, today: dt.date, arrears: Decimal, **kwargs):
        super().__init__(*args, **kwargs)
        self.today, self.arrears = today, arrears
        self.fields["instalments"].help_text = gettext("From %(low)s to %(high)s, one every %(days)s days.") % {
            "low": ARRANGEMENT_MIN_INSTALMENTS, "high": ARRANGEMENT_MAX_INSTALMENTS, "days": ARRANGEMENT_EVERY_DAYS}

    def clean_instalments(self) -> int:
        n = self.cleaned_data["instalments"]
        if self.arrears / n < ARRANGEMENT_MIN_INSTALMENT:
            raise ValidationError(gettext("Each instalment would be less than %(min)s: choose fewer instalments.")
                                  % {"min": format_money(ARRANGEMENT_MIN_INSTALMENT)})
        return n

    def clean_first_due(self) -> dt.date:
        first = self.cleaned_data["first_due"]
        if first < self.today:
            raise ValidationError(gettext("The first instalment cannot be due before today."))
        if first > self.today + ARRANGEMENT_FIRST_DUE_WITHIN:
            raise ValidationError(gettext("The first instalment must be due within 30 days (by %(last)s).")
                                  % {"last": (self.today + ARRANGEMENT_FIRST_DUE_WITHIN).isoformat()})
        return first


class PaperlessForm(forms.Form):
    bill_delivery = forms.ChoiceField(label=_("How you get your bills"), widget=forms.RadioSelect, choices=[
        ("email", _("Paperless: email me when a bill is ready; no paper bill")),
        ("paper", _("Paper: mail me a paper bill"))])


# ---- billing's reasons in the customer's words ------------------------------------------------

def _budget_reasons():
    return [
        (re.compile(r"Plan type (?P<code>\S+) is not offered any more\.$"), gettext("This plan is not offered any more.")),
        (re.compile(r"The account is already on an equal payment plan\.$"),
         gettext("The account is already on an equal payment plan.")),
        (re.compile(r"The account has (?P<amount>[0-9.,-]+) in arrears \(30 days or more overdue\); it must be paid first\.$"),
         gettext("%(amount)s on the account is 30 days or more overdue: it must be paid before you can join.")),
        (re.compile(r"The customer has been at the address (?P<months>\d+) months; the plan needs (?P<need>\d+)\.$"),
         gettext("You have been at this address %(months)s months; the plan needs %(need)s.")),
        (re.compile(r"No bills on rate class .* to estimate from; this account cannot be quoted yet\.$"),
         gettext("We do not have enough bills yet to work out a plan amount for this account.")),
        (re.compile(r"The account has no service in effect to estimate a plan amount from\.$"),
         gettext("The account has no service in effect to work out a plan amount from.")),
        (re.compile(r"The plan amount works out at .*: an account with no charges needs no plan\.$"),
         gettext("Your charges are too small for a plan to help.")),
    ]


def say_budget_reason(reason: str) -> str:
    """A reason billing.services.budget_eligibility / BudgetError gives, in the page's language
    (an unknown reason is shown as billing wrote it)."""
    for pattern, words in _budget_reasons():
        match = pattern.match(reason)
        if match:
            values = match.groupdict()
            if "amount" in values:
                values["amount"] = format_money(Decimal(values["amount"].replace(",", "")))
            return words % values if "%(" in words else words
    return reason
