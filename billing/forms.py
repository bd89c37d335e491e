from decimal import Decimal

from django import forms

from billing.payments.models import Payment


class PaymentForm(forms.Form):
    amount = forms.DecimalField(min_value=Decimal("0.01"), max_digits=12, decimal_places=2)
    tender_type = forms.ChoiceField(choices=Payment.Tender.choices, initial=Payment.Tender.CASH)
    received_date = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}))
    reference = forms.CharField(max_length=100, required=False, help_text="Cheque number, note, ...")
    reason = forms.CharField(max_length=500, required=False, widget=forms.TextInput)


class AdjustmentForm(forms.Form):
    amount = forms.DecimalField(
        max_digits=12, decimal_places=2, help_text="Positive charges the customer; negative credits them."
    )
    effective_date = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}))
    reason = forms.CharField(max_length=500, widget=forms.TextInput)
