"""core.templatetags.hub: the filters the staff hub templates use."""
from __future__ import annotations

import datetime as dt

import pytest
from django import forms
from django.template import Context, Template

from core.roles import Role
from core.templatetags import hub

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(("roles", "names", "expected"), [
    ({"csr"}, "csr,billing", True),
    ({"metering"}, "csr, billing", False),
    ({Role.ADMIN.value}, "billing", True),  # administrators hold every role
    (frozenset(), "csr", False),
    (None, "csr", False),
    ({"csr"}, " , ", False),
])
def test_has_any_role(roles, names, expected):
    assert hub.has_any_role(roles, names) is expected


@pytest.mark.parametrize(("value", "expected"), [
    (None, "—"), ("", "—"), (True, "yes"), (False, "no"), (0, "0"), ("x", "x"), (dt.date(2026, 3, 1), "2026-03-01"),
])
def test_audit_value_makes_empty_visible(value, expected):
    assert hub.audit_value(value) == expected


def test_lookup_reads_a_mapping_by_a_variable_key_or_returns_the_key():
    labels = {"open": "Open", 3: "three"}
    assert (hub.lookup(labels, "open"), hub.lookup(labels, 3), hub.lookup(labels, "gone")) == ("Open", "three", "gone")
    assert hub.lookup(["not", "a", "mapping"], 1) == 1


class Thing:
    def __init__(self, days):
        self.days = days

    def is_active_on(self, day):
        return day in self.days


def test_active_on():
    day = dt.date(2026, 3, 1)
    assert hub.active_on(Thing({day}), day) is True
    assert hub.active_on(Thing(set()), day) is False
    assert hub.active_on(Thing({None}), None) is False  # no day, not active


class ExampleForm(forms.Form):
    amount = forms.DecimalField(help_text="In dollars.")
    note = forms.CharField(required=False, widget=forms.Textarea)
    when = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}))


def test_accessible_ties_help_and_errors_to_the_widget():
    form = ExampleForm(data={"amount": "lots", "when": "2026-03-01"})
    assert not form.is_valid()
    html = hub.accessible(form["amount"])
    assert 'aria-describedby="id_amount_help id_amount_errors"' in html
    assert 'aria-invalid="true"' in html
    clean = hub.accessible(form["note"])
    assert "aria-describedby" not in clean and "aria-invalid" not in clean


def test_widget_type():
    form = ExampleForm()
    assert (hub.widget_type(form["amount"]), hub.widget_type(form["note"]), hub.widget_type(form["when"])) == (
        "number", "textarea", "date")


def test_the_filters_load_in_a_template():
    template = Template('{% load hub %}{% if roles|has_any_role:"billing" %}B{% endif %}|{{ v|audit_value }}|'
                        '{{ labels|lookup:key }}')
    rendered = template.render(Context({"roles": {"billing"}, "v": None, "labels": {"k": "Kay"}, "key": "k"}))
    assert rendered == "B|—|Kay"
