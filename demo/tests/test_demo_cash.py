"""The demo's money (demo.cash, run by seed_demo): arrears at every dunning step (one account
protected), autopay with a held debit, equal payment plans, and the lockbox and returns files
under demo/files/ that match the demo's accounts and debits (some lockbox lines for suspense)."""
from __future__ import annotations

import datetime as dt
import time
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone

from billing.budget.models import BudgetPlan
from billing.collections.models import CollectionCase
from billing.payments.autopay_models import AutopayDebit
from billing.services import autopay_returns_import, remittance_import
from core.actors import Actor
from demo import cash

TODAY = dt.date(2026, 7, 15)  # outside the winter ban: the residential disconnect can happen
CLERK = Actor.system("demo test")


@pytest.fixture
def seeded(db, settings, tmp_path, monkeypatch):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.MEDIA_ROOT = tmp_path / "media"
    monkeypatch.setattr(cash, "FILES_DIR", tmp_path / "files")
    out = StringIO()
    started = time.monotonic()
    call_command("seed_demo", accounts=300, seed=7, start_date=TODAY, with_meters=False, stdout=out)
    return out.getvalue(), time.monotonic() - started, tmp_path / "files"


def test_the_demo_has_arrears_at_every_step_autopay_plans_and_files_that_import(seeded):
    output, seconds, files = seeded
    assert "Cash: 8 arrears, 6 autopay, 4 budget plans, 8 lockbox lines, 2 returns." in output, output
    steps = set(CollectionCase.objects.values_list("last_step", flat=True))
    assert {"reminder", "late_charge", "final_notice", "disconnect_notice", "disconnect", "write_off"} <= steps
    assert CollectionCase.objects.filter(status="written_off").count() == 1
    assert CollectionCase.objects.filter(status="open", held_by__startswith="ON-MEDICAL").count() == 1
    statuses = sorted(AutopayDebit.objects.values_list("status", flat=True))
    assert statuses == ["held"] + ["sent"] * 5
    assert BudgetPlan.objects.filter(status="active").count() == 4

    lockbox = (files / cash.LOCKBOX_FILE).read_bytes()
    batch = remittance_import(format="lockbox-csv", content=lockbox, file_name=cash.LOCKBOX_FILE, actor=CLERK,
                              now=timezone.now())
    assert (batch.posted, batch.suspense, batch.rejected, batch.duplicates) == (5, 3, 0, 0)
    returned = autopay_returns_import(content=(files / cash.RETURNS_FILE).read_bytes(), actor=CLERK)
    assert len(returned.returned) == 2 and returned.errors == [] and len(returned.cancelled) == 1
    print(f"seed_demo --accounts 300 --no-meters with the cash demo: {seconds:.1f} s")
