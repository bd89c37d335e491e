from __future__ import annotations

import datetime as dt

from django import forms
from django.contrib.auth import get_user_model, password_validation
from django.contrib.auth.forms import PasswordResetForm
from django.utils.translation import gettext_lazy as _

from core.roles import Role
from portal.alerts import THRESHOLD_KINDS

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


class CompareForm(DateRangeForm):
    by = forms.ChoiceField(label=_("Totals per"), choices=[("month", _("Month")), ("day", _("Day"))], initial="month")


class CustomerPasswordResetForm(PasswordResetForm):
    """Resets customer logins only: staff passwords are not reset from the public portal."""

    def get_users(self, email):
        return (user for user in super().get_users(email) if user.groups.filter(name=Role.CUSTOMER).exists())


# ---- self-service: alerts, moves, contacting the utility, tokens ----------------------------
# (labels through gettext_lazy: the portal is translated, see docs/portal.md)

class AlertsForm(forms.Form):
    """One checkbox per alert kind; two kinds carry a number."""

    def __init__(self, *args, kinds, current: dict, **kwargs):
        super().__init__(*args, **kwargs)
        self.kinds = list(kinds)
        for value, label in self.kinds:
            pref = current.get(value)
            self.fields[value] = forms.BooleanField(label=label, required=False,
                                                    initial=bool(pref and pref.enabled))
            if value in THRESHOLD_KINDS:
                low, high, default = THRESHOLD_KINDS[value]
                label_n = _("Days before the due date") if value == "payment_due" else _("Percent of my usual day")
                self.fields[f"{value}_threshold"] = forms.IntegerField(
                    label=label_n, min_value=low, max_value=high, required=False,
                    initial=(pref.threshold if pref and pref.threshold else default),
                    help_text=_("From %(low)s to %(high)s.") % {"low": low, "high": high})

    def chosen(self) -> dict[str, int | None]:
        data = self.cleaned_data
        return {value: data.get(f"{value}_threshold") for value, _label in self.kinds if data.get(value)}


class MoveRequestForm(forms.Form):
    kind = forms.ChoiceField(label=_("What do you need?"), widget=forms.RadioSelect, choices=[
        ("move_out", _("Stop service (I am moving out)")),
        ("move_in", _("Start service at another address")),
        ("transfer", _("Transfer: stop here and start at my new address")),
    ])
    service_point = forms.ChoiceField(label=_("Where service stops"), required=False)
    move_out_date = forms.DateField(label=_("Last day plus one: the first day you no longer need service"),
                                    required=False, widget=forms.DateInput(attrs={"type": "date"}))
    move_in_date = forms.DateField(label=_("First day you need service at the new address"), required=False,
                                   widget=forms.DateInput(attrs={"type": "date"}))
    new_address = forms.CharField(label=_("New service address"), required=False, max_length=500,
                                  widget=forms.Textarea(attrs={"rows": 2}))
    forwarding_address = forms.CharField(label=_("Where should we send your final bill?"), required=False,
                                         max_length=500, widget=forms.Textarea(attrs={"rows": 2}))
    phone = forms.CharField(label=_("A phone number we can call about it"), required=False, max_length=30)
    message = forms.CharField(label=_("Anything else we should know"), required=False, max_length=2000,
                              widget=forms.Textarea(attrs={"rows": 3}))

    def __init__(self, *args, service_points: list[tuple[str, str]], **kwargs):
        super().__init__(*args, **kwargs)
        field = self.fields["service_point"]
        assert isinstance(field, forms.ChoiceField)
        field.choices = [("", _("Choose an address")), *service_points]


class ContactUsForm(forms.Form):
    kind = forms.ChoiceField(label=_("This is"), widget=forms.RadioSelect, initial="message", choices=[
        ("message", _("A question or message")), ("complaint", _("A complaint"))])
    category = forms.ChoiceField(label=_("About (for a complaint)"), required=False, choices=[
        ("billing", _("Billing")), ("service", _("Service quality")), ("meter", _("Meter")),
        ("staff", _("Staff conduct")), ("other", _("Other"))], initial="other")
    subject = forms.CharField(label=_("Subject"), max_length=200)
    details = forms.CharField(label=_("Your message"), max_length=5000, widget=forms.Textarea(attrs={"rows": 6}))


class TokenForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=100,
                           help_text=_("What will use it, e.g. “home energy app”."))


class InviteForm(forms.Form):
    email = forms.EmailField(label=_("Their email"))
    access = forms.ChoiceField(label=_("They may"), widget=forms.RadioSelect, initial="view", choices=[
        ("view", _("See the account (bills and usage)")), ("pay", _("See and pay"))])


class InviteAcceptForm(forms.Form):
    """A new login for the invited email: only a password to choose."""
    password1 = forms.CharField(label=_("Choose a password"),
                                widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}))
    password2 = forms.CharField(label=_("Password again"),
                                widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}))

    def __init__(self, *args, email: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.email = email

    def clean(self):
        data = super().clean()
        p1, p2 = data.get("password1"), data.get("password2")
        if p1 and p2 and p1 != p2:
            self.add_error("password2", _("The two passwords differ."))
        elif p1:
            try:
                password_validation.validate_password(p1, user=get_user_model()(username=self.email))
            except forms.ValidationError as exc:
                self.add_error("password1", exc)
        return data


class ApplyForm(forms.Form):
    """A new customer's application (the public page). The precise checks (dates, names, the
    premise, the mailing address) are cis.services.move_request_apply's; these are the shapes."""
    premise = forms.ChoiceField(label=_("Where you need service"), widget=forms.RadioSelect, required=False)
    move_in_date = forms.DateField(label=_("First day you need service"), required=False,
                                   widget=forms.DateInput(attrs={"type": "date"}))
    applicant_kind = forms.ChoiceField(label=_("Service is for"), widget=forms.RadioSelect, initial="person", choices=[
        ("person", _("Me (a person)")), ("organisation", _("A business or organisation"))])
    first_name = forms.CharField(label=_("First name"), required=False, max_length=100,
                                 widget=forms.TextInput(attrs={"autocomplete": "given-name"}))
    last_name = forms.CharField(label=_("Last name"), required=False, max_length=100,
                                widget=forms.TextInput(attrs={"autocomplete": "family-name"}))
    organisation_name = forms.CharField(label=_("Business name (for a business)"), required=False, max_length=200,
                                        widget=forms.TextInput(attrs={"autocomplete": "organization"}))
    email = forms.CharField(label=_("Email"), required=False, max_length=254,
                            widget=forms.EmailInput(attrs={"autocomplete": "email"}))
    phone = forms.CharField(label=_("Phone"), required=False, max_length=30,
                            widget=forms.TextInput(attrs={"autocomplete": "tel", "type": "tel"}))
    id_type = forms.ChoiceField(label=_("ID (optional)"), required=False, choices=[
        ("", _("None given")), ("drivers_licence", _("Driver's licence")), ("passport", _("Passport")),
        ("health_card", _("Health card")), ("business_number", _("Business number")), ("other", _("Other"))],
        help_text=_("Without one we may ask for a deposit before service starts."))
    id_number = forms.CharField(label=_("ID number"), required=False, max_length=50)
    mailing_address_line1 = forms.CharField(label=_("Mailing address (if bills go elsewhere)"), required=False,
                                            max_length=200, help_text=_("Empty: bills go to the service address."))
    mailing_address_line2 = forms.CharField(label=_("Address line 2"), required=False, max_length=200)
    mailing_city = forms.CharField(label=_("City"), required=False, max_length=100)
    mailing_region = forms.CharField(label=_("Province or state"), required=False, max_length=50)
    mailing_postal_code = forms.CharField(label=_("Postal code"), required=False, max_length=20)
    message = forms.CharField(label=_("Anything else we should know"), required=False, max_length=2000,
                              widget=forms.Textarea(attrs={"rows": 3}))

    def __init__(self, *args, premises: list[tuple[str, str]], **kwargs):
        super().__init__(*args, **kwargs)
        field = self.fields["premise"]
        assert isinstance(field, forms.ChoiceField)
        field.choices = premises
