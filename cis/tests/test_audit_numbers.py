"""The account's audit trail names each object and each reference by its business number
(account, customer, agreement, service point, premise), never by a database id (issue 9)."""
from __future__ import annotations

import pytest

from cis.selectors import account_audit_trail
from cis.tests.factories import AccountFactory, ServiceAgreementFactory

pytestmark = pytest.mark.django_db


def test_audit_entries_and_their_references_use_business_numbers(client, csr):
    agreement = ServiceAgreementFactory(account=AccountFactory())
    account, sp = agreement.account, agreement.service_point
    entries = account_audit_trail(account=account)
    by_model = {e.model: e for e in entries}
    assert by_model["Account"].object_number == account.account_number
    assert by_model["Agreement"].object_number == agreement.agreement_number
    assert by_model["Service point"].object_number == sp.sp_number
    assert by_model["Customer"].object_number == account.customer.customer_number
    agreement_changes = by_model["Agreement"].changes
    assert agreement_changes["account"] == [None, account.account_number]
    assert agreement_changes["service point"] == [None, sp.sp_number]
    assert not any(f.endswith("_id") for e in entries for f in e.changes
                   if f in ("account_id", "customer_id", "service_point_id", "premise_id"))

    client.force_login(csr)
    page = client.get(f"/hub/accounts/{account.account_number}/").content.decode()
    assert f"Account {account.account_number}" in page
    assert f"Account {account.pk} " not in page
