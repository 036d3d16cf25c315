from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.db import transaction

from accounts.services import token_create, user_get_or_create
from groups.models import Group, Membership
from groups.services import group_create, group_membership_set, user_grant_pipeline_role


class Command(BaseCommand):
    help = (
        "Create USERNAME if missing (and --group, with the user as admin) and print only a new "
        "API token. --pipeline grants the pipeline role, --staff makes a curator."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")
        parser.add_argument("--group", help="Group to create, or to join as admin.")
        parser.add_argument("--pipeline", action="store_true", help="Grant the pipeline role.")
        parser.add_argument("--staff", action="store_true", help="Make the user a curator.")
        parser.add_argument("--name", default="issued by manage.py", help="Token label.")

    def handle(self, *args: Any, **options: Any) -> None:
        with transaction.atomic():
            user, _ = user_get_or_create(username=options["username"], is_staff=options["staff"])
            if options["pipeline"]:
                user_grant_pipeline_role(actor=None, user=user)
            if options["group"]:
                group = Group.objects.filter(name=options["group"]).first()
                if group is None:
                    group_create(user=user, name=options["group"])
                else:
                    group_membership_set(
                        actor=None, group=group, user=user, role=Membership.Role.ADMIN
                    )
            issued = token_create(user=user, name=options["name"])
        self.stdout.write(issued.raw)
