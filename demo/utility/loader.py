"""Writes a generated demo utility into PostgreSQL and is the one call `seed_demo` makes.

Rows go in with COPY, not save(): 100,000 accounts make about 700,000 rows and per-row
saves would take many minutes. Primary keys are reserved from each table's identity
sequence up front so foreign keys can be filled in before the rows are written. The
pghistory insert triggers still fire for COPY, so the audit trail records the seed
(reason "seed_demo") like any other insert."""
from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable

import pghistory
from django.db import connection, models, transaction
from django.utils import timezone

from demo.utility.generator import DemoUtility, demo_utility_generate
from cis.models import Account, Customer, Move, Premise, ServiceAgreement, ServicePoint
from demo.users import demo_users_create
from service_orders.services import OrderType, service_order_request


class DemoNotEmptyError(Exception):
    """The database already has customers, premises or accounts; the demo fills an empty one."""


# Field classes whose Python value COPY can take as is; anything else goes through the
# field's own get_db_prep_save so a field added later still loads correctly.
_PLAIN_FIELDS = (
    models.CharField, models.TextField, models.IntegerField, models.BigIntegerField,
    models.PositiveIntegerField, models.SmallIntegerField, models.DateField, models.DecimalField,
    models.BooleanField, models.AutoField, models.BigAutoField, models.ForeignKey,
)

# (model, number field, sequence the services draw that number from)
NUMBER_SEQUENCES = [
    (Customer, "customer_number", "cis_customer_number_seq"),
    (Account, "account_number", "cis_account_number_seq"),
    (ServiceAgreement, "agreement_number", "cis_agreement_number_seq"),
    (Premise, "premise_number", "cis_premise_number_seq"),
    (ServicePoint, "sp_number", "cis_service_point_number_seq"),
]


def _reserve_ids(model, count: int) -> int:
    """The first of `count` consecutive primary keys now reserved for `model`."""
    table = model._meta.db_table
    with connection.cursor() as cursor:
        # The lock keeps other inserts from drawing ids inside the block until we commit.
        cursor.execute(f'LOCK TABLE "{table}" IN SHARE ROW EXCLUSIVE MODE')
        cursor.execute("SELECT pg_get_serial_sequence(%s, 'id')", [table])
        (sequence,) = cursor.fetchone()
        cursor.execute("SELECT nextval(%s)", [sequence])
        (first,) = cursor.fetchone()
        if count > 1:
            cursor.execute("SELECT setval(%s, %s)", [sequence, first + count - 1])
    return first


def _assign_ids(model, objs: list) -> None:
    if not objs:
        return
    first = _reserve_ids(model, len(objs))
    for offset, obj in enumerate(objs):
        obj.pk = first + offset
        obj._state.adding = False


def _resolve_foreign_keys(model, objs: list) -> None:
    # Generated objects point at each other by reference; now every one has its pk.
    fks = [f for f in model._meta.concrete_fields if f.is_relation]
    for obj in objs:
        for f in fks:
            related = f.get_cached_value(obj, default=None)
            if related is not None:
                setattr(obj, f.attname, related.pk)


def _copy_rows(model, objs: list, now: dt.datetime) -> None:
    fields = list(model._meta.concrete_fields)
    columns = ", ".join(connection.ops.quote_name(f.column) for f in fields)
    getters: list[Callable] = []
    for f in fields:
        if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False):
            getters.append(lambda obj, now=now: now)
        elif isinstance(f, _PLAIN_FIELDS):
            getters.append(lambda obj, name=f.attname: getattr(obj, name))
        else:
            getters.append(lambda obj, f=f: f.get_db_prep_save(getattr(obj, f.attname), connection))
    with connection.cursor() as cursor:
        with cursor.copy(f"COPY {connection.ops.quote_name(model._meta.db_table)} ({columns}) FROM STDIN") as copy:
            for obj in objs:
                copy.write_row([get(obj) for get in getters])


def _advance_number_sequences() -> None:
    """Move each number sequence past the demo's numbers when a very large demo reached
    the sequence's range, so the services never hand out a number the demo used."""
    with connection.cursor() as cursor:
        for model, field, sequence in NUMBER_SEQUENCES:
            cursor.execute(
                f"SELECT max(substring({field} from '[0-9]+$')::bigint) FROM {model._meta.db_table}"
            )
            (highest,) = cursor.fetchone()
            cursor.execute(f"SELECT last_value FROM {sequence}")
            (last,) = cursor.fetchone()
            if highest is not None and highest >= last:
                cursor.execute("SELECT setval(%s, %s)", [sequence, highest])


def demo_is_loaded() -> bool:
    return Account.objects.exists()


def demo_utility_seed(
    *, accounts: int, seed: int, today: dt.date, log: Callable[[str], None] = lambda line: None,
) -> dict[str, int]:
    """Generate the demo utility and load it, with the demo users. Returns row counts.

    Raises DemoNotEmptyError when customers, premises or accounts already exist (the demo's
    numbers are fixed, so a second load would collide), ValueError on too few accounts."""
    if Account.objects.exists() or Customer.objects.exists() or Premise.objects.exists():
        raise DemoNotEmptyError("The database already has customers, premises or accounts.")
    started = time.monotonic()
    demo = demo_utility_generate(accounts=accounts, seed=seed, today=today)
    log(f"generated {len(demo.accounts)} accounts in {time.monotonic() - started:.1f}s")
    for customer in demo.customers:
        customer.refresh_search_fields()
    for premise in demo.premises:
        premise.refresh_search_fields()
    tables = [
        (Customer, demo.customers), (Premise, demo.premises), (ServicePoint, demo.service_points),
        (Account, demo.accounts), (ServiceAgreement, demo.agreements),
    ]
    log(f"search keys computed at {time.monotonic() - started:.1f}s")
    now = timezone.now()
    with transaction.atomic(), pghistory.context(reason="seed_demo"):
        with connection.cursor() as cursor:
            # Any write statement carries pghistory's context into the transaction, where the
            # COPY triggers read it; a lost seed is simply re-run, so skip the commit flush.
            cursor.execute("SET LOCAL synchronous_commit = off")
            # Django's foreign keys are DEFERRABLE INITIALLY DEFERRED; deferred, every row's
            # check queues until commit and the load slows quadratically (166,000 service
            # points took 8 minutes instead of 15 s). Rows are written parents first, so
            # checking each one at once is safe.
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        for model, objs in tables:
            _assign_ids(model, objs)
        for model, objs in tables:
            _resolve_foreign_keys(model, objs)
        for model, objs in tables:
            step = time.monotonic()
            _copy_rows(model, objs, now)
            log(f"{model._meta.verbose_name_plural}: {len(objs)} rows in {time.monotonic() - step:.1f}s")
        step = time.monotonic()
        _load_pending_moves(demo)
        log(f"pending moves: {len(demo.moves)} with their read orders in {time.monotonic() - step:.1f}s")
        _advance_number_sequences()
        step = time.monotonic()
        demo_users_create()
        log(f"demo users in {time.monotonic() - step:.1f}s")
    step = time.monotonic()
    with connection.cursor() as cursor:
        # Fresh statistics, or the first searches plan as if the tables were empty.
        for model, _ in tables:
            cursor.execute(f"ANALYZE {connection.ops.quote_name(model._meta.db_table)}")
    log(f"committed and analysed in {time.monotonic() - step:.1f}s")
    log(f"done in {time.monotonic() - started:.1f}s")
    return {
        "customers": len(demo.customers), "premises": len(demo.premises),
        "service_points": len(demo.service_points), "accounts": len(demo.accounts),
        "agreements": len(demo.agreements), "pending_moves": len(demo.moves),
    }


def _load_pending_moves(demo: DemoUtility) -> None:
    # A few hundred to a few thousand rows: the ORM is fast enough, and read orders must go
    # through the service-orders service (another app's writes).
    for move in demo.moves:
        move.account_id = move.account.pk
        move.service_point_id = move.service_point.pk
        move.agreement_id = move.agreement.pk if move.agreement is not None else None
    Move.objects.bulk_create(demo.moves, batch_size=2000)
    for move in demo.moves:
        service_order_request(
            order_type=OrderType.FINAL_READ if move.kind == Move.Kind.MOVE_OUT else OrderType.INITIAL_READ,
            due_date=move.effective_date, source=f"cis.move:{move.pk}", account_id=move.account_id,
            service_point_id=move.service_point_id,
            reason=f"{move.get_kind_display()} {move.effective_date:%Y-%m-%d}",
        )
