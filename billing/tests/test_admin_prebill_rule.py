"""Staff editing a pre-bill rule in admin get its params checked by the rule's registry entry
when they save, not first at the next bill run; the rule's history shows on its page."""
import pytest
from django.contrib.auth import get_user_model

from billing.models import PreBillRule

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client):
    client.force_login(get_user_model().objects.create_superuser("root", "root@example.com", "pw-root-123"))
    return client


def test_bad_params_are_refused_with_the_rules_message(admin_client):
    response = admin_client.post("/admin/billing/prebillrule/add/",
                                 {"kind": "high_low_last_bill", "active": "on", "params": '{"hihg_percent": 150}'})
    assert response.status_code == 200
    assert not PreBillRule.objects.filter(kind="high_low_last_bill").exists()
    assert b"hihg_percent" in response.content


def test_good_params_are_saved_and_the_change_is_in_the_rules_history(admin_client):
    response = admin_client.post("/admin/billing/prebillrule/add/",
                                 {"kind": "zero_consumption", "active": "on", "params": "{}"})
    assert response.status_code == 302
    rule = PreBillRule.objects.get(kind="zero_consumption")
    page = admin_client.get(f"/admin/billing/prebillrule/{rule.pk}/change/")
    assert b"Audit history" in page.content and b"root" in page.content
