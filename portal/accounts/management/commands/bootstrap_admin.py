from django.core.management.base import BaseCommand

from portal.accounts.bootstrap import admins_exist, ensure_admin, one_time_url


class Command(BaseCommand):
    help = "On first start, create the Admin 'admin' and print a one-time sign-in link."

    def handle(self, *args, **options):
        if admins_exist():
            self.stdout.write(
                "Sign in with your account. Another Admin: manage.py createadmin NAME --email ADDR"
            )
            return
        _, _, token = ensure_admin("admin")
        self.stdout.write(self.style.SUCCESS("First start: created the Admin account 'admin'."))
        self.stdout.write(
            f"Sign in once with this link (24 h, single use):\n  {one_time_url(token)}"
        )
