"""Deposits in the demo utility: the preset deposit classes and interest rates, and a few
accounts with a deposit in each state the Deposit Hub lists (required, billed, held, waived),
then today's deposit review for its recommendations. Everything goes through billing's
services, as staff would do it; the same seed picks the same accounts."""
from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable

from billing.services import (
    DepositError,
    deposit_bill_next,
    deposit_presets_load,
    deposit_require,
    deposit_review_inline,
    payment_post,
)
from cis.selectors import account_ids_opened_between, accounts_by_ids
from core.actors import Actor

DEMO_DEPOSITS = 8
ACTOR = Actor.system("seed_demo", "Demo deposits")


def demo_deposits_seed(*, today: dt.date, seed: int, now: dt.datetime, log: Callable[[str], None] = lambda line: None) -> dict[str, int]:
    """Load the presets and give DEMO_DEPOSITS accounts a deposit: the first two only required,
    the next two with their instalments billed, two billed and paid (held), two waived. Returns
    how many of each."""
    deposit_presets_load(actor=ACTOR)
    recent = account_ids_opened_between(start=today - dt.timedelta(days=365), end=today)
    pool = recent if len(recent) >= DEMO_DEPOSITS else account_ids_opened_between(start=dt.date(1900, 1, 1), end=today)
    chosen = sorted(random.Random(seed).sample(pool, min(DEMO_DEPOSITS, len(pool))))
    counts = {"required": 0, "billed": 0, "held": 0, "waived": 0}
    for index, account in enumerate(accounts_by_ids(account_ids=chosen)):
        state = ("required", "billed", "held", "waived")[index // 2 % 4]
        try:
            if state == "waived":
                deposit_require(account=account, as_of=today, actor=ACTOR, reason="Demo: reference letter checked",
                                trigger="new_customer", trigger_key="new_customer", waiver="reference_letter",
                                waiver_reference="Letter from the customer's previous utility")
                counts[state] += 1
                continue
            deposit = deposit_require(account=account, as_of=today, actor=ACTOR, reason="Demo: new customer",
                                      trigger="new_customer", trigger_key="new_customer")
        except DepositError as exc:
            log(f"deposit for account {account.account_number} skipped: {exc}")
            continue
        if state in ("billed", "held"):
            for _ in range(deposit.deposit_class.instalments):
                deposit_bill_next(deposit=deposit, on=today, actor=ACTOR)
        if state == "held":
            payment_post(account_id=account.pk, amount=deposit.amount, received_date=today, channel="cashier",
                         tender_type="cheque", actor=ACTOR, reason="Demo: deposit paid at the counter")
        counts[state] += 1
    review = deposit_review_inline(run_date=today, now=now)
    counts["recommended"] = review.recommended
    log("deposits: " + ", ".join(f"{n} {k}" for k, n in counts.items()))
    return counts
