from django.core.management.base import BaseCommand

from demo.users import DEMO_USERS


class Command(BaseCommand):
    help = "Print the demo logins (user / password / role)."

    def handle(self, *args, **options):
        for username, password, role, _ in DEMO_USERS:
            self.stdout.write(f"    {username:<10} {password:<14} {role}")
