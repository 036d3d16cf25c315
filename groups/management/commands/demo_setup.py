from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.db import transaction

from accounts.services import token_create, user_get_or_create
from groups.models import Group
from groups.services import group_create


class Command(BaseCommand):
    help = "Create the demo user (password 'demo'), its group and an API token; print them."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--base-url", default="http://127.0.0.1:8000")

    def handle(self, *args: Any, **options: Any) -> None:
        with transaction.atomic():
            user, _ = user_get_or_create(username="demo", is_staff=True)
            user.set_password("demo")
            user.is_superuser = True
            user.save()
            group = Group.objects.filter(name="Demo Lab").first() or group_create(
                user=user, name="Demo Lab", institution="seqvault demo"
            )
            token = token_create(user=user, name="demo").raw
        base = options["base_url"]
        self.stdout.write(
            f"""
Demo user:  demo / demo  (signs in at {base}/accounts/login/, curator in {base}/admin/)
Group:      {group.name} (id {group.pk})
API token:  {token}

Try it:
  curl -s -H "Authorization: Bearer {token}" {base}/api/groups/
  curl -s -H "Authorization: Bearer {token}" -H "Content-Type: application/json" \\
       -d '{{"groupId": {group.pk}, "files": [{{"name": "reads.fastq", "size": 6}}]}}' \\
       {base}/api/files/request-uploads
"""
        )
