"""core.panels: the registry of account 360 panels that apps above cis fill in ready()."""
from __future__ import annotations

import pytest

from core import panels
from core.panels import AccountPanel, account_panels, register_account_panel

pytestmark = pytest.mark.django_db


@pytest.fixture
def clean_panels():
    saved = dict(panels._PANELS)
    yield
    panels._PANELS.clear()
    panels._PANELS.update(saved)


def test_the_installed_apps_registered_their_panels_in_order():
    keys = [p.key for p in account_panels()]
    assert {"mdm.meters", "service_orders"} <= set(keys)
    assert keys.index("mdm.meters") < keys.index("service_orders")  # order 10 before 50
    orders = [(p.order, p.key) for p in account_panels()]
    assert orders == sorted(orders)


def test_panels_sort_by_order_then_key_and_a_key_registers_once(clean_panels):
    panels._PANELS.clear()
    ctx = lambda request, account: {}  # noqa: E731
    register_account_panel(AccountPanel("b", "B", "b.html", ctx, order=20))
    register_account_panel(AccountPanel("a", "A", "a.html", ctx, order=20))
    register_account_panel(AccountPanel("z", "Z", "z.html", ctx, order=5))
    assert [p.key for p in account_panels()] == ["z", "a", "b"]
    register_account_panel(AccountPanel("z", "Z again", "z2.html", ctx, order=99, roles=("billing",)))
    assert [p.key for p in account_panels()] == ["a", "b", "z"]
    assert account_panels()[-1].title == "Z again" and account_panels()[-1].roles == ("billing",)


def test_a_panel_defaults_to_order_100_and_every_role():
    panel = AccountPanel("k", "K", "k.html", lambda request, account: None)
    assert (panel.order, panel.roles) == (100, ())
    assert panel.context(None, None) is None
