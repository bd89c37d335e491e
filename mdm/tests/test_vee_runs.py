"""VEE runs over the interval store: a gap filled by linear interpolation becomes version 2 of
the day naming the run, a spike goes to the worklist, a re-run writes nothing new, and the
worklist actions (accept, edit, dismiss, re-run) do what a person expects. Also which rule set
applies where and when."""
from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pytest
from django.db import IntegrityError, transaction

from mdm.flags import Flag
from mdm.models import (
    IntervalDay,
    IntervalDayVersion,
    VeeFinding,
    VeeRuleSet,
    VeeRuleSetAssignment,
    VeeRun,
    VeeWorklistItem,
)
from mdm.services import StagedDay, interval_days_merge
from mdm.tests.factories import ChannelFactory
from mdm.vee_config_resolution import BUILT_IN, AssignmentRow, resolve_rule_set_id
from mdm.services import (
    WorklistError,
    vee_run_create,
    vee_run_execute,
    worklist_item_accept,
    worklist_item_dismiss,
    worklist_item_edit,
    worklist_item_rerun,
)

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 6, 20, 12, 0, tzinfo=dt.timezone.utc)
D1, D2 = dt.date(2026, 6, 10), dt.date(2026, 6, 11)  # June: 24 hours, no DST change
RULES = {
    "validations": [{"kind": "gaps", "max_missing_slots": 48}, {"kind": "spike", "threshold_pct": 300, "min_peak": 0.5}],
    "estimations": [{"kind": "linear", "max_gap_minutes": 180}],
}


@pytest.fixture(autouse=True)
def toronto(settings):
    settings.UTILIS_LOCAL_TIME_ZONE = "America/Toronto"


@pytest.fixture
def rule_set():
    # The migration seeds a default assignment; these tests use their own small rule set.
    VeeRuleSetAssignment.objects.all().delete()
    rs = VeeRuleSet.objects.create(name="test gaps+spike", rules=RULES)
    VeeRuleSetAssignment.objects.create(rule_set=rs, scope="default", start_date=dt.date(2020, 1, 1))
    return rs


@pytest.fixture
def channel():
    return ChannelFactory(interval_minutes=60)


def store(channel, day, values):
    values = np.asarray(values, dtype=float)
    flags = np.where(np.isnan(values), Flag.MISSING, Flag.ACTUAL).astype(np.int16)
    interval_days_merge(days=[StagedDay(channel.pk, day, 60, values, flags)], now=NOW - dt.timedelta(days=5))


@pytest.fixture
def gap_and_spike(channel, rule_set):
    """D1: 1.0 each hour, hours 5 and 6 missing, hour 7 reads 2.5. D2: 1.0 each hour, hour 10 reads 9.0."""
    d1 = [1.0] * 24
    d1[5] = d1[6] = math.nan
    d1[7] = 2.5
    d2 = [1.0] * 24
    d2[10] = 9.0
    store(channel, D1, d1)
    store(channel, D2, d2)
    return channel


def run_vee(channel, start=D1, end=D2 + dt.timedelta(days=1), now=NOW):
    run = vee_run_create(channel_ids=[channel.pk], start_date=start, end_date=end, scope="test", now=now)
    return vee_run_execute(vee_run_id=run.pk, now_fn=lambda: now)


def day(channel, d) -> IntervalDay:
    return IntervalDay.objects.get(channel_id=channel.pk, local_date=d)


def test_gap_filled_by_linear_interpolation_lands_as_version_2_naming_the_run(gap_and_spike):
    run = run_vee(gap_and_spike)

    assert run.status == VeeRun.Status.DONE
    assert (run.progress_done, run.progress_total) == (1, 1)
    assert run.channel_days_validated == 2
    row = day(gap_and_spike, D1)
    # A straight line from 1.0 (hour 4) to 2.5 (hour 7): 1.5 and 2.0 in between.
    assert row.values[4:8] == [1.0, 1.5, 2.0, 2.5]
    assert row.flags[5] == row.flags[6] == Flag.ESTIMATED_LINEAR
    assert row.flags[4] == row.flags[7] == Flag.ACTUAL
    assert row.version == 2
    assert row.vee_run_id == run.pk
    assert run.intervals_estimated == 2
    old = IntervalDayVersion.objects.get(channel_id=gap_and_spike.pk, local_date=D1)
    assert old.version == 1 and math.isnan(old.values[5]) and old.flags[5] == Flag.MISSING


def test_spike_is_flagged_and_goes_to_the_worklist(gap_and_spike):
    run = run_vee(gap_and_spike)

    row = day(gap_and_spike, D2)
    assert row.values[10] == 9.0  # a FLAG rule keeps the reading for a person to judge
    assert row.flags[10] == Flag.FAILED_VALIDATION
    item = VeeWorklistItem.objects.get()
    assert (item.channel_id, item.local_date, item.rule, item.slots, item.status) == (gap_and_spike.pk, D2, "spike", [10], "open")
    # 9.0 against a third highest of 1.0: 800 % above.
    assert item.message == "highest interval 800% above the third highest"
    assert run.worklist_items == 1
    assert VeeFinding.objects.filter(vee_run=run, rule="spike", local_date=D2, slots=[10]).exists()
    assert not VeeFinding.objects.filter(vee_run=run, local_date=D1).exists()  # two missing of 48 allowed


def test_rerun_over_the_same_data_writes_no_new_version_and_no_duplicate_item(gap_and_spike):
    run_vee(gap_and_spike)
    second = run_vee(gap_and_spike, now=NOW + dt.timedelta(hours=1))

    assert second.status == VeeRun.Status.DONE
    assert second.channel_days_changed == 0
    assert day(gap_and_spike, D1).version == 2
    assert day(gap_and_spike, D2).version == 2
    assert IntervalDayVersion.objects.filter(channel_id=gap_and_spike.pk).count() == 2
    assert VeeWorklistItem.objects.count() == 1
    assert second.worklist_items == 0


def test_an_unfinished_run_with_the_same_key_is_resumed_not_duplicated(gap_and_spike):
    first = vee_run_create(channel_ids=[gap_and_spike.pk], start_date=D1, end_date=D2, scope="s", now=NOW)
    again = vee_run_create(channel_ids=[gap_and_spike.pk], start_date=D1, end_date=D2, scope="s", now=NOW)
    assert again.pk == first.pk
    vee_run_execute(vee_run_id=first.pk, now_fn=lambda: NOW)
    after = vee_run_create(channel_ids=[gap_and_spike.pk], start_date=D1, end_date=D2, scope="s", now=NOW)
    assert after.pk != first.pk  # a finished run may be repeated


def test_accepting_a_spike_keeps_the_reading_as_edited_and_the_next_run_leaves_it(gap_and_spike, metering_user):
    run_vee(gap_and_spike)
    item = VeeWorklistItem.objects.get()

    worklist_item_accept(item_id=item.pk, user=metering_user, now=NOW, reason="Customer ran a kiln")

    item.refresh_from_db()
    assert (item.status, item.resolved_by, item.reason) == ("accepted", metering_user, "Customer ran a kiln")
    row = day(gap_and_spike, D2)
    assert row.values[10] == 9.0 and row.flags[10] == Flag.EDITED
    assert (row.version, row.changed_by_id, row.reason) == (3, metering_user.pk, "Customer ran a kiln")
    run_vee(gap_and_spike, now=NOW + dt.timedelta(hours=2))
    assert VeeWorklistItem.objects.count() == 1
    assert day(gap_and_spike, D2).version == 3


def test_manual_edit_replaces_the_values_with_who_and_why(gap_and_spike, metering_user):
    run_vee(gap_and_spike)
    item = VeeWorklistItem.objects.get()

    worklist_item_edit(item_id=item.pk, first_slot=10, values=[1.25], reason="Meter test: head-end glitch",
                       user=metering_user, now=NOW)

    row = day(gap_and_spike, D2)
    assert row.values[10] == 1.25 and row.flags[10] == Flag.EDITED
    assert row.changed_by_id == metering_user.pk and row.reason == "Meter test: head-end glitch"
    item.refresh_from_db()
    assert item.status == "edited"
    with pytest.raises(WorklistError):
        worklist_item_edit(item_id=item.pk, first_slot=10, values=[2.0], reason="again", user=metering_user, now=NOW)


def test_manual_edit_needs_a_reason_and_slots_inside_the_day(gap_and_spike, metering_user):
    run_vee(gap_and_spike)
    item = VeeWorklistItem.objects.get()
    with pytest.raises(WorklistError, match="reason"):
        worklist_item_edit(item_id=item.pk, first_slot=10, values=[1.0], reason=" ", user=metering_user, now=NOW)
    with pytest.raises(WorklistError, match="outside"):
        worklist_item_edit(item_id=item.pk, first_slot=23, values=[1.0, 1.0], reason="x", user=metering_user, now=NOW)
    assert VeeWorklistItem.objects.get().status == "open"
    assert day(gap_and_spike, D2).version == 2


def test_dismiss_needs_a_reason_and_a_rerun_does_not_reopen_it(gap_and_spike, metering_user):
    run_vee(gap_and_spike)
    item = VeeWorklistItem.objects.get()
    with pytest.raises(WorklistError):
        worklist_item_dismiss(item_id=item.pk, user=metering_user, now=NOW, reason="")

    worklist_item_dismiss(item_id=item.pk, user=metering_user, now=NOW, reason="Known event")

    item.refresh_from_db()
    assert (item.status, item.reason) == ("dismissed", "Known event")
    run = worklist_item_rerun(item_id=item.pk, user=metering_user, now=NOW + dt.timedelta(hours=1))
    assert run.status == "done" and run.worklist_items == 0
    assert VeeWorklistItem.objects.count() == 1


def test_rerun_after_a_corrected_import_settles_the_day(gap_and_spike, metering_user):
    run_vee(gap_and_spike)
    item = VeeWorklistItem.objects.get()
    corrected = np.ones(24)
    interval_days_merge(days=[StagedDay(gap_and_spike.pk, D2, 60, corrected, np.zeros(24, np.int16))], now=NOW)

    run = worklist_item_rerun(item_id=item.pk, user=metering_user, now=NOW + dt.timedelta(hours=1))

    row = day(gap_and_spike, D2)
    assert row.values[10] == 1.0 and row.flags[10] == Flag.ACTUAL
    assert run.channel_days_validated == 1 and run.findings_count == 0


def test_service_point_beats_rate_class_beats_meter_kind_beats_default():
    start = dt.date(2026, 1, 1)
    rows = [
        AssignmentRow(1, "default", "", 0, start, None),
        AssignmentRow(2, "meter_kind", "water", 0, start, None),
        AssignmentRow(3, "rate_class", "commercial", 0, start, None),
        AssignmentRow(4, "service_point", "77", 0, start, None),
    ]
    on = dt.date(2026, 3, 1)
    assert resolve_rule_set_id(rows, day=on, service_point_id=77, rate_class="commercial", meter_kind="water") == 4
    assert resolve_rule_set_id(rows, day=on, service_point_id=78, rate_class="commercial", meter_kind="water") == 3
    assert resolve_rule_set_id(rows, day=on, service_point_id=78, rate_class="residential", meter_kind="water") == 2
    assert resolve_rule_set_id(rows, day=on, service_point_id=None, rate_class="", meter_kind="gas") == 1
    assert resolve_rule_set_id([], day=on, service_point_id=None, rate_class="", meter_kind="gas") == BUILT_IN


def test_assignments_are_date_effective_half_open():
    rows = [
        AssignmentRow(1, "default", "", 0, dt.date(2026, 1, 1), None),
        AssignmentRow(2, "rate_class", "residential", 0, dt.date(2026, 3, 1), dt.date(2026, 4, 1)),
    ]
    kw = {"service_point_id": 5, "rate_class": "residential", "meter_kind": "electric_single_phase"}
    assert resolve_rule_set_id(rows, day=dt.date(2026, 2, 28), **kw) == 1
    assert resolve_rule_set_id(rows, day=dt.date(2026, 3, 1), **kw) == 2
    assert resolve_rule_set_id(rows, day=dt.date(2026, 3, 31), **kw) == 2
    assert resolve_rule_set_id(rows, day=dt.date(2026, 4, 1), **kw) == 1  # end date is exclusive
    assert resolve_rule_set_id(rows, day=dt.date(2025, 12, 31), **kw) == BUILT_IN


def test_overlapping_assignments_of_one_scope_are_refused(rule_set):
    VeeRuleSetAssignment.objects.create(rule_set=rule_set, scope="rate_class", scope_value="residential",
                                        start_date=dt.date(2026, 1, 1), end_date=dt.date(2026, 6, 1))
    VeeRuleSetAssignment.objects.create(rule_set=rule_set, scope="rate_class", scope_value="residential",
                                        start_date=dt.date(2026, 6, 1))  # adjacent: fine
    with pytest.raises(IntegrityError), transaction.atomic():
        VeeRuleSetAssignment.objects.create(rule_set=rule_set, scope="rate_class", scope_value="residential",
                                            start_date=dt.date(2026, 5, 1), end_date=dt.date(2026, 7, 1))


def test_the_service_points_rate_class_picks_the_rule_set_in_a_run(channel, rule_set):
    from cis.tests.factories import ServicePointFactory
    from mdm.services import meter_install

    strict = VeeRuleSet.objects.create(name="strict spikes", rules={
        "validations": [{"kind": "spike", "threshold_pct": 50, "min_peak": 0.5}], "estimations": [],
    })
    sp = ServicePointFactory(rate_class="commercial")
    VeeRuleSetAssignment.objects.create(rule_set=strict, scope="rate_class", scope_value="commercial",
                                        start_date=dt.date(2026, 1, 1))
    meter_install(meter=channel.meter, service_point_id=sp.pk, installed_at=dt.datetime(2026, 1, 1, 5, tzinfo=dt.timezone.utc))
    values = [1.0] * 24
    values[3] = 2.0  # 100 % above the third highest: a spike only under the strict rule set
    store(channel, D1, values)

    run_vee(channel, start=D1, end=D2)

    assert VeeWorklistItem.objects.get().rule == "spike"


def test_the_seeded_default_rule_set_parses():
    from mdm.vee_config import DEFAULT_RULE_SET_NAME, rule_set_from_json

    seeded = VeeRuleSet.objects.get(name=DEFAULT_RULE_SET_NAME)
    rules = rule_set_from_json(seeded.name, seeded.rules)
    assert [e.kind for e in rules.estimations] == ["linear", "like_day", "class_profile"]
    assert VeeRuleSetAssignment.objects.filter(rule_set=seeded, scope="default").exists()


# ---- the Meter Hub pages ---------------------------------------------------------------------


def test_worklist_page_lists_open_items_and_a_clerk_dismisses_one(client, gap_and_spike, metering_user):
    run_vee(gap_and_spike)
    item = VeeWorklistItem.objects.get()
    client.force_login(metering_user)

    page = client.get("/meters/worklist/")
    assert page.status_code == 200
    assert "highest interval 800% above the third highest" in page.content.decode()

    response = client.post(f"/meters/worklist/{item.pk}/dismiss/", {"reason": "Known event"})
    assert response.status_code == 302
    item.refresh_from_db()
    assert (item.status, item.reason, item.resolved_by) == ("dismissed", "Known event", metering_user)


def test_a_csr_may_read_the_worklist_but_not_act_on_it(client, gap_and_spike, csr):
    run_vee(gap_and_spike)
    item = VeeWorklistItem.objects.get()
    client.force_login(csr)
    assert client.get("/meters/worklist/").status_code == 200
    assert client.post(f"/meters/worklist/{item.pk}/accept/", {"reason": "x"}).status_code == 403
    assert VeeWorklistItem.objects.get().status == "open"


def test_run_progress_json_and_version_history_page(client, gap_and_spike, metering_user):
    run = run_vee(gap_and_spike)
    client.force_login(metering_user)

    progress = client.get(f"/meters/vee/{run.pk}/progress.json").json()
    assert (progress["status"], progress["done"], progress["total"], progress["estimated"]) == ("done", 1, 1, 2)

    page = client.get(f"/meters/channels/{gap_and_spike.pk}/days/{D1.isoformat()}/").content.decode()
    assert f"VEE run {run.pk}" in page  # version 2's reason
    assert "estimated linear" in page and "missing" in page
    assert client.get("/meters/vee/").status_code == 200


def test_run_vee_command_inline_reports_what_it_did(gap_and_spike, capsys):
    from django.core.management import call_command

    call_command("run_vee", "--start", "2026-06-10", "--end", "2026-06-12", "--inline", "--no-progress")

    out = capsys.readouterr().out
    assert "done: 2 channel-days validated, 2 changed, 2 intervals estimated, 1 findings, 1 new worklist items" in out
    assert day(gap_and_spike, D1).flags[5] == Flag.ESTIMATED_LINEAR


def test_seed_vee_keeps_the_configured_default_and_runs_over_stored_days(gap_and_spike, capsys):
    from django.core.management import call_command

    call_command("seed_vee")

    assert "Rule set 'Electric interval (default)'" in capsys.readouterr().out
    assert VeeRuleSet.objects.filter(name="Electric interval (default)").exists()
    # The test's own default assignment stays in charge: its linear fill is in the store.
    assert day(gap_and_spike, D1).flags[5] == Flag.ESTIMATED_LINEAR
    assert VeeWorklistItem.objects.filter(rule="spike").count() == 1


def test_sum_check_compares_with_the_register_reads_at_local_midnight(channel, rule_set):
    from mdm.models import Channel, RegisterRead

    sums = VeeRuleSet.objects.create(name="sum only", rules={
        "validations": [{"kind": "sum_check", "tolerance_pct": 2, "tolerance_abs": 0.5}], "estimations": [],
    })
    VeeRuleSetAssignment.objects.create(rule_set=sums, scope="meter_kind", scope_value=channel.meter.kind,
                                        start_date=dt.date(2026, 1, 1))
    register = ChannelFactory(meter=channel.meter, channel_number=2, interval_minutes=None)
    assert register.unit == channel.unit == Channel.Unit.KWH
    # Local midnights of June 10 and 11 (EDT) are 04:00Z.
    RegisterRead.objects.create(channel=register, read_at=dt.datetime(2026, 6, 10, 4, tzinfo=dt.timezone.utc), value=100)
    RegisterRead.objects.create(channel=register, read_at=dt.datetime(2026, 6, 11, 4, tzinfo=dt.timezone.utc), value=130)
    store(channel, D1, [1.0] * 24)

    run_vee(channel, start=D1, end=D2)

    # 24 kWh of intervals against a 30 kWh register advance: 6 off, over 2 % of 30 (0.6).
    item = VeeWorklistItem.objects.get()
    assert (item.rule, item.message) == ("sum_check", "interval total differs from the register delta by -6.000")


def test_large_customers_get_the_seeded_high_demand_limit_by_rate_class():
    from mdm.vee_config import LARGE_RULE_SET_NAME, rule_set_from_json

    large = VeeRuleSet.objects.get(name=LARGE_RULE_SET_NAME)
    demand = next(v for v in rule_set_from_json(large.name, large.rules).validations if v.kind == "max_demand")
    assert demand.limit_kw == 2000
    assert set(VeeRuleSetAssignment.objects.filter(rule_set=large).values_list("scope", "scope_value")) == {
        ("rate_class", "commercial"), ("rate_class", "industrial"),
    }


def test_zero_usage_is_judged_only_while_someone_holds_an_agreement(channel, rule_set):
    from cis.tests.factories import ServiceAgreementFactory, ServicePointFactory
    from mdm.services import meter_install

    zeros = VeeRuleSet.objects.create(name="zero only", rules={
        "validations": [{"kind": "zero_consumption", "min_consecutive": 8}], "estimations": [],
    })
    VeeRuleSetAssignment.objects.all().delete()
    VeeRuleSetAssignment.objects.create(rule_set=zeros, scope="default", start_date=dt.date(2020, 1, 1))
    sp = ServicePointFactory()
    meter_install(meter=channel.meter, service_point_id=sp.pk, installed_at=dt.datetime(2026, 1, 1, 5, tzinfo=dt.timezone.utc))
    ServiceAgreementFactory(service_point=sp, start_date=D2)  # vacant on D1, occupied from D2
    store(channel, D1, [0.0] * 24)
    store(channel, D2, [0.0] * 24)

    run_vee(channel)

    assert list(VeeWorklistItem.objects.values_list("local_date", "rule")) == [(D2, "zero_consumption")]


# ---- as_of: the rest of today is not estimated ----------------------------------------------------


def test_a_run_never_estimates_the_hours_after_it_was_asked_for(channel):
    """A small upload at 10:30 on D2 (EDT): hours 00-09 read, the rest has not happened. Like
    days (D1) could fill the whole day; as of the run's creation only the past gap is filled."""
    VeeRuleSetAssignment.objects.all().delete()
    rs = VeeRuleSet.objects.create(name="gaps+like", rules={
        "validations": [{"kind": "gaps", "max_missing_slots": 48}],
        "estimations": [{"kind": "linear", "max_gap_minutes": 180}, {"kind": "like_day", "days": 1}],
    })
    VeeRuleSetAssignment.objects.create(rule_set=rs, scope="default", start_date=dt.date(2020, 1, 1))
    store(channel, D1, [1.0] * 24)
    today = [1.0] * 10 + [math.nan] * 14
    today[3] = math.nan
    store(channel, D2, today)
    asked = dt.datetime(2026, 6, 11, 14, 30, tzinfo=dt.timezone.utc)  # 10:30 local

    run = vee_run_create(channel_ids=[channel.pk], start_date=D1, end_date=D2 + dt.timedelta(days=1), scope="t",
                         now=asked)
    # The chunk runs later (a busy queue): still judged as of the run's creation.
    run = vee_run_execute(vee_run_id=run.pk, now_fn=lambda: asked + dt.timedelta(hours=3))

    row = day(channel, D2)
    assert row.flags[3] == Flag.ESTIMATED_LINEAR
    assert list(row.flags[10:]) == [Flag.MISSING] * 14 and all(math.isnan(v) for v in row.values[10:])
    assert run.intervals_estimated == 1
    assert not VeeWorklistItem.objects.exists()  # hours still to come are no one's work


# ---- an edit resolves an item only when it settles the flagged intervals ---------------------------


def test_an_edit_elsewhere_on_the_day_leaves_the_item_open(gap_and_spike, metering_user):
    run_vee(gap_and_spike)
    item = VeeWorklistItem.objects.get()  # the spike at hour 10 of D2

    worklist_item_edit(item_id=item.pk, first_slot=3, values=[1.0], reason="read the register",
                       user=metering_user, now=NOW)
    item.refresh_from_db()
    assert item.status == "open"  # hour 10 still holds the flagged reading
    assert day(gap_and_spike, D2).flags[3] == Flag.EDITED  # the edit itself is kept

    worklist_item_edit(item_id=item.pk, first_slot=10, values=[1.1], reason="head-end glitch",
                       user=metering_user, now=NOW)
    item.refresh_from_db()
    assert item.status == "edited"


def test_worklist_actions_return_to_the_same_filtered_page(client, gap_and_spike, metering_user):
    other = ChannelFactory(interval_minutes=60)
    store(other, D2, [1.0] * 10 + [9.0] + [1.0] * 13)
    run_vee(gap_and_spike)
    run_vee(other)
    serial = gap_and_spike.meter.serial_number
    client.force_login(metering_user)

    listed = client.get("/meters/worklist/", {"status": "open", "meter": serial, "rule": "spike"}).content.decode()
    assert other.meter.serial_number not in listed
    assert f'name="next" value="/meters/worklist/?status=open&amp;meter={serial}&amp;rule=spike"' in listed

    item = VeeWorklistItem.objects.get(channel=gap_and_spike)
    back = f"/meters/worklist/?status=open&meter={serial}&rule=spike&page=1"
    response = client.post(f"/meters/worklist/{item.pk}/dismiss/", {"reason": "Known event", "next": back})
    assert response.status_code == 302 and response.url == back


def test_run_status_is_shown_by_its_label_on_the_page_and_in_the_progress_json(client, gap_and_spike, metering_user):
    run = vee_run_create(channel_ids=[gap_and_spike.pk], start_date=D1, end_date=D2, scope="queued one", now=NOW)
    client.force_login(metering_user)
    page = client.get("/meters/vee/").content.decode()
    assert 'data-field="status">Queued</span>' in page and ">queued<" not in page
    assert client.get(f"/meters/vee/{run.pk}/progress.json").json()["status_label"] == "Queued"


def test_the_runs_page_shows_when_a_run_was_asked_for_in_local_time(client, gap_and_spike, metering_user):
    vee_run_create(channel_ids=[gap_and_spike.pk], start_date=D1, end_date=D2, scope="t", now=NOW)
    client.force_login(metering_user)
    assert "2026-06-20 08:00 EDT" in client.get("/meters/vee/").content.decode()  # NOW is 12:00 UTC


def test_chunks_are_sized_by_channel_days_within_bounds():
    from mdm.services import chunk_size_for
    from mdm.services.vee_runs import CHUNK_CHANNELS_MAX, CHUNK_CHANNELS_MIN

    day = dt.date(2026, 6, 1)
    assert chunk_size_for(day, day + dt.timedelta(days=1)) == CHUNK_CHANNELS_MAX == 2000
    assert chunk_size_for(day, day + dt.timedelta(days=35)) == 571
    assert chunk_size_for(day, day + dt.timedelta(days=3650)) == CHUNK_CHANNELS_MIN


def test_a_run_without_a_chunk_size_gets_chunks_sized_for_its_dates():
    channels = [ChannelFactory() for _ in range(3)]
    run = vee_run_create(channel_ids=[c.pk for c in channels], start_date=D1, end_date=D1 + dt.timedelta(days=3650),
                         scope="sized", now=NOW)
    assert run.chunk_size == 50 and run.chunks_total == 1
    assert list(run.chunks.values_list("channel_ids", flat=True)) == [sorted(c.pk for c in channels)]
