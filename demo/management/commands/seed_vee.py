"""Make sure the default VEE rule set is configured and run VEE over the demo's data here and
now: `manage.py seed_vee` after `seed_demo`, so the Meter Hub shows estimates, findings and a
worklist without a Celery worker."""
from __future__ import annotations

import datetime as dt

from django.core.management.base import BaseCommand
from django.db.models import Max, Min
from django.utils import timezone

from mdm import vee_runs
from mdm.models import IntervalDay, VeeRuleSet, VeeRuleSetAssignment
from mdm.vee_config import (
    DEFAULT_RULE_SET_NAME,
    LARGE_RATE_CLASSES,
    LARGE_RULE_SET_NAME,
    default_rules_json,
    large_customer_rules_json,
)


class Command(BaseCommand):
    help = "Seed the default VEE rule set (if missing) and run VEE inline over every stored day."

    def add_arguments(self, parser):
        parser.add_argument("--no-run", action="store_true", help="Only make sure the rule set is configured.")

    def handle(self, *args, no_run: bool, **options):
        rule_set, created = VeeRuleSet.objects.get_or_create(
            name=DEFAULT_RULE_SET_NAME, defaults={"rules": default_rules_json(), "description": "Seeded by seed_vee."}
        )
        if not VeeRuleSetAssignment.objects.filter(scope=VeeRuleSetAssignment.Scope.DEFAULT).exists():
            VeeRuleSetAssignment.objects.create(rule_set=rule_set, scope=VeeRuleSetAssignment.Scope.DEFAULT,
                                                start_date=dt.date(2000, 1, 1))
        self.stdout.write(f"Rule set {rule_set.name!r} {'created' if created else 'present'}.")
        large, _ = VeeRuleSet.objects.get_or_create(
            name=LARGE_RULE_SET_NAME, defaults={"rules": large_customer_rules_json(), "description": "Seeded by seed_vee."}
        )
        for rate_class in LARGE_RATE_CLASSES:
            if not VeeRuleSetAssignment.objects.filter(scope="rate_class", scope_value=rate_class).exists():
                VeeRuleSetAssignment.objects.create(rule_set=large, scope="rate_class", scope_value=rate_class,
                                                    start_date=dt.date(2000, 1, 1))
        if no_run:
            return
        span = IntervalDay.objects.aggregate(first=Min("local_date"), last=Max("local_date"))
        if span["first"] is None:
            self.stdout.write("No interval data to run VEE over.")
            return
        end = span["last"] + dt.timedelta(days=1)
        channels = vee_runs.channels_with_data(start_date=span["first"], end_date=end)
        run = vee_runs.vee_run_create(channel_ids=channels, start_date=span["first"], end_date=end,
                                      scope="seed_vee", now=timezone.now())
        run = vee_runs.vee_run_execute(vee_run_id=run.pk, now_fn=timezone.now)
        self.stdout.write(
            f"VEE run {run.pk} {run.status}: {run.channel_days_validated} channel-days, "
            f"{run.intervals_estimated} intervals estimated, {run.worklist_items} worklist items."
        )
