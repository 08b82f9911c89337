import os

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.core.validators import validate_email

from portal.accounts.bootstrap import ensure_admin, one_time_url


class Command(BaseCommand):
    help = (
        "Create (or promote) an Admin account and print a one-time sign-in link. "
        "No default password exists: the person sets one after following the link."
    )

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--email", default="")
        parser.add_argument(
            "--password-env",
            metavar="VAR",
            help="read the password from this environment variable instead of issuing a link",
        )
        parser.add_argument("--hours", type=int, default=24, help="link lifetime (default 24)")

    def handle(self, username, email, password_env, hours, **options):
        if not 1 <= hours <= 168:
            raise CommandError("--hours must be between 1 and 168.")
        if email:
            try:
                validate_email(email)
            except ValidationError:
                raise CommandError(f"{email!r} is not a valid email address.")
        password = None
        if password_env:
            password = os.environ.get(password_env)
            if not password:
                raise CommandError(f"Environment variable {password_env} is empty or not set.")
        try:
            user, created, token = ensure_admin(username, email, password, hours)
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages))
        verb = "Created" if created else "Updated"
        self.stdout.write(self.style.SUCCESS(f"{verb} Admin account {username!r}."))
        if token:
            self.stdout.write(
                f"One-time sign-in link (valid {hours} h, single use):\n  {one_time_url(token)}"
            )
