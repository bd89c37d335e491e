"""Inviting another person to an account with view-only or pay access, through a real SMTP
server: the invited person's login, what each access may do, and taking it away again."""
from __future__ import annotations

import pytest
from django.urls import reverse

from portal.models import AccountInvite, AccountLink
from portal.scoping import may_pay
from portal.tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db


@pytest.fixture
def invite(client, django_capture_on_commit_callbacks):
    """Post an invitation; its mail goes out when the request's transaction commits."""
    def post(account_number: str, email: str, access: str):
        with django_capture_on_commit_callbacks(execute=True):
            return client.post(reverse("portal:people", args=[account_number]), {"email": email, "access": access})
    return post


def test_a_view_only_guest_gets_a_login_from_the_mail_and_may_only_look(client, smtp, alice, portal_user, invite):
    number = alice.account.account_number
    client.force_login(portal_user(alice))
    assert invite(number, "Carol@Example.test", "view").status_code == 302
    sent = AccountInvite.objects.get()
    assert sent.email == "carol@example.test" and len(sent.token_hash) == 64
    link_url = smtp.last_link(r"https?://\S+/portal/invite/\S+/")
    assert smtp.messages[-1]["To"] == "carol@example.test"
    assert f"account {number}" in smtp.messages[-1].get_body().get_content()

    client.logout()
    path = link_url.split("testserver", 1)[-1]
    assert client.get(path).status_code == 200  # a mail scanner's GET accepts nothing
    assert not AccountLink.objects.filter(user__username="carol@example.test").exists()
    mismatch = client.post(path, {"password1": PASSWORD, "password2": PASSWORD + "x"})
    assert mismatch.status_code == 400 and b"The two passwords differ." in mismatch.content
    accepted = client.post(path, {"password1": PASSWORD, "password2": PASSWORD})
    assert accepted.status_code == 302 and accepted["Location"] == reverse("portal:account", args=[number])
    carol = AccountLink.objects.get(user__username="carol@example.test")
    assert (carol.access, carol.proof, carol.invited_by.username) == ("view", "invite", "alice@example.test")
    assert not may_pay(carol.user, alice.account)

    assert client.get(reverse("portal:bills", args=[number])).status_code == 200
    pay = reverse("portal:pay", args=[number])
    page = client.get(pay)  # the balance, but no card form
    assert page.status_code == 200 and b"not pay for it" in page.content and b'name="card_number"' not in page.content
    assert client.post(pay, {"amount": "10.00", "card_number": "4242424242424242", "exp_month": "12",
                             "exp_year": "2030", "cvc": "123", "attempt": "x"}).status_code == 403
    assert invite(number, "dave@example.test", "view").status_code == 403
    moves = reverse("portal:moves", args=[number])
    assert b"Only the account holder can ask to move service." in client.get(moves).content
    assert client.post(moves, {"kind": "move_in"}).status_code == 403
    assert client.get(path).status_code == 404  # the link worked once


def test_an_existing_login_accepts_pay_access_and_the_holder_removes_it(client, smtp, alice, bob, portal_user, invite):
    number = alice.account.account_number
    holder = portal_user(alice)
    bob_user = portal_user(bob, "bob@example.test")
    client.force_login(holder)
    assert invite(number, "bob@example.test", "pay").status_code == 302
    path = smtp.last_link(r"https?://\S+/portal/invite/\S+/").split("testserver", 1)[-1]

    client.logout()
    signed_out = client.get(path)
    assert b"has a login already" in signed_out.content  # no second login for one email
    client.force_login(bob_user)
    assert client.post(path).status_code == 302
    bobs = AccountLink.objects.get(user=bob_user, account=alice.account)
    assert bobs.access == "pay" and may_pay(bob_user, alice.account)

    client.force_login(holder)
    people = client.get(reverse("portal:people", args=[number])).content.decode()
    assert "bob@example.test" in people and "Invited: see and pay" in people
    remove = reverse("portal:person-remove", args=[number, bobs.pk])
    assert client.post(remove).status_code == 302
    client.force_login(bob_user)
    assert client.get(reverse("portal:account", args=[number])).status_code == 404
    assert client.get(reverse("portal:account", args=[bob.account.account_number])).status_code == 200


def test_bad_invitations_are_refused_with_a_reason(client, smtp, alice, portal_user, invite):
    number = alice.account.account_number
    client.force_login(portal_user(alice))
    own = invite(number, "alice@example.test", "view")
    assert own.status_code == 400 and b"That is your own email." in own.content
    assert invite(number, "x@example.test", "full").status_code == 400  # not a choice
    assert invite(number, "x@example.test", "view").status_code == 302
    # The holder cannot be removed (only invited people), and an invited link cannot be "full".
    holder_link = AccountLink.objects.get(user__username="alice@example.test")
    assert client.post(reverse("portal:person-remove", args=[number, holder_link.pk])).status_code == 404
    assert AccountInvite.objects.count() == 1 and len(smtp.messages) == 1
