"""Notice letters (billing/collections/letters.py): every notice step is a letter PDF as well as
an email, asked for by the run's notice hook, rendered in the background, served from the
account's collections panel and the hub, and printed in bulk for a run date with progress."""
from __future__ import annotations

import datetime as dt
import re
import zlib

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from billing.collections import letters
from billing.collections.models import CollectionAction
from billing.collections.output_models import LetterPrint, NoticeLetter
from billing.payments.tests.helpers import issued_bill
from billing.services import collections_preset_load, collections_run_inline
from cis.tests.factories import AccountFactory, ServiceAgreementFactory
from core.actors import Actor

pytestmark = pytest.mark.django_db
BILL_DATE = dt.date(2026, 5, 1)
DUE = BILL_DATE + dt.timedelta(days=21)
REMINDER_DAY = DUE + dt.timedelta(days=5)


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


def delinquent(*, email: str, total: str = "300.00", postal: str = "K1A 0B1"):
    account = AccountFactory(customer__email=email, customer__kind="person", customer__mailing_postal_code=postal,
                             customer__mailing_address_line1="12 Elm Street", customer__mailing_city="Ottawa")
    ServiceAgreementFactory(account=account)
    issued_bill(account_id=account.pk, total=total, bill_date=BILL_DATE)
    return account


def run(day: dt.date):
    return collections_run_inline(run_date=day, now=timezone.make_aware(dt.datetime.combine(day, dt.time(10))))


@pytest.fixture
def reminded():
    collections_preset_load()
    with_email = delinquent(email="pat@example.org", postal="K2B 1A1")
    without = delinquent(email="", total="150.00", postal="K1A 0B1")
    run(REMINDER_DAY)
    return with_email, without


def page_texts(html: str) -> list[str]:
    from weasyprint import HTML
    from weasyprint.formatting_structure import boxes

    def texts(box):
        if isinstance(box, boxes.TextBox):
            yield box.text
        for child in getattr(box, "children", []):
            yield from texts(child)

    return [" ".join(texts(page._page_box)) for page in HTML(string=html).render().pages]


def pdf_pages(content: bytes) -> int:
    """Page objects in a PDF whose objects WeasyPrint compressed into object streams."""
    found = len(re.findall(rb"/Type\s*/Page\b", content))
    for stream in re.findall(rb"stream\r?\n(.*?)\r?\nendstream", content, re.S):
        try:
            found += len(re.findall(rb"/Type\s*/Page\b", zlib.decompress(stream)))
        except zlib.error:
            continue
    return found


def test_each_notice_gets_a_letter_besides_the_email_even_without_an_email_address(reminded):
    with_email, without = reminded
    actions = {a.account_id: a for a in CollectionAction.objects.filter(kind="reminder")}
    assert set(actions) == {with_email.pk, without.pk}
    assert len(mail.outbox) == 1  # the email goes to the account that has an address
    assert NoticeLetter.objects.filter(status="pending").count() == 2
    # Asking again (the next run's start asks for every notice without a letter) adds nothing.
    assert letters.letters_request(now=timezone.now()) == []


def test_a_letter_says_what_the_email_says_with_the_mailing_address_and_scan_line(reminded, media):
    with_email, _ = reminded
    action = CollectionAction.objects.get(account_id=with_email.pk)
    [text] = page_texts(letters.render_letter_html(action))
    assert "Payment reminder" in text and "12 Elm Street" in text and "Ottawa" in text
    assert f"Your account {with_email.account_number} has 300.00 overdue since {DUE}" in text
    assert re.search(r"\d{10} \d{10} \d", text)  # the stub's scan line
    letter = letters.letter_render(action_id=action.pk)
    assert letter.status == "ready" and letter.file.name.endswith(".pdf")
    assert (media / letter.file.name).read_bytes().startswith(b"%PDF")


def test_the_panel_links_each_notice_letter_and_the_pdf_is_served_once_ready(reminded, media, client, billing_user, csr):
    with_email, _ = reminded
    action = CollectionAction.objects.get(account_id=with_email.pk)
    client.force_login(csr)
    html = client.get(reverse("cis:account", args=[with_email.account_number])).content.decode()
    assert f'data-testid="letter-{action.pk}"' in html
    url = reverse("billing:collections-letter", args=[action.pk])
    pending = client.get(url)
    assert pending.status_code == 202 and "being prepared" in pending.content.decode()
    letters.letter_render(action_id=action.pk)
    ready = client.get(url)
    assert ready.status_code == 200 and ready["Content-Type"] == "application/pdf"
    assert b"".join(ready.streaming_content).startswith(b"%PDF")
    client.force_login(billing_user)
    hub = client.get(reverse("billing:collections-letters")).content.decode()
    assert url in hub and with_email.account_number in hub


def test_the_letters_of_a_run_date_print_in_one_pdf_with_progress(reminded, media, client, billing_user):
    with pytest.raises(letters.LetterError, match="nothing to print"):
        letters.letter_print_start(run_date=REMINDER_DAY - dt.timedelta(days=1), actor=Actor.system("t"),
                                   now=timezone.now(), enqueue=False)
    job = letters.letter_print_start(run_date=REMINDER_DAY, actor=Actor.system("t"), now=timezone.now(), enqueue=False)
    assert (job.status, job.progress_total) == ("queued", 2)
    # The date's print being made is the one a second request gets.
    assert letters.letter_print_start(run_date=REMINDER_DAY, actor=Actor.system("t"), now=timezone.now(),
                                      enqueue=False).pk == job.pk
    job = letters.letter_print_make(print_id=job.pk)
    assert (job.status, job.letters, job.progress_done, job.progress_total) == ("done", 2, 2, 2)
    content = (media / job.file.name).read_bytes()
    assert content.startswith(b"%PDF") and pdf_pages(content) == 2
    client.force_login(billing_user)
    progress = client.get(reverse("billing:letter-print-progress", args=[job.pk])).json()
    assert (progress["status"], progress["done"], progress["total"], progress["letters"]) == ("done", 2, 2, 2)
    assert progress["url"] == reverse("billing:letter-print-pdf", args=[job.pk])
    pdf = client.get(progress["url"])
    assert pdf.status_code == 200 and b"".join(pdf.streaming_content) == content
    # Posting from the hub starts a new print of the date (the first is done) and queues it.
    response = client.post(reverse("billing:letter-print-start"), {"run_date": REMINDER_DAY.isoformat()}, follow=True)
    assert "Printing the 2 notice letters" in response.content.decode()
    assert LetterPrint.objects.filter(run_date=REMINDER_DAY).count() == 2
    bad = client.post(reverse("billing:letter-print-start"), {"run_date": "2026-13-40"}, follow=True)
    assert "Not printed: run_date" in bad.content.decode()
