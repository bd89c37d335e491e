from django.core.management.base import BaseCommand

from demo.users import DEMO_PORTAL_LOGINS, DEMO_PORTAL_PASSWORD, DEMO_USERS


class Command(BaseCommand):
    help = "Print the demo logins (user / password / role)."

    def handle(self, *args, **options):
        for username, password, role, _ in DEMO_USERS:
            self.stdout.write(f"    {username:<10} {password:<14} {role}")
        for email, count in DEMO_PORTAL_LOGINS:
            self.stdout.write(f"    {email:<27} {DEMO_PORTAL_PASSWORD:<14} customer (portal, {count} account{'s' if count > 1 else ''})")
