"""manage.py demo_status [--banner]: what is still being prepared in the background
(core.background: the demo's AMI days, VEE runs, bill run), one line each. With --banner, the
demo logins first (one command for the start banner: each Django start costs seconds)."""
from __future__ import annotations

from django.core.management.base import BaseCommand

from core.background import preparation_steps
from demo.users import DEMO_PORTAL_LOGINS, DEMO_PORTAL_PASSWORD, DEMO_USERS


class Command(BaseCommand):
    help = "Show what the demo (and any other registered source) is still preparing in the background."

    def add_arguments(self, parser):
        parser.add_argument("--banner", action="store_true", help="Indented, with a heading, for the start banner.")

    def handle(self, *args, banner: bool, **options):
        if banner:
            self.stdout.write("  Demo logins (user / password):")
            for username, password, role, _ in DEMO_USERS:
                self.stdout.write(f"    {username:<10} {password:<14} {role}")
            self.stdout.write("  Customer portal logins (/portal/, email / password):")
            for email, count in DEMO_PORTAL_LOGINS:
                self.stdout.write(f"    {email:<27} {DEMO_PORTAL_PASSWORD:<14} {count} linked account{'s' if count > 1 else ''}")
            self.stdout.write("")
        steps = preparation_steps()
        if not steps:
            self.stdout.write("  Everything is prepared." if banner else "Nothing is being prepared.")
            return
        if banner:
            self.stdout.write("  Still being prepared in the background (the hubs show it too; log: .local/demo-prepare.log):")
        for step in steps:
            self.stdout.write(f"{'    ' if banner else ''}{step.label}: {step.detail}")
