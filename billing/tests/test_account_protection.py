"""An account that has bills or ledger entries cannot be deleted: the foreign keys from
billing to cis are PROTECT in Django (admin refuses) and real constraints in PostgreSQL (a
DELETE in SQL is refused at commit, whoever issues it)."""
import datetime as dt
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.db import IntegrityError, connection, transaction

from billing.services import ledger
from billing.models import Bill
from cis.models import Account
from cis.tests.factories import AccountFactory

pytestmark = pytest.mark.django_db


def _account_with_ledger_entry() -> Account:
    account = AccountFactory()
    ledger.ledger_post_adjustment(account_id=account.pk, amount="25.00", effective_date=dt.date(2026, 1, 1),
                                  reason="opening balance")
    return account


def _account_with_bill() -> Account:
    account = AccountFactory()
    Bill.objects.create(account_id=account.pk, period_start=dt.date(2026, 1, 1), period_end=dt.date(2026, 2, 1),
                        bill_date=dt.date(2026, 2, 2), due_date=dt.date(2026, 2, 23), total=Decimal("10.00"))
    return account


def _sql_delete(account_id: int) -> None:
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("DELETE FROM cis_account WHERE id = %s", [account_id])
        # Django's foreign keys are DEFERRABLE INITIALLY DEFERRED: check them now, as COMMIT would.
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")


@pytest.mark.parametrize("make", [_account_with_ledger_entry, _account_with_bill], ids=["ledger", "bill"])
def test_sql_delete_of_an_account_with_money_rows_is_refused(make):
    account = make()
    with pytest.raises(IntegrityError, match="foreign key"):
        _sql_delete(account.pk)
    assert Account.objects.filter(pk=account.pk).exists()


@pytest.mark.parametrize("make", [_account_with_ledger_entry, _account_with_bill], ids=["ledger", "bill"])
def test_admin_refuses_to_delete_an_account_with_money_rows(client, make):
    account = make()
    admin = get_user_model().objects.create_superuser("root", "root@example.com", "pw-root-123")
    client.force_login(admin)
    url = f"/admin/cis/account/{account.pk}/delete/"
    page = client.get(url)
    assert page.status_code == 200
    # Refused either way: the ledger is protected from deletion, and PROTECT names what blocks it.
    assert b"<title>Cannot delete account" in page.content
    response = client.post(url, {"post": "yes"})
    assert Account.objects.filter(pk=account.pk).exists()
    assert response.status_code in (200, 403)


def test_an_account_without_money_rows_can_still_be_deleted_in_sql():
    account = AccountFactory()
    _sql_delete(account.pk)
    assert not Account.objects.filter(pk=account.pk).exists()
