"""Celery tasks of billing. They take ids only and call a service; a chunk is idempotent
(done at most once: see billing.services.runs), so acks-late redelivery after a killed worker is safe."""
from __future__ import annotations

from celery import shared_task
from django.utils import timezone

from billing.services import runs
from core.actors import Actor


@shared_task(name="billing.tasks.bill_run_chunk", acks_late=True)
def bill_run_chunk(*, bill_run_id: int, chunk_number: int, **kwargs) -> str:
    return runs.bill_run_chunk_process(bill_run_id=bill_run_id, chunk_number=chunk_number, now=timezone.now())


def _actor(actor_id: int | None, actor_name: str, reason: str) -> Actor:
    return Actor(actor_id, actor_name or "system", reason or "")


@shared_task(name="billing.tasks.bill_run_approve_chunk", acks_late=True)
def bill_run_approve_chunk(*, bill_run_id: int, chunk_number: int, actor_id: int | None = None,
                           actor_name: str = "system", reason: str = "", **kwargs) -> str:
    """One chunk of a run's approval (its "approved" mark commits with its bills: safe to redeliver)."""
    return runs.bill_run_approve_chunk(bill_run_id=bill_run_id, chunk_number=chunk_number, now=timezone.now(),
                                       actor=_actor(actor_id, actor_name, reason))


@shared_task(name="billing.tasks.bill_run_issue_chunk", acks_late=True)
def bill_run_issue_chunk(*, bill_run_id: int, chunk_number: int, actor_id: int | None = None,
                         actor_name: str = "system", reason: str = "", **kwargs) -> int:
    """One chunk of a run's issue (its "issued" mark commits with its bills and ledger entries:
    a redelivered or resumed task issues nothing twice)."""
    return runs.bill_run_issue_chunk(bill_run_id=bill_run_id, chunk_number=chunk_number, now=timezone.now(),
                                     actor=_actor(actor_id, actor_name, reason))


# ---- Replacement-read notices into rebills (hourly beat) --------------------------------------
from django.conf import settings  # noqa: E402  (appended section: the file's other tasks are edited apart)

from billing.services import rebill  # noqa: E402
from core.clock import utility_zone  # noqa: E402


@shared_task(name="billing.tasks.rebill_replacement_read_notices")
def rebill_replacement_read_notices(**kwargs) -> dict:
    """Cancel and rebill every issued bill MDM's open replacement-read notices touch, as the
    system actor auto-rebill, when settings.UTILIS_AUTO_REBILL_NOTICES is true (off by
    default: staff decide the notices in the Billing Hub). Safe to run twice: a notice is
    decided once (billing.NoticeDecision) and marked picked up in the same transaction."""
    if not settings.UTILIS_AUTO_REBILL_NOTICES:
        return {"enabled": False, "rebilled": 0}
    now = timezone.now()
    today = now.astimezone(utility_zone()).date()  # billing days are the utility's local days
    bills = rebill.bills_rebill_for_notices(bill_date=today, as_of=today, now=now, actor=Actor.system("auto-rebill"))
    return {"enabled": True, "rebilled": len(bills), "bills": [b.pk for b in bills]}


# ---- Bill PDFs: rendered once, in the background, when bills are issued -----------------------
from billing import pdf  # noqa: E402  (appended section)


@shared_task(name="billing.tasks.bill_documents_render", acks_late=True)
def bill_documents_render(*, bill_ids: list[int], **kwargs) -> dict:
    """Render and store the PDFs of a batch of bills (billing.pdf.RENDER_BATCH, queued after the
    issue commits). One bad bill is kept as failed with its error; the rest are rendered.
    Safe to redeliver: a render replaces the stored file."""
    ready = failed = 0
    for bill_id in bill_ids:
        document = pdf.bill_document_render(bill_id=int(bill_id), now=timezone.now())
        if document is None:
            continue
        if document.status == document.Status.READY:
            ready += 1
        else:
            failed += 1
    return {"ready": ready, "failed": failed}


# ---- Collections: the daily run (beat) and its chunks (billing.collections) -------------------
from billing.collections import services as collections  # noqa: E402  (appended section)


@shared_task(name="billing.tasks.collections_run_chunk", acks_late=True)
def collections_run_chunk(*, run_id: int, chunk_number: int, **kwargs) -> str:
    return collections.collections_run_chunk_process(run_id=run_id, chunk_number=chunk_number, now=timezone.now())


@shared_task(name="billing.tasks.collections_run_daily")
def collections_run_daily(**kwargs) -> dict:
    """Start today's collections run (the utility's local date); a second call the same day
    returns the run already started."""
    now = timezone.now()
    run = collections.collections_run_start(run_date=now.astimezone(utility_zone()).date(), now=now)
    return {"run": run.pk, "accounts": run.accounts_total}


# ---- Deposits: the daily review (beat) and its chunks (billing.deposits) ----------------------
from billing.deposits import services as deposits  # noqa: E402  (appended section)


@shared_task(name="billing.tasks.deposit_review_chunk", acks_late=True)
def deposit_review_chunk(*, run_id: int, chunk_number: int, **kwargs) -> str:
    return deposits.deposit_review_chunk_process(run_id=run_id, chunk_number=chunk_number, now=timezone.now())


@shared_task(name="billing.tasks.deposit_review_daily")
def deposit_review_daily(**kwargs) -> dict:
    """Start today's deposit review (the utility's local date); a second call the same day
    returns the review already started."""
    now = timezone.now()
    run = deposits.deposit_review_start(run_date=now.astimezone(utility_zone()).date(), now=now)
    return {"run": run.pk, "accounts": run.accounts_total}
