"""Replacement reads end to end: a corrected read file imported through MDM's real import path
for a period already billed and issued raises a notice; the Billing Hub lists it with the bill
it touches; a billing user rebills it (cancel with a reversal of exactly the old amount, a
REBILL issued with its own ledger charge); the notice is picked up and the bill pages' history
names who did it. Also: dismissing, rebill all, role checks and bad input, the bill history
selector, and the auto-rebill beat task with its setting on and off."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal as D

import pytest
from django.contrib.messages import get_messages
from django.utils import timezone

from billing import selectors, tasks
from billing.services import rebill
from billing.models import Bill, LedgerEntry, NoticeDecision
from billing.tests.test_rebill import issue_run
from billing.tests.test_runs_helpers import FEB, MAR, TZ, load_hourly, metered_agreement, setup_billing
from conftest import PASSWORD
from core.actors import Actor
from mdm import importing
from mdm.models import ReplacementReadNotice

pytestmark = pytest.mark.django_db

CORRECTED_DAY = dt.date(2026, 2, 10)
HEADER = "meter_serial,unit,direction,interval_minutes,interval_end,value\n"


@pytest.fixture(autouse=True)
def _import_settings(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    settings.UTILIS_VEE_AFTER_IMPORT = False


@pytest.fixture
def staff(client, billing_user):
    client.login(username=billing_user.username, password=PASSWORD)
    return client


def said(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def corrected_day_csv(serial: str, day: dt.date, kwh: float) -> bytes:
    """24 hourly values for one local day, as the head end resends them (interval end, UTC)."""
    start = dt.datetime.combine(day, dt.time(), TZ)
    lines = [f"{serial},kWh,delivered,60,{(start + dt.timedelta(hours=h + 1)).astimezone(dt.timezone.utc):%Y-%m-%dT%H:%M:%SZ},{kwh}"
             for h in range(24)]
    return (HEADER + "\n".join(lines) + "\n").encode()


def billed_and_corrected(kwh: float = 2.0, day: dt.date = CORRECTED_DAY):
    """One T-TIER account at 1 kWh an hour, February billed and issued (672 kWh: 94.40), then a
    corrected CSV for one February day at `kwh` an hour imported through mdm.importing."""
    cycle = setup_billing()
    agreement, channel = metered_agreement(rate_code="T-TIER")
    issue_run(cycle)
    old = Bill.objects.get(account_id=agreement.account_id)
    run = importing.import_file(corrected_day_csv(channel.meter.serial_number, day, kwh), format="csv",
                                file_name=f"fix-{day}.csv", now=timezone.now())
    assert (run.status, run.quarantined) == ("done", 0), vars(run)
    return agreement, channel, old


def test_a_corrected_read_file_for_an_issued_period_is_rebilled_from_the_hub_by_a_billing_user(staff, billing_user):
    agreement, _, old = billed_and_corrected()
    assert (old.status, old.total) == ("issued", D("94.40"))
    (notice,) = ReplacementReadNotice.objects.filter(picked_up_at__isnull=True)
    assert (notice.service_point_id, notice.period_start) == (agreement.service_point_id, CORRECTED_DAY)

    page = staff.get("/billing/notices/").content.decode()
    assert f'data-testid="notice-{notice.pk}"' in page and f'href="/billing/bills/{old.pk}/"' in page
    assert str(old) in page and "Replacement reads" in page
    confirm = staff.get(f"/billing/notices/{notice.pk}/rebill/").content.decode()
    assert "1 issued bill with $94.40 due will be cancelled" in confirm

    response = staff.post(f"/billing/notices/{notice.pk}/rebill/", {"bill": [old.pk]})

    old.refresh_from_db()
    new = Bill.objects.get(replaces=old)
    assert response.status_code == 302 and response["Location"] == f"/billing/bills/{new.pk}/"
    # 672 + 24 kWh = 696: 500 x 0.10 = 50.00, 196 x 0.20 = 39.20, + 10.00.
    assert (old.status, old.cancelled_by_id) == ("cancelled", billing_user.pk)
    assert "notice %d" % notice.pk in old.cancel_reason
    (charge,) = LedgerEntry.objects.filter(bill=old, kind="bill")
    (reversal,) = LedgerEntry.objects.filter(bill=old, kind="reversal")
    assert (reversal.reverses_id, reversal.amount) == (charge.pk, -charge.amount) and charge.amount == D("94.40")
    assert (new.kind, new.status, new.total, new.amount_due, new.issued_by_id) == (
        "rebill", "issued", D("99.20"), D("99.20"), billing_user.pk)
    (new_charge,) = LedgerEntry.objects.filter(bill=new)
    assert (new_charge.kind, new_charge.amount) == ("bill", new.total)
    notice.refresh_from_db()
    assert notice.picked_up_at is not None
    decision = NoticeDecision.objects.get(notice=notice)
    assert (decision.action, decision.decided_by_id, decision.bill_ids) == ("rebilled", billing_user.pk, [old.pk])
    assert f'data-testid="notice-{notice.pk}"' not in staff.get("/billing/notices/").content.decode()

    # The history: who cancelled the old bill (and what replaced it), who approved and issued the rebill.
    old_history = selectors.bill_history(bill_id=old.pk)
    cancelled = old_history[0]
    assert (cancelled.action, cancelled.who, cancelled.rebilled_as) == ("cancelled", "billing1", new)
    assert f"notice {notice.pk}" in cancelled.reason
    assert [(c.label, c.before, c.after) for c in cancelled.changes] == [("Status", "Issued", "Cancelled")]
    assert [h.action for h in old_history][-1] == "approved"  # the run's approval, by the system
    new_history = selectors.bill_history(bill_id=new.pk)
    assert [(h.action, h.who) for h in new_history] == [("issued", "billing1"), ("approved", "billing1")]
    assert new_history[-1].replaces == old
    issued = {c.label: (c.before, c.after) for c in new_history[0].changes}
    assert issued["Status"] == ("Approved", "Issued") and issued["Bill number"] == (None, new.bill_number)
    old_page = staff.get(f"/billing/bills/{old.pk}/").content.decode()
    assert 'data-testid="bill-history"' in old_page and "billing1" in old_page
    assert f'Rebilled as <a href="/billing/bills/{new.pk}/">{new}</a>' in old_page
    new_page = staff.get(f"/billing/bills/{new.pk}/").content.decode()
    assert f'replaces <a href="/billing/bills/{old.pk}/">{old}</a>' in new_page and "billing1" in new_page


def test_dismissing_a_notice_records_who_and_why_and_leaves_the_bill(staff, billing_user):
    _, _, old = billed_and_corrected()
    notice = ReplacementReadNotice.objects.get()
    confirm = staff.get(f"/billing/notices/{notice.pk}/dismiss/").content.decode()
    assert "No bill will be changed" in confirm and "$94.40" in confirm

    response = staff.post(f"/billing/notices/{notice.pk}/dismiss/", {"reason": " "})
    assert response.status_code == 200 and any("Not dismissed" in m for m in said(response))
    assert not NoticeDecision.objects.exists()

    response = staff.post(f"/billing/notices/{notice.pk}/dismiss/", {"reason": "Same totals: a unit fix only"})

    assert response.status_code == 302 and said(response) == [f"Notice {notice.pk} dismissed: no rebill."]
    decision = NoticeDecision.objects.get()
    assert (decision.action, decision.reason, decision.actor, decision.decided_by_id) == (
        "dismissed", "Same totals: a unit fix only", "billing1", billing_user.pk)
    notice.refresh_from_db()
    old.refresh_from_db()
    assert notice.picked_up_at is not None and old.status == "issued"
    assert f'data-testid="notice-{notice.pk}"' not in staff.get("/billing/notices/").content.decode()


def test_bad_input_gets_a_message_not_an_error(staff):
    _, _, old = billed_and_corrected()
    notice = ReplacementReadNotice.objects.get()

    for url in ("/billing/notices/999999/rebill/", "/billing/notices/999999/dismiss/"):
        response = staff.get(url)
        assert response.status_code == 302 and "no open replacement-read notice 999999" in said(response)[-1]
        response = staff.post(url, {"reason": "x"})
        assert response.status_code == 302 and "no open replacement-read notice 999999" in said(response)[-1]
    response = staff.post(f"/billing/notices/{notice.pk}/rebill/", {"bill": ["x"]})
    assert response.status_code == 302 and "not a number" in said(response)[-1]

    # The bill was cancelled from its own page after the confirm step was shown.
    staff.post(f"/billing/bills/{old.pk}/cancel/", {"reason": "Wrong meter"})
    response = staff.post(f"/billing/notices/{notice.pk}/rebill/", {"bill": [old.pk]})
    assert response.status_code == 302 and said(response)[-1:] == [
        f"Nothing rebilled: the bills of notice {notice.pk} changed ({old} is cancelled). Look at the notice again."]
    response = staff.post(f"/billing/notices/{notice.pk}/rebill/", {})
    assert said(response)[-1:] == [f"Notice {notice.pk} touches no issued bill: nothing to rebill. Dismiss it instead."]

    staff.post(f"/billing/notices/{notice.pk}/dismiss/", {"reason": "Cancelled already"})
    response = staff.post(f"/billing/notices/{notice.pk}/rebill/", {})
    assert response.status_code == 302 and said(response)[-1].startswith(f"Notice {notice.pk} was already dismissed by billing1")
    response = staff.post("/billing/notices/rebill-all/", {})
    assert response.status_code == 302 and said(response)[-1:] == ["Nothing rebilled: no notices were confirmed."]


def test_only_billing_staff_and_administrators_work_the_notices(client, csr, admin_user_role):
    billed_and_corrected()
    notice = ReplacementReadNotice.objects.get()
    assert client.get("/billing/notices/").status_code == 302  # to the login page
    client.login(username=csr.username, password=PASSWORD)
    assert client.get("/billing/notices/").status_code == 403
    assert client.post(f"/billing/notices/{notice.pk}/rebill/", {}).status_code == 403
    assert client.post(f"/billing/notices/{notice.pk}/dismiss/", {"reason": "x"}).status_code == 403
    assert "Replacement reads" not in client.get("/billing/bills/").content.decode()
    client.login(username=admin_user_role.username, password=PASSWORD)
    assert client.get("/billing/notices/").status_code == 200


def test_rebill_all_confirms_the_counts_then_rebills_each_touched_bill_once(staff):
    cycle = setup_billing()
    first, channel_1 = metered_agreement(rate_code="T-TIER")
    second, channel_2 = metered_agreement(rate_code="T-TIER")
    issue_run(cycle)
    # Two corrections of the first account's February (two notices, one bill) and one of the second's.
    load_hourly(channel_1, dt.date(2026, 2, 3), dt.date(2026, 2, 4), 2.0)
    load_hourly(channel_1, dt.date(2026, 2, 20), dt.date(2026, 2, 21), 2.0)
    load_hourly(channel_2, dt.date(2026, 2, 5), dt.date(2026, 2, 6), 2.0)
    assert ReplacementReadNotice.objects.filter(picked_up_at__isnull=True).count() == 3

    confirm = staff.get("/billing/notices/rebill-all/").content.decode()
    assert "2 issued bills with $188.80 due will be cancelled" in confirm and "for 3 notices" in confirm
    response = staff.post("/billing/notices/rebill-all/", {
        "notice": list(ReplacementReadNotice.objects.values_list("pk", flat=True))})

    assert said(response) == ["2 bills cancelled and rebilled."]
    # 672 + 48 kWh: 50.00 + 44.00 + 10.00; 672 + 24 kWh: 99.20.
    assert sorted(Bill.objects.filter(kind="rebill", status="issued").values_list("account_id", "total")) == sorted(
        [(first.account_id, D("104.00")), (second.account_id, D("99.20"))])
    assert not ReplacementReadNotice.objects.filter(picked_up_at__isnull=True).exists()
    assert sorted(NoticeDecision.objects.values_list("action", flat=True)) == ["rebilled"] * 3
    assert NoticeDecision.objects.filter(reason__startswith="Covered by the rebill for notice").count() == 1


def test_bill_history_of_an_auto_rebill_names_the_system_actor():
    cycle = setup_billing()
    agreement, channel = metered_agreement(rate_code="T-TIER")
    issue_run(cycle)
    load_hourly(channel, FEB, MAR, 2.0)
    (new,) = rebill.bills_rebill_for_notices(bill_date=dt.date(2026, 3, 10), as_of=dt.date(2026, 3, 10),
                                             now=timezone.now(), actor=Actor.system("auto-rebill"))
    (cancelled, *_) = selectors.bill_history(bill_id=new.replaces_id)
    assert (cancelled.action, cancelled.who, cancelled.is_system, cancelled.rebilled_as) == (
        "cancelled", "auto-rebill", True, new)
    assert [(h.action, h.who) for h in selectors.bill_history(bill_id=new.pk)] == [
        ("issued", "auto-rebill"), ("approved", "auto-rebill")]
    assert NoticeDecision.objects.get().actor == "auto-rebill"


def test_the_beat_task_rebills_the_notices_only_when_the_setting_is_on(settings):
    cycle = setup_billing()
    _, channel = metered_agreement(rate_code="T-TIER")
    issue_run(cycle)
    old = Bill.objects.get()
    importing.import_file(corrected_day_csv(channel.meter.serial_number, CORRECTED_DAY, 2.0),
                          format="csv", file_name="fix.csv", now=timezone.now())
    notice = ReplacementReadNotice.objects.get()

    settings.UTILIS_AUTO_REBILL_NOTICES = False
    assert tasks.rebill_replacement_read_notices.apply().get() == {"enabled": False, "rebilled": 0}
    old.refresh_from_db()
    notice.refresh_from_db()
    assert (old.status, notice.picked_up_at) == ("issued", None)

    settings.UTILIS_AUTO_REBILL_NOTICES = True
    result = tasks.rebill_replacement_read_notices.apply().get()

    new = Bill.objects.get(replaces=old)
    assert result == {"enabled": True, "rebilled": 1, "bills": [new.pk]}
    old.refresh_from_db()
    notice.refresh_from_db()
    assert (old.status, new.status, new.total, notice.picked_up_at is not None) == ("cancelled", "issued", D("99.20"), True)
    assert (NoticeDecision.objects.get().actor, old.cancelled_by_id) == ("auto-rebill", None)
    assert tasks.rebill_replacement_read_notices.apply().get() == {"enabled": True, "rebilled": 0, "bills": []}

