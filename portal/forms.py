from __future__ import annotations

import datetime as dt

from django import forms
from django.contrib.auth import get_user_model, password_validation
from django.contrib.auth.forms import PasswordResetForm
from django.utils.translation import gettext_lazy as _

from core.roles import Role

MAX_RANGE_DAYS = 400


class AccountForm(forms.Form):
    """Step 1: which account, as the bill shows it."""
    account_number = forms.CharField(label=_("Account number"), max_length=40, help_text=_("As printed on your bill."))
    name = forms.CharField(label=_("Last name or business name"), max_length=200,
                           help_text=_("The account holder's last name, or the business name on the bill."))


class NewLoginForm(AccountForm):
    email = forms.EmailField(label=_("Email"), help_text=_("We send a link here: nothing is shown until you follow it."))
    password1 = forms.CharField(label=_("Password"), widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}))
    password2 = forms.CharField(label=_("Password again"), widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}))

    def clean_email(self) -> str:
        email = self.cleaned_data["email"].strip().lower()
        if get_user_model().objects.filter(username__iexact=email).exists():
            raise forms.ValidationError(_("This email already has a login: sign in, then add the account."))
        return email

    def clean(self):
        data = super().clean()
        p1, p2 = data.get("password1"), data.get("password2")
        if p1 and p2 and p1 != p2:
            self.add_error("password2", _("The two passwords differ."))
        elif p1:
            try:
                password_validation.validate_password(p1, user=get_user_model()(username=data.get("email", "")))
            except forms.ValidationError as exc:
                self.add_error("password1", exc)
        return data


class ProofForm(forms.Form):
    """Step 2: one question only the bill payer can answer."""
    proof = forms.ChoiceField(label=_("Question"), widget=forms.RadioSelect, choices=[
        ("postal_code", _("The postal code of the service address")),
        ("bill_amount", _("The amount of one of your last two bills")),
    ])
    answer = forms.CharField(label=_("Answer"), max_length=40,
                             help_text=_("A postal code like M4C 1B5, or an amount like 123.45."))


class DateRangeForm(forms.Form):
    start = forms.DateField(label=_("From"), widget=forms.DateInput(attrs={"type": "date"}))
    end = forms.DateField(label=_("To (inclusive)"), widget=forms.DateInput(attrs={"type": "date"}))

    def clean(self):
        data = super().clean()
        start, end = data.get("start"), data.get("end")
        if start and end:
            if end < start:
                self.add_error("end", _("The end date is before the start date."))
            elif (end - start).days + 1 > MAX_RANGE_DAYS:
                self.add_error("end", _("At most %(days)s days at a time.") % {"days": MAX_RANGE_DAYS})
        return data

    def range(self) -> tuple[dt.date, dt.date]:
        """[start, end) in local days."""
        return self.cleaned_data["start"], self.cleaned_data["end"] + dt.timedelta(days=1)


class UsageForm(DateRangeForm):
    by = forms.ChoiceField(label=_("Totals per"),
                           choices=[("month", _("Month")), ("day", _("Day")), ("hour", _("Hour"))],
                           initial="day")


class CustomerPasswordResetForm(PasswordResetForm):
    """Resets customer logins only: staff passwords are not reset from the public portal."""

    def get_users(self, email):
        return (user for user in super().get_users(email) if user.groups.filter(name=Role.CUSTOMER).exists())
