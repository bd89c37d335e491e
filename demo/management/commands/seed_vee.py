"""Make sure the default VEE rule set is configured and run VEE over the demo's data here and
now: `manage.py seed_vee` after `seed_demo`, so the Meter Hub shows estimates, findings and a
worklist without a Celery worker."""
from __future__ import annotations

from django.core.management.base import BaseCommand
from django.utils import timezone

from mdm.services import DEFAULT_RULE_SET_NAME, vee_default_rule_sets_ensure, vee_run_stored_days


class Command(BaseCommand):
    help = "Seed the default VEE rule set (if missing) and run VEE inline over every stored day."

    def add_arguments(self, parser):
        parser.add_argument("--no-run", action="store_true", help="Only make sure the rule set is configured.")

    def handle(self, *args, no_run: bool, **options):
        created = vee_default_rule_sets_ensure(description="Seeded by seed_vee.")
        self.stdout.write(f"Rule set {DEFAULT_RULE_SET_NAME!r} {'created' if created[DEFAULT_RULE_SET_NAME] else 'present'}.")
        if no_run:
            return
        run = vee_run_stored_days(scope="seed_vee", now_fn=timezone.now)
        if run is None:
            self.stdout.write("No interval data to run VEE over.")
            return
        self.stdout.write(
            f"VEE run {run.pk} {run.status}: {run.channel_days_validated} channel-days, "
            f"{run.intervals_estimated} intervals estimated, {run.worklist_items} worklist items."
        )
