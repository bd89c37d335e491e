from __future__ import annotations

import json

from django import forms

from billing.models import BillCycle, PreBillRule, RateSchedule

DATE = forms.DateInput(attrs={"type": "date"})


class RunStartForm(forms.Form):
    """Start a cycle's run: posted once to see the confirm step (accounts, period), then again
    with `confirmed`. A window whose read window is still open needs `override_reason`."""

    cycle = forms.ModelChoiceField(queryset=BillCycle.objects.filter(active=True))
    bill_date = forms.DateField(widget=DATE)
    override_reason = forms.CharField(
        required=False, max_length=500, widget=forms.TextInput, label="Override reason",
        help_text="Only for a window whose reads are not all in yet: why bill it now (kept on the run).")
    confirmed = forms.BooleanField(required=False, widget=forms.HiddenInput)


class ReasonForm(forms.Form):
    reason = forms.CharField(max_length=500, widget=forms.TextInput, help_text="Kept on the bill and in the ledger.")


class FinalBillForm(forms.Form):
    account_number = forms.CharField(max_length=20)
    bill_date = forms.DateField(widget=DATE)


class ExceptionFilterForm(forms.Form):
    rule = forms.ChoiceField(required=False, choices=[("", "All rules"), *PreBillRule.Kind.choices])
    status = forms.ChoiceField(required=False, choices=[("open", "Open"), ("", "Any status"),
                                                        ("released", "Released"), ("rerated", "Re-rated"),
                                                        ("meter_check", "Sent for meter check")])


class BillSearchForm(forms.Form):
    q = forms.CharField(required=False, label="Bill or account number")


class ScheduleForm(forms.Form):
    code = forms.CharField(max_length=30, help_text="The rate code agreements carry.")
    name = forms.CharField(max_length=200)
    commodity = forms.ChoiceField(choices=[(c, c) for c in ("electric", "water", "gas", "streetlight")])
    rate_class = forms.CharField(max_length=30, required=False)


class UrdbImportForm(forms.Form):
    file = forms.FileField(label="URDB JSON file")
    code = forms.CharField(required=False, max_length=30, help_text="Default: the tariff's URDB label.")
    start_date = forms.DateField(required=False, widget=DATE, help_text="Default: the tariff's start date.")
    end_date = forms.DateField(required=False, widget=DATE, help_text="Exclusive. Default: the tariff's end date.")


def pretty_json(value, indent: int = 0) -> str:
    """JSON for people editing a rate: containers indented, lists of plain values (a TOU grid
    row, a list of tags) kept on one line so a 12 x 24 grid reads as 12 lines."""
    pad, inner = " " * indent, " " * (indent + 2)
    if isinstance(value, dict) and value:
        items = [f"{inner}{json.dumps(str(k))}: {pretty_json(v, indent + 2)}" for k, v in value.items()]
        return "{\n" + ",\n".join(items) + f"\n{pad}}}"
    if isinstance(value, list) and any(isinstance(v, (dict, list)) for v in value):
        return "[\n" + ",\n".join(f"{inner}{pretty_json(v, indent + 2)}" for v in value) + f"\n{pad}]"
    return json.dumps(value)


class ReadableJSONField(forms.JSONField):
    def prepare_value(self, value):
        if isinstance(value, forms.fields.InvalidJSONInput):
            return value
        return pretty_json(value)


class VersionForm(forms.Form):
    start_date = forms.DateField(widget=DATE, help_text="The version in effect that day ends there.")
    end_date = forms.DateField(required=False, widget=DATE, help_text="Exclusive; empty: open-ended.")
    components = ReadableJSONField(widget=forms.Textarea(attrs={"rows": 14, "class": "mono"}),
                                 help_text="Copied from the latest version; the form above keeps it in step.")
    notes = forms.CharField(required=False, max_length=500, widget=forms.TextInput)


INTERVALS = [(5, "5 minutes"), (15, "15 minutes"), (30, "30 minutes"), (60, "60 minutes")]


class CalculatorForm(forms.Form):
    rate_schedule = forms.ModelChoiceField(queryset=RateSchedule.objects.all(), required=False,
                                           empty_label="(use the URDB file below)")
    urdb_file = forms.FileField(required=False, label="or a URDB tariff file")
    start = forms.DateTimeField(widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
                                input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%d"],
                                help_text="Local time of the first interval's start.")
    interval_minutes = forms.TypedChoiceField(choices=INTERVALS, coerce=int, initial=60)
    unit = forms.ChoiceField(choices=[("kWh", "kWh per interval"), ("kW", "average kW")], initial="kWh")
    values = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 6, "class": "mono"}),
                             help_text="Numbers separated by commas, spaces or new lines.")
    values_file = forms.FileField(required=False, label="or a CSV of interval values",
                                  help_text="One interval per row; the last column is the value; a header row is skipped.")
    received = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2, "class": "mono"}),
                               help_text="Optional: kWh received from the customer per interval.")
    time_zone = forms.CharField(required=False, max_length=64, label="Time zone",
                                help_text="IANA name, e.g. America/Vancouver. Empty: the utility's.")
    holidays = forms.CharField(required=False, max_length=2000, label="Holidays",
                               help_text='A calendar ("CA-ON", "US"), ISO dates separated by commas, or "none". '
                                         "Empty: the utility's.")
