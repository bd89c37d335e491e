"""The Meter Hub worklist's `next=` goes back to a page of this site only (no open redirect)."""
from __future__ import annotations

import pytest

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/x", "https:/\\evil.example", " https://evil.example/"])
def test_worklist_action_never_redirects_off_site(client, metering_user, target):
    client.force_login(metering_user)
    response = client.post("/meters/worklist/999999/dismiss/", {"reason": "x", "next": target})
    assert (response.status_code, response["Location"]) == (302, "/meters/worklist/")


def test_worklist_action_goes_back_to_the_page_it_came_from(client, metering_user):
    client.force_login(metering_user)
    response = client.post("/meters/worklist/999999/dismiss/", {"reason": "x", "next": "/meters/worklist/?status=open&page=2"})
    assert (response.status_code, response["Location"]) == (302, "/meters/worklist/?status=open&page=2")
