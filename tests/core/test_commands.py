"""manage.py issue_token, setup_bucket and demo_setup."""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
import uuid
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from rest_framework.test import APIClient

from accounts.models import ApiToken
from filesharing import s3
from groups.models import Group, Membership
from groups.permissions import user_is_pipeline

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parents[2]


def issue(*args: str) -> str:
    out = StringIO()
    call_command("issue_token", *args, stdout=out)
    return out.getvalue()


def test_issue_token_prints_only_a_working_token() -> None:
    output = issue("alice", "--group", "Alice Lab")
    token = output.strip()
    assert output == token + "\n"
    assert token.startswith("sv_")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    groups = client.get("/api/groups/").json()
    assert [g["name"] for g in groups] == ["Alice Lab"]
    membership = Membership.objects.get(user__username="alice")
    assert membership.role == "admin"


def test_issue_token_joins_an_existing_group_and_grants_roles() -> None:
    issue("alice", "--group", "Shared")
    issue("bob", "--group", "Shared", "--pipeline", "--staff")
    group = Group.objects.get(name="Shared")
    assert set(group.memberships.values_list("user__username", "role")) == {
        ("alice", "admin"),
        ("bob", "admin"),
    }
    bob = Membership.objects.get(user__username="bob").user
    assert bob.is_staff
    assert user_is_pipeline(bob)
    assert ApiToken.objects.filter(user=bob).count() == 1


def test_issue_token_twice_gives_two_tokens_for_one_user() -> None:
    first, second = issue("carol").strip(), issue("carol").strip()
    assert first != second
    assert ApiToken.objects.filter(user__username="carol").count() == 2


def test_setup_bucket_command_reports_each_step() -> None:
    out = StringIO()
    call_command("setup_bucket", stdout=out)
    text = out.getvalue()
    assert "versioning enabled" in text
    assert "public read of objects tagged public=true" in text
    assert "abort multipart uploads after 7 days" in text
    assert "is ready" in text


def test_setup_bucket_warns_without_the_owner_arn_and_installs_the_owner_rule_with_it(
    settings: Any,
) -> None:
    # a bucket of its own: other tests read the shared bucket's policy
    storages = copy.deepcopy(settings.STORAGES)
    storages["files"]["OPTIONS"]["bucket_name"] = f"seqvault-owner-{uuid.uuid4().hex[:12]}"
    settings.STORAGES = storages
    settings.S3_OWNER_PRINCIPAL_ARN = []
    out = StringIO()
    call_command("setup_bucket", stdout=out)
    assert "WARNING: S3_OWNER_PRINCIPAL_ARN is not set" in out.getvalue()

    owners = ["arn:aws:iam::123456789012:user/seqvault", "arn:aws:iam::123456789012:root"]
    settings.S3_OWNER_PRINCIPAL_ARN = owners
    out = StringIO()
    call_command("setup_bucket", stdout=out)
    assert "WARNING" not in out.getvalue()
    assert f"tags and ACLs changed only by {', '.join(owners)}" in out.getvalue()
    policy = json.loads(s3.client().get_bucket_policy(Bucket=s3.bucket())["Policy"])
    [rule] = [s for s in policy["Statement"] if s["Sid"] == "OnlySeqvaultChangesTagsAndAcls"]
    assert (rule["Effect"], rule["NotPrincipal"]) == ("Deny", {"AWS": owners})
    assert set(rule["Action"]) == {
        "s3:PutObjectTagging",
        "s3:PutObjectVersionTagging",
        "s3:DeleteObjectTagging",
        "s3:DeleteObjectVersionTagging",
        "s3:PutObjectAcl",
        "s3:PutObjectVersionAcl",
    }
    s3.client().delete_bucket(Bucket=s3.bucket())


def test_demo_setup_prints_user_group_token_and_curl() -> None:
    out = StringIO()
    call_command("demo_setup", "--base-url", "http://127.0.0.1:9000", stdout=out)
    text = out.getvalue()
    assert "demo / demo" in text
    assert 'curl -s -H "Authorization: Bearer sv_' in text
    assert "http://127.0.0.1:9000/api/files/request-uploads" in text
    assert Group.objects.filter(name="Demo Lab").exists()


def test_manage_py_defaults_to_the_local_settings_on_postgresql_with_a_real_worker(
    tmp_path: Any,
) -> None:
    # given the services file a running `make run` writes
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "local.json").write_text(
        '{"DATABASE_URL": "postgres://postgres@127.0.0.1:5999/seqvault", '
        '"CELERY_BROKER_URL": "redis://127.0.0.1:6999/0"}'
    )
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DJANGO_SETTINGS", "DATABASE_", "CELERY_"))
    }
    env["SEQVAULT_VAR_DIR"] = str(tmp_path)
    result = subprocess.run(
        [sys.executable, "manage.py", "diffsettings", "--all"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert "SETTINGS_MODULE = 'config.settings.local'" in result.stdout
    assert "'ENGINE': 'core.postgresql'" in result.stdout
    assert "'PORT': 5999" in result.stdout
    assert "CELERY_BROKER_URL = 'redis://127.0.0.1:6999/0'" in result.stdout
    assert "CELERY_TASK_ALWAYS_EAGER = False" in result.stdout


def test_manage_py_without_running_local_services_says_how_to_start_them(tmp_path: Any) -> None:
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_SETTINGS", "DATABASE_"))
    }
    env["SEQVAULT_VAR_DIR"] = str(tmp_path)
    result = subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 1
    assert "start them with `make run`" in result.stderr
