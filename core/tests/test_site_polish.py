"""What a new user sees at the edges: the browser's icon, and an admin that says whose it is and
names its tables in good English."""
import pytest
from django.contrib.auth import get_user_model

pytestmark = pytest.mark.django_db


def test_favicon_is_not_a_404(client):
    response = client.get("/favicon.ico")
    assert response.status_code == 301 and response["Location"].endswith("img/favicon.svg")


def test_admin_says_utilis_and_plurals_read_right(client):
    client.force_login(get_user_model().objects.create_superuser("root", "root@example.com", "pw-root-123456"))
    page = client.get("/admin/").content.decode()
    assert "Utilis administration" in page and "Django administration" not in page
    assert "Ledger entries" in page and "Ledger entrys" not in page
    assert "Billed-through dates" in page and "Billed throughs" not in page
