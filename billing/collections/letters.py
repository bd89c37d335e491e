"""Notice letters (issue 10): every notice step (reminder, final notice, disconnection notice)
is a printed letter as well as an email. The letter says what the email says (the same
NOTICE_TEXT), with the customer's mailing address, the overdue amount and a remittance stub
with the bill's scan line, printed with WeasyPrint as the bills are (billing.pdf).

- `letters_request`: the hook in `notices_send_pending` (the run asks for the letters of the
  notices it recorded, and the next run's start for any it missed): marks one `NoticeLetter`
  per notice action pending and queues the render tasks after commit (LETTER_BATCH a task);
- `notice_letters_render` (Celery, billing queue): render and store each (MEDIA_ROOT/letters/);
- `letter_pdf_response`: the stored letter, or a "being prepared" page that queues it;
- `letter_print_start` / `notice_letters_print` (Celery, billing queue): all letters of a run
  date in one PDF for the mail room, with progress (letters rendered of total) on core.runs.
"""
from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from celery import shared_task
from django.conf import settings
from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.http import FileResponse, HttpResponse
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from billing.collections.models import NOTICE_KINDS, CollectionAction, StepKind
from billing.collections.output_models import LetterPrint, NoticeLetter
from billing.collections.services import NOTICE_TEXT  # services imports this module inside its hook
from billing.payments.scanline import scan_line
from billing.pdf import _account_facts as account_print_facts
from core.actors import Actor
from core.runs import run_progress

log = logging.getLogger(__name__)
LETTER_BATCH = 50
PRINT_PROGRESS_EVERY = 10
PENDING_STALE = dt.timedelta(minutes=10)


class LetterError(Exception):
    """A letter request that cannot be done (said to staff)."""


@dataclass(frozen=True)
class LetterView:
    """Everything a letter prints, loaded once."""

    action: CollectionAction
    utility_name: str
    title: str
    body: str
    account_number: str
    customer_name: str
    mailing_lines: list[str]
    service_address: str
    scan_line: str


def letter_text(action: CollectionAction) -> tuple[str, str]:
    """(title, body) of the notice: the words of the email (collections services' NOTICE_TEXT)."""
    title, body = NOTICE_TEXT[action.kind]
    disconnect_from = action.detail.rsplit(" ", 1)[-1] if action.kind == StepKind.DISCONNECT_NOTICE else ""
    return title, body.format(number=action.account.account_number, amount=action.overdue_amount,
                              due=action.case.oldest_due_date, date=disconnect_from)


def letter_view(action: CollectionAction) -> LetterView:
    number, name, mailing, service_address = account_print_facts(action.account_id)
    title, body = letter_text(action)
    try:
        line = scan_line(account_number=number, amount_due=action.overdue_amount)
    except ValueError:  # an account number too long for a scan line: the stub names the account only
        line = ""
    return LetterView(action=action, utility_name=settings.UTILIS_UTILITY_NAME, title=title, body=body,
                      account_number=number, customer_name=name, mailing_lines=mailing,
                      service_address=service_address, scan_line=line)


def render_letter_html(action: CollectionAction) -> str:
    return render_to_string("billing/collections/letter.html", {"letter": letter_view(action)})


def _html_document(html: str):
    from weasyprint import HTML  # heavy: loaded by the render tasks only

    return HTML(string=html, base_url=str(settings.BASE_DIR))


def render_letter_pdf(action: CollectionAction) -> bytes:
    return _html_document(render_letter_html(action)).write_pdf()


# --- stored letters ------------------------------------------------------------------------

def _queue(action_ids: Sequence[int]) -> None:
    for start in range(0, len(action_ids), LETTER_BATCH):
        batch = list(action_ids[start:start + LETTER_BATCH])
        try:
            notice_letters_render.delay(action_ids=batch)
        except Exception:  # noqa: BLE001 - a broker outage: the letters stay pending, queued again on view or print
            log.exception("could not queue the notice letters %s..%s", batch[0], batch[-1])
            return


def letters_request(*, action_ids: Iterable[int] | None = None, now: dt.datetime) -> list[int]:
    """Mark the letters of notice actions that have none pending (all such actions, or those
    of `action_ids`) and queue their render after commit. Never raises: a letter not asked
    for now is asked for by the next run's start (notices_send_pending without ids)."""
    try:
        query = CollectionAction.objects.filter(kind__in=NOTICE_KINDS, letter__isnull=True)
        if action_ids is not None:
            query = query.filter(pk__in=list(action_ids))
        with transaction.atomic():
            pairs = list(query.values_list("pk", "account_id"))
            NoticeLetter.objects.bulk_create(
                [NoticeLetter(action_id=pk, account_id=account_id, requested_at=now) for pk, account_id in pairs],
                ignore_conflicts=True)
            ids = sorted(pk for pk, _ in pairs)
            if ids:
                transaction.on_commit(lambda: _queue(ids))
        return ids
    except Exception:  # noqa: BLE001 - the emails go out whatever happens to their letters
        log.exception("notice letters not requested")
        return []


def _storage_name(action: CollectionAction) -> str:
    return f"{action.action_date:%Y/%m}/{action.kind.replace('_', '-')}-{action.account.account_number}-{action.pk}.pdf"


def letter_render(*, action_id: int, now: dt.datetime | None = None) -> NoticeLetter | None:
    """Render one notice's letter and store it; a failure is kept on the letter with its
    error. Returns None for an action that is not a notice. Safe to do again."""
    action = (CollectionAction.objects.filter(pk=action_id, kind__in=NOTICE_KINDS)
              .select_related("account", "case").first())
    if action is None:
        return None
    now = now or timezone.now()
    letter, _ = NoticeLetter.objects.get_or_create(action=action, defaults={"account_id": action.account_id,
                                                                            "requested_at": now})
    try:
        content = render_letter_pdf(action)
    except Exception as exc:  # noqa: BLE001 - kept on the letter for staff; asked again on view or print
        log.exception("notice letter of action %s not rendered", action_id)
        letter.status, letter.error = NoticeLetter.Status.FAILED, f"{type(exc).__name__}: {exc}"[:2000]
        letter.save(update_fields=["status", "error"])
        return letter
    old_name = letter.file.name
    letter.file.save(_storage_name(action), ContentFile(content), save=False)
    letter.status, letter.error, letter.rendered_at = NoticeLetter.Status.READY, "", timezone.now()
    letter.save(update_fields=["file", "status", "error", "rendered_at"])
    if old_name and old_name != letter.file.name:
        letter.file.storage.delete(old_name)
    return letter


@shared_task(name="billing.collections.letters.notice_letters_render", acks_late=True)
def notice_letters_render(*, action_ids: list[int], **kwargs) -> dict:
    ready = failed = 0
    for action_id in action_ids:
        letter = letter_render(action_id=int(action_id))
        if letter is None:
            continue
        ready += letter.status == NoticeLetter.Status.READY
        failed += letter.status == NoticeLetter.Status.FAILED
    return {"ready": ready, "failed": failed}


def letter_of(action: CollectionAction) -> NoticeLetter | None:
    return NoticeLetter.objects.filter(action=action).first()


def _filename(action: CollectionAction) -> str:
    return f"{action.kind.replace('_', '-')}-{action.account.account_number}-{action.action_date}.pdf"


def letter_pdf_response(request, action: CollectionAction) -> HttpResponse | FileResponse:
    """The stored letter; without one, a "being prepared" page (HTTP 202, refreshing) and its
    render queued unless one was asked for in the last minutes. Never renders in the request."""
    letter = letter_of(action)
    if (letter is not None and letter.status == NoticeLetter.Status.READY and letter.file.name
            and letter.file.storage.exists(letter.file.name)):
        return FileResponse(letter.file.open("rb"), content_type="application/pdf", filename=_filename(action))
    now = timezone.now()
    if letter is None or now - letter.requested_at >= PENDING_STALE or letter.status == NoticeLetter.Status.READY:
        with transaction.atomic():
            NoticeLetter.objects.update_or_create(action=action, defaults={
                "account_id": action.account_id, "status": NoticeLetter.Status.PENDING, "requested_at": now})
            transaction.on_commit(lambda: _queue([action.pk]))
        letter = letter_of(action)
    html = render_to_string("billing/collections/letter_preparing.html",
                            {"action": action, "letter": letter, "refresh": 5}, request=request)
    response = HttpResponse(html, status=202)
    response["Retry-After"] = "5"
    response["Cache-Control"] = "no-store"
    return response


# --- the bulk print of a run date ----------------------------------------------------------

def print_actions(run_date: dt.date):
    """The notices taken on `run_date`, in the mail room's order (postal code, then account)."""
    return (CollectionAction.objects.filter(kind__in=NOTICE_KINDS, action_date=run_date)
            .select_related("account", "case", "account__customer")
            .order_by("account__customer__mailing_postal_code", "account__account_number", "id"))


def letter_print_start(*, run_date: dt.date, actor: Actor, now: dt.datetime, enqueue: bool = True) -> LetterPrint:
    """Print every notice letter of `run_date` in one PDF, in the background; the print of the
    date already being made is returned instead of a second. Raises LetterError (no notice
    was taken on that date)."""
    total = print_actions(run_date).count()
    if not total:
        raise LetterError(f"No notice was taken on {run_date}: there is nothing to print.")
    try:
        with transaction.atomic(), actor.with_reason(actor.reason or f"Print the notice letters of {run_date}").audit(
                "notice_letters_print"):
            job = LetterPrint.objects.create(run_date=run_date, status=LetterPrint.Status.QUEUED, progress_total=total,
                                             started_by_id=actor.user_id, created_at=now,
                                             idempotency_key=f"letters:{run_date.isoformat()}")
            if enqueue:
                transaction.on_commit(lambda: notice_letters_print.delay(print_id=job.pk))
    except IntegrityError:
        return LetterPrint.objects.get(run_date=run_date, status__in=[LetterPrint.Status.QUEUED, LetterPrint.Status.RUNNING])
    return job


def letter_print_make(*, print_id: int) -> LetterPrint:
    """Render the date's letters into one PDF (one document of all their pages) and store it,
    saving the progress every PRINT_PROGRESS_EVERY letters. A print that is done is left as it is."""
    job = LetterPrint.objects.get(pk=print_id)
    if job.status not in (LetterPrint.Status.QUEUED, LetterPrint.Status.RUNNING):
        return job
    now = timezone.now()
    LetterPrint.objects.filter(pk=job.pk).update(status=LetterPrint.Status.RUNNING, started_at=now, progress_at=now,
                                                 progress_done=0)
    try:
        documents = []
        actions = list(print_actions(job.run_date))
        LetterPrint.objects.filter(pk=job.pk).update(progress_total=len(actions))
        for n, action in enumerate(actions, start=1):
            documents.append(_html_document(render_letter_html(action)).render())
            if n % PRINT_PROGRESS_EVERY == 0 or n == len(actions):
                LetterPrint.objects.filter(pk=job.pk).update(progress_done=n, progress_at=timezone.now())
        pages = [page for document in documents for page in document.pages]
        content = documents[0].copy(pages).write_pdf() if documents else b""
        job.refresh_from_db()
        job.file.save(f"letters-{job.run_date}-{job.pk}.pdf", ContentFile(content), save=False)
        job.letters, job.status, job.finished_at = len(actions), LetterPrint.Status.DONE, timezone.now()
        job.save(update_fields=["file", "letters", "status", "finished_at"])
    except Exception as exc:  # noqa: BLE001 - kept on the print for staff, who start it again
        log.exception("letter print %s failed", print_id)
        LetterPrint.objects.filter(pk=job.pk).update(status=LetterPrint.Status.FAILED, finished_at=timezone.now(),
                                                     error=f"{type(exc).__name__}: {exc}"[:2000])
        job.refresh_from_db()
    return job


@shared_task(name="billing.collections.letters.notice_letters_print", acks_late=True)
def notice_letters_print(*, print_id: int, **kwargs) -> dict:
    job = letter_print_make(print_id=int(print_id))
    return {"print_id": job.pk, "status": job.status, "letters": job.letters}


def letter_print_progress(job: LetterPrint) -> dict:
    done = job.status == LetterPrint.Status.DONE and bool(job.file.name)
    return run_progress(job, chunks=False, letters=job.letters,
                        url=reverse("billing:letter-print-pdf", args=[job.pk]) if done else "")


def recent_prints(limit: int = 5) -> list[LetterPrint]:
    return list(LetterPrint.objects.all()[:limit])
