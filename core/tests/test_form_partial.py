"""core/_form.html renders a whole form the way the hubs style one (issue 9: panels that
printed `form.as_p` were unstyled): errors at the top, each visible field with its label,
required mark, help and errors tied by aria, textareas full width, hidden fields kept."""
from __future__ import annotations

from django import forms
from django.template.loader import render_to_string


class PaymentForm(forms.Form):
    amount = forms.DecimalField(help_text="In dollars.")
    note = forms.CharField(widget=forms.Textarea, required=False)
    next = forms.CharField(widget=forms.HiddenInput, required=False)


def test_a_whole_form_is_rendered_with_the_hub_field_partial():
    form = PaymentForm(data={"amount": "abc", "next": "/hub/"})
    assert not form.is_valid()
    html = render_to_string("core/_form.html", {"form": form})
    assert 'class="alert alert--error"' in html and "Please correct the 1 field marked below." in html
    assert '<label for="id_amount">Amount <span class="req" aria-hidden="true">*</span></label>' in html
    assert 'aria-describedby="id_amount_help id_amount_errors"' in html and 'aria-invalid="true"' in html
    assert '<p class="help" id="id_amount_help">In dollars.</p>' in html
    assert 'class="field field--wide"' in html  # the textarea
    assert 'type="hidden" name="next" value="/hub/"' in html
    assert "<p><label" not in html  # nothing of as_p


def test_the_old_cis_partials_render_the_same_as_the_core_ones():
    form = PaymentForm(data={})
    form.is_valid()
    assert render_to_string("cis/_field.html", {"field": form["amount"]}) == render_to_string(
        "core/_field.html", {"field": form["amount"]}) + "\n"
