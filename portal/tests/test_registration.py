"""Registration the way utilities do it, with mail through a real local SMTP server."""
from __future__ import annotations

import datetime as dt
import re

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse
from django.utils import timezone

from core.roles import Role, has_role
from portal import services
from portal.models import AccountLink, LinkAttempt
from portal.scoping import SESSION_IDLE_SECONDS
from portal.tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "a-new-portal-pass-42"


def _step1(client, account, name, email="new@example.test"):
    return client.post(reverse("portal:register"), {
        "account_number": account.account_number, "name": name, "email": email,
        "password1": NEW_PASSWORD, "password2": NEW_PASSWORD,
    })


@pytest.fixture
def answer(client, django_capture_on_commit_callbacks):
    """Post the identity answer; the link mail goes out when the request's transaction commits."""
    def post(proof, value):
        with django_capture_on_commit_callbacks(execute=True):
            return client.post(reverse("portal:register-proof"), {"proof": proof, "answer": value})
    return post


def test_registers_with_postal_code_and_sees_nothing_until_the_emailed_link_is_followed(client, answer, alice, smtp):
    assert _step1(client, alice.account, "tremblay").status_code == 302
    response = answer("postal_code", "m4c1b5")
    assert response.status_code == 200
    assert b"Check your email" in response.content
    assert not get_user_model().objects.filter(username="new@example.test").exists()
    assert client.get(reverse("portal:account", args=[alice.account.account_number])).status_code == 302

    message = smtp.messages[-1]
    assert message["To"] == "new@example.test"
    link = smtp.last_link()
    path = re.sub(r"^https?://[^/]+", "", link)
    assert client.get(path).status_code == 200  # a confirm button: a mail scanner's GET links nothing
    assert not AccountLink.objects.exists()
    response = client.post(path)
    assert response.status_code == 302
    user = get_user_model().objects.get(username="new@example.test")
    assert has_role(user, Role.CUSTOMER) and user.check_password(NEW_PASSWORD)
    assert list(AccountLink.objects.filter(user=user).values_list("account_id", flat=True)) == [alice.account.pk]
    page = client.get(response["Location"])
    assert page.status_code == 200 and alice.account.account_number.encode() in page.content
    assert client.session.get_expiry_age() == SESSION_IDLE_SECONDS
    # The link works once.
    assert client.post(path).status_code == 404


def test_amount_of_one_of_the_last_two_bills_proves_it_too(client, answer, alice, smtp):
    _step1(client, alice.account, "Tremblay")
    assert b"Check your email" in answer("bill_amount", "$45.67").content
    assert len(smtp.messages) == 1


def test_wrong_answer_says_so_clearly_and_locks_after_five_tries(client, answer, alice, smtp):
    _step1(client, alice.account, "Tremblay")
    for left in (4, 3, 2, 1):
        response = answer("postal_code", "H0H 0H0")
        assert response.status_code == 400
        assert b"do not match our records" in response.content
        assert f"{left} tr".encode() in response.content
    response = answer("postal_code", "H0H 0H0")
    assert response.status_code == 429
    attempt = LinkAttempt.objects.get(account_number=alice.account.account_number, email="new@example.test")
    assert attempt.failures == 5 and attempt.locked_until > timezone.now()
    # Locked: even the right answer is refused, and no mail goes out.
    assert answer("postal_code", alice.postal_code).status_code == 429
    assert smtp.messages == []


def test_a_lock_is_per_account_and_email_and_runs_out(alice, bob):
    now = timezone.now()
    for _ in range(services.FAILURE_LIMIT - 1):
        with pytest.raises(services.LinkProofError):
            services.link_proof_check(account_number=alice.account.account_number, name="Tremblay",
                                      email="x@example.test", proof="postal_code", answer="nope", now=now)
    with pytest.raises(services.LinkLockedError):
        services.link_proof_check(account_number=alice.account.account_number, name="Tremblay",
                                  email="x@example.test", proof="postal_code", answer="nope", now=now)
    # Another email for the same account is not locked; the same pair is, until the lock ends.
    assert services.link_proof_check(account_number=alice.account.account_number, name="Tremblay",
                                     email="y@example.test", proof="postal_code", answer="M4C 1B5", now=now)
    with pytest.raises(services.LinkLockedError):
        services.link_proof_check(account_number=alice.account.account_number, name="Tremblay",
                                  email="x@example.test", proof="postal_code", answer="M4C 1B5", now=now)
    later = now + services.LOCK_FOR + dt.timedelta(seconds=1)
    assert services.link_proof_check(account_number=alice.account.account_number, name="Tremblay",
                                     email="x@example.test", proof="postal_code", answer="M4C 1B5", now=later)


def test_wrong_name_or_an_unknown_account_gets_the_same_message(alice):
    now = timezone.now()
    for number, name in ((alice.account.account_number, "Smith"), ("0000000000", "Tremblay")):
        with pytest.raises(services.LinkProofError) as exc:
            services.link_proof_check(account_number=number, name=name, email="z@example.test",
                                      proof="postal_code", answer="M4C 1B5", now=now)
        assert str(exc.value).startswith("These details do not match our records.")


def test_a_bill_older_than_the_last_two_does_not_prove_it(alice):
    with pytest.raises(services.LinkProofError):
        services.link_proof_check(account_number=alice.account.account_number, name="Tremblay",
                                  email="z@example.test", proof="bill_amount", answer="99.99", now=timezone.now())


def test_one_login_links_a_second_account(client, answer, alice, bob, portal_user, smtp):
    user = portal_user(alice)
    client.force_login(user)
    response = client.post(reverse("portal:register"), {"account_number": bob.account.account_number, "name": "NGUYEN"})
    assert response.status_code == 302
    assert b"Check your email" in answer("postal_code", "K1A0B1").content
    assert smtp.messages[-1]["To"] == user.email
    client.post(re.sub(r"^https?://[^/]+", "", smtp.last_link()))
    assert set(AccountLink.objects.filter(user=user).values_list("account_id", flat=True)) == {
        alice.account.pk, bob.account.pk}
    home = client.get(reverse("portal:home"))
    assert alice.account.account_number.encode() in home.content and bob.account.account_number.encode() in home.content


def test_registering_an_email_that_has_a_login_asks_to_sign_in(client, alice, portal_user):
    portal_user(alice, username="taken@example.test")
    response = _step1(client, alice.account, "Tremblay", email="TAKEN@example.test")
    assert response.status_code == 200 and b"already has a login" in response.content


def test_password_reset_by_email(client, alice, portal_user, smtp):
    portal_user(alice)
    client.post(reverse("portal:password-reset"), {"email": "alice@example.test"})
    link = re.sub(r"^https?://[^/]+", "", smtp.last_link())
    page = client.get(link, follow=True)
    form_url = page.redirect_chain[-1][0] if page.redirect_chain else link
    client.post(form_url, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})
    assert get_user_model().objects.get(username="alice@example.test").check_password(NEW_PASSWORD)


def test_sign_in_throttled_by_axes_and_customers_land_on_the_portal(client, alice, portal_user, settings):
    portal_user(alice)
    response = client.post(reverse("portal:login"), {"username": "alice@example.test", "password": PASSWORD})
    assert response.status_code == 302 and response["Location"] == reverse("portal:home")
    assert client.session.get_expiry_age() == SESSION_IDLE_SECONDS
    assert client.get("/")["Location"] == reverse("portal:home")
    client.logout()
    for _ in range(settings.AXES_FAILURE_LIMIT):
        client.post(reverse("portal:login"), {"username": "alice@example.test", "password": "wrong"})
    locked = client.post(reverse("portal:login"), {"username": "alice@example.test", "password": PASSWORD})
    assert locked.status_code == 429


def test_staff_logins_do_not_see_the_portal(client, csr):
    client.force_login(csr)
    assert client.get(reverse("portal:home")).status_code == 404


def test_names_match_whatever_the_case_accents_and_punctuation(alice):
    alice.customer.last_name = "Bélanger-Côté"
    alice.customer.save()
    assert services.link_proof_check(account_number=alice.account.account_number, name="  belanger cote ",
                                     email="n@example.test", proof="postal_code", answer="M4C-1B5",
                                     now=timezone.now()) == alice.account


def test_a_link_that_adds_an_account_does_not_sign_anyone_in(client, answer, alice, bob, portal_user, smtp):
    user = portal_user(alice)
    client.force_login(user)
    client.post(reverse("portal:register"), {"account_number": bob.account.account_number, "name": "Nguyen"})
    answer("postal_code", "K1A 0B1")
    client.logout()
    response = client.post(re.sub(r"^https?://[^/]+", "", smtp.last_link()))
    assert response.status_code == 302 and response["Location"].startswith(reverse("portal:login"))
    assert "_auth_user_id" not in client.session
    assert AccountLink.objects.filter(user=user, account=bob.account).exists()


def test_signing_out_between_the_steps_starts_again(client, alice, portal_user):
    client.force_login(portal_user(alice))
    client.post(reverse("portal:register"), {"account_number": alice.account.account_number, "name": "Tremblay"})
    client.logout()
    response = client.post(reverse("portal:register-proof"), {"proof": "postal_code", "answer": "M4C 1B5"})
    assert response.status_code == 302 and response["Location"] == reverse("portal:register")


def test_a_staff_login_on_the_portal_page_goes_to_its_own_start_page(client, csr):
    response = client.post(reverse("portal:login"), {"username": "csr1", "password": "utilis-test-pass-1"})
    assert response.status_code == 302 and response["Location"] == "/"


def test_the_portal_does_not_reset_staff_passwords(client, make_user, smtp):
    make_user("staffer", Role.CSR, email="staffer@example.test")
    response = client.post(reverse("portal:password-reset"), {"email": "staffer@example.test"})
    assert response.status_code == 302  # the same answer as for any email
    assert smtp.messages == []
