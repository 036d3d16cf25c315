from pathlib import Path
from typing import Any

from django.contrib.auth.models import User
from django.core.management.base import BaseCommand, CommandParser
from django.db import transaction

from accounts.models import ApiToken
from accounts.services import token_create, token_hash, user_get_or_create
from groups.models import Group
from groups.services import group_create, user_grant_pipeline_role


def _kept_token(*, user: User, name: str, token_file: Path | None) -> str:
    """The token saved in token_file while it still works, else a new one (saved there)."""
    if token_file is not None and token_file.is_file():
        raw = token_file.read_text().strip()
        token = ApiToken.objects.filter(token_hash=token_hash(raw), user=user).first()
        if token is not None and token.is_active:
            return raw
    raw = token_create(user=user, name=name).raw
    if token_file is not None:
        token_file.parent.mkdir(parents=True, exist_ok=True)
        token_file.touch(mode=0o600)
        token_file.write_text(raw + "\n")
    return raw


class Command(BaseCommand):
    help = (
        "Create the demo user (password 'demo'), its group and an API token, and optionally the "
        "demo pipeline's account; print them. With token files, tokens are kept across runs."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--base-url", default="http://127.0.0.1:8000")
        parser.add_argument("--token-file", type=Path, help="keep the demo user's token here")
        parser.add_argument(
            "--pipeline-token-file",
            type=Path,
            help="create the demo-pipeline account (pipeline role) and keep its token here",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        with transaction.atomic():
            user, created = user_get_or_create(username="demo", is_staff=True)
            if created or not user.has_usable_password():
                user.set_password("demo")
            user.is_superuser = True
            user.save()
            group = Group.objects.filter(name="Demo Lab").first() or group_create(
                user=user, name="Demo Lab", institution="seqvault demo"
            )
            token = _kept_token(user=user, name="demo", token_file=options["token_file"])
            if pipeline_file := options["pipeline_token_file"]:
                pipeline, _ = user_get_or_create(username="demo-pipeline")
                if not pipeline.has_perm("groups.act_as_pipeline"):
                    user_grant_pipeline_role(actor=None, user=pipeline)
                _kept_token(user=pipeline, name="demo pipeline", token_file=pipeline_file)
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
