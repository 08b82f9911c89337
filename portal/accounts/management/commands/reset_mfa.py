from allauth.mfa.models import Authenticator
from allauth.usersessions.models import UserSession
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from portal.audit.api import record
from portal.lib.access import Role, has_role


class Command(BaseCommand):
    help = (
        "Remove every second factor (authenticator app, passkeys, recovery codes) of one "
        "account and end its sessions, for a person who lost them all. An Admin is asked to "
        "enrol a new factor at the next sign-in."
    )

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument(
            "--no-input",
            action="store_true",
            help="do not ask to type the username again to confirm",
        )

    def handle(self, username, no_input, **options):
        user = get_user_model().objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"No account named {username!r}.")
        factors = sorted(
            set(Authenticator.objects.filter(user=user).values_list("type", flat=True))
        )
        if not factors:
            raise CommandError(f"{username!r} has no second factor: nothing to remove.")
        if not no_input:
            self.stdout.write(f"This removes {', '.join(factors)} from {username!r}.")
            if input("Type the username to confirm: ").strip() != username:
                raise CommandError("Not confirmed: nothing was changed.")
        with transaction.atomic():
            Authenticator.objects.filter(user=user).delete()
            ended = 0
            for session in UserSession.objects.filter(user=user):
                session.end()
                ended += 1
            record(
                "mfa.remove_all",
                target=user,
                before={"factors": factors},
                after={"factors": [], "sessions_ended": ended},
            )
        removed = ", ".join(factors)
        self.stdout.write(
            self.style.SUCCESS(f"Removed {removed} from {username!r}; {ended} session(s) ended.")
        )
        if has_role(user, Role.ADMIN):
            self.stdout.write(
                "The next sign-in asks for a new second factor before anything else. "
                f"If the password is lost too: manage.py createadmin {username}"
            )
