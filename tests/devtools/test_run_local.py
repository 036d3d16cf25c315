"""`make run`'s launcher as a user meets it: the whole local topology (embedded PostgreSQL and
Redis, the S3 emulator with its state kept, gunicorn, a Celery worker and beat, the demo
pipeline) started on a data folder of its own; files, entries and projects go through it; a stop
leaves nothing running, a restart keeps everything, and a SIGKILL is reported and repaired."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest
import requests
from botocore.config import Config

from devtools.embedded import free_port
from tests.celery_worker import wait_until

ROOT = Path(__file__).resolve().parents[2]
START_TIMEOUT = 240.0  # a cold start under a loaded test run; measured times: docs/operations.md
READS = b"@read1\nACGTACGTAC\n+\nIIIIIIIIII\n" * 50


@dataclass
class Launcher:
    process: subprocess.Popen[str]
    var: Path
    base: str
    output: list[str]

    def text(self) -> str:
        return "".join(self.output)

    def token(self) -> str:
        return (self.var / "run" / "demo-token").read_text().strip()

    def api(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        headers = {"Authorization": f"Bearer {self.token()}", **kwargs.pop("headers", {})}
        return requests.request(method, f"{self.base}{path}", headers=headers, timeout=60, **kwargs)

    def endpoints(self) -> dict[str, str]:
        return dict(json.loads((self.var / "run" / "local.json").read_text()))

    def s3(self) -> Any:
        return boto3.client(
            "s3",
            endpoint_url=self.endpoints()["S3_ENDPOINT_URL"],
            aws_access_key_id="test",
            aws_secret_access_key="test",
            region_name="us-east-1",
            config=Config(signature_version="s3v4", s3={"addressing_style": "path"}),
        )

    def descendants(self) -> set[int]:
        """Every process below the launcher (servers run in sessions of their own)."""
        parents: dict[int, int] = {}
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                try:
                    parents[int(entry.name)] = int(
                        (entry / "stat").read_text().rsplit(")", 1)[1].split()[1]
                    )
                except (OSError, IndexError, ValueError):
                    continue
        found, frontier = set(), {self.process.pid}
        while frontier:
            children = {pid for pid, parent in parents.items() if parent in frontier}
            frontier = children - found
            found |= children
        return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def _launcher_env(var: Path, port: int) -> dict[str, str]:
    # What the test run exports for its own servers must not leak into the local default.
    drop = ("DJANGO_", "DATABASE_", "REDIS_", "CELERY_", "S3_", "PYTEST_", "WEB_ORIGINS")
    env = {k: v for k, v in os.environ.items() if not k.startswith(drop)}
    return {
        **env,
        "SEQVAULT_VAR_DIR": str(var),
        "PORT": str(port),
        "WEB_WORKERS": "1",
        # Saved only at a clean stop: a SIGKILL then loses what came after the last start.
        "S3_EMULATOR_SAVE_INTERVAL_SECONDS": "3600",
    }


@pytest.fixture
def launch() -> Iterator[Any]:
    started: list[Launcher] = []
    # In the project's state folder: PostgreSQL runs as another user when the tests run as root,
    # and pytest keeps its own temporary folders closed to other users.
    var = ROOT / "var" / "test-launcher" / uuid.uuid4().hex[:12]
    port = free_port()

    def start() -> Launcher:
        process = subprocess.Popen(
            [sys.executable, "-m", "devtools.run_local"],
            cwd=ROOT,
            env=_launcher_env(var, port),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        output: list[str] = []
        assert process.stdout is not None
        threading.Thread(target=lambda: output.extend(process.stdout), daemon=True).start()  # type: ignore[arg-type]
        launcher = Launcher(process, var, f"http://127.0.0.1:{port}", output)
        started.append(launcher)
        wait_until(
            lambda: "Serving seqvault" in launcher.text() or process.poll() is not None,
            timeout=START_TIMEOUT,
            what="the launcher to serve",
        )
        assert process.poll() is None, launcher.text()
        return launcher

    yield start
    for launcher in started:
        for pid in launcher.descendants() | {launcher.process.pid}:
            with _suppress():
                os.kill(pid, signal.SIGKILL)
    shutil.rmtree(var, ignore_errors=True)


class _suppress:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: Any) -> bool:
        return exc[0] is ProcessLookupError


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def upload(launcher: Launcher, group_id: int, data: bytes, name: str) -> str:
    """Request, PUT exactly the returned headers, confirm; the worker verifies it."""
    answer = launcher.api(
        "POST",
        "/api/files/request-uploads",
        json={
            "groupId": group_id,
            "files": [
                {"name": name, "size": len(data), "sha256": hashlib.sha256(data).hexdigest()}
            ],
        },
    )
    assert answer.status_code == 200, answer.text
    [ticket] = answer.json()
    put = requests.put(ticket["url"], data=data, headers=ticket["headers"], timeout=60)
    assert put.status_code == 200, put.text
    assert launcher.api("POST", f"/api/files/{ticket['fileId']}/confirm").status_code == 202
    return str(ticket["fileId"])


def file_status(launcher: Launcher, file_id: str) -> dict[str, Any]:
    return dict(launcher.api("GET", f"/api/files/{file_id}/").json())


def demo_group(launcher: Launcher) -> int:
    [group] = [g for g in launcher.api("GET", "/api/groups/").json() if g["name"] == "Demo Lab"]
    return int(group["id"])


def submit_entry(launcher: Launcher, group_id: int, file_id: str) -> str:
    metadata = (
        "submissionId\tsampleCollectionDate\tgeoLocCountry\tfiles.raw_reads\n"
        f"s1\t2024-05-01\tSwitzerland\trun1.fastq:{file_id}\n"
    )
    answer = launcher.api(
        "POST",
        f"/api/submit?groupId={group_id}",
        files={"metadataFile": ("metadata.tsv", metadata.encode())},
    )
    assert answer.status_code == 200, answer.text
    return f"{answer.json()[0]['accession']}.1"


def project_with_metadata(launcher: Launcher, group_id: int) -> str:
    reads = b"@r\nACGT\n+\nIIII\n"
    document = json.dumps(
        {
            "$schema": "sequencing_run/v1.json",
            "path": "reads.fastq",
            "sample": "local-sample-7",
            "platform": "ILLUMINA",
            "instrument": "NovaSeq 6000",
            "read_count": 42,
        }
    ).encode()
    files = {"reads.fastq": reads, "reads.fastq.json": document}
    started = launcher.api(
        "POST",
        "/api/projects/upload",
        json={"filenames": list(files), "group": str(group_id)},
    )
    assert started.status_code == 200, started.text
    answer = started.json()
    for name, data in files.items():
        headers = answer.get("upload_headers", {}).get(name, {})
        put = requests.put(answer["presigned_urls"][name], data=data, headers=headers, timeout=60)
        assert put.status_code == 200, put.text
    completion = launcher.api("PUT", answer["completion_url"], json={"read_access": "public"})
    assert completion.status_code == 202, completion.text
    job_id = completion.json()["job_id"]

    def finished() -> dict[str, Any] | None:
        job = requests.get(f"{launcher.base}/api/jobs/{job_id}", timeout=30).json()
        return dict(job) if job["status"] in ("SUCCESS", "FAILURE") else None

    job = wait_until(finished, timeout=90, what="the completion job")
    assert job["status"] == "SUCCESS", job
    return str(answer["project_id"])


def stop(launcher: Launcher) -> float:
    """SIGTERM, as Ctrl-C or a service manager would; seconds until every process is gone."""
    pids = launcher.descendants()
    assert len(pids) >= 7, "postgres, redis, the S3 emulator, web, worker, beat and pipeline"
    started = time.monotonic()
    launcher.process.send_signal(signal.SIGTERM)
    assert launcher.process.wait(30) == 0, launcher.text()
    wait_until(lambda: not any(_alive(pid) for pid in pids), timeout=15, what="every process")
    return time.monotonic() - started


def test_the_local_default_runs_production_topology_keeps_data_and_repairs_after_sigkill(
    launch: Any,
) -> None:
    # given a first start on an empty data folder
    first = launch()
    health = requests.get(f"{first.base}/api/health/", timeout=30).json()
    assert health == {"status": "ok", "database": "ok", "storage": "ok", "broker": "ok"}
    assert first.endpoints()["DATABASE_URL"].startswith("postgres://postgres@127.0.0.1:")
    group_id = demo_group(first)

    # a file confirmed over the API is verified by the worker, not inline
    file_id = upload(first, group_id, READS, "run1.fastq")
    wait_until(lambda: file_status(first, file_id)["status"] == "verified", timeout=60)

    # submit -> the demo pipeline processes it -> approve -> released data lists it
    accession_version = submit_entry(first, group_id, file_id)
    wait_until(
        lambda: (
            first.api("GET", f"/api/entries/{accession_version}/").json()["status"] == "PROCESSED"
        ),
        timeout=90,
        what="the demo pipeline to process the entry",
    )
    approved = first.api("POST", "/api/approve", json={"accessionVersions": [accession_version]})
    assert approved.status_code == 200, approved.text
    wait_until(
        lambda: file_status(first, file_id)["releasedAt"] is not None,
        timeout=60,
        what="the release task",
    )
    released = requests.get(f"{first.base}/api/released-data", timeout=30)
    assert accession_version in released.text
    tags = first.s3().get_object_tagging(Bucket="seqvault", Key=f"files/{file_id}")["TagSet"]
    assert {"Key": "public", "Value": "true"} in tags

    # projects: completion with a metadata document, then search finds it
    project_id = project_with_metadata(first, group_id)
    found = requests.get(
        f"{first.base}/api/projects/search", params={"q": "local-sample-7"}, timeout=30
    )
    assert found.status_code == 200, found.text
    assert [d["_extra"]["project_id"] for d in found.json()["results"]] == [project_id]

    # concurrent writes all succeed (PostgreSQL, not a locked file)
    with ThreadPoolExecutor(10) as pool:
        answers = list(
            pool.map(
                lambda n: (
                    first.api(
                        "POST",
                        "/api/files/request-uploads",
                        json={"groupId": group_id, "files": [{"name": f"par{n}.fastq", "size": 4}]},
                    ).status_code
                ),
                range(20),
            )
        )
    assert answers == [200] * 20

    # beat runs the schedule (sweep-project-uploads is due every minute)
    wait_until(lambda: "Sending due task" in first.text(), timeout=90, what="beat to send a task")
    version_before = first.s3().head_object(Bucket="seqvault", Key=f"files/{file_id}")["VersionId"]

    # a SIGTERM stops every process it started within 10 s
    assert stop(first) <= 10.0
    assert not (first.var / "run" / "local.json").exists()

    # a restart serves the same token, file bytes, version, tags, entries and bucket settings
    second = launch()
    assert "did not stop cleanly" not in second.text()
    record = file_status(second, file_id)
    assert (record["status"], record["size"]) == ("verified", len(READS))
    s3 = second.s3()
    head = s3.head_object(Bucket="seqvault", Key=f"files/{file_id}")
    assert head["VersionId"] == version_before
    downloaded = second.api("GET", f"/api/files/{file_id}/download")
    assert downloaded.content == READS
    assert {"Key": "public", "Value": "true"} in s3.get_object_tagging(
        Bucket="seqvault", Key=f"files/{file_id}", VersionId=head["VersionId"]
    )["TagSet"]
    assert s3.get_bucket_versioning(Bucket="seqvault")["Status"] == "Enabled"
    assert "public" in s3.get_bucket_policy(Bucket="seqvault")["Policy"]
    assert "ETag" in s3.get_bucket_cors(Bucket="seqvault")["CORSRules"][0]["ExposeHeaders"]
    assert s3.get_bucket_lifecycle_configuration(Bucket="seqvault")["Rules"]
    entry = second.api("GET", f"/api/entries/{accession_version}/").json()
    assert entry["status"] == "APPROVED_FOR_RELEASE"
    assert second.api("GET", f"/api/projects/{project_id}/version/1/metadata").status_code == 200

    # an object uploaded after that start, then everything killed without a chance to save
    lost_id = upload(second, group_id, b"lost bytes\n" * 100, "lost.fastq")
    wait_until(lambda: file_status(second, lost_id)["status"] == "verified", timeout=60)
    everything = second.descendants() | {second.process.pid}
    for pid in everything:
        with _suppress():
            os.kill(pid, signal.SIGKILL)
    wait_until(lambda: not any(_alive(pid) for pid in everything), timeout=15)

    # the next start says what it could not restore, and the file no longer claims its bytes
    third = launch()
    text = third.text()
    assert "did not stop cleanly" in text
    assert "stopped without saving" in text
    assert "1 of" in text and "lost their object" in text, text
    lost = file_status(third, lost_id)
    assert lost["status"] == "failed"
    assert "missing from storage" in lost["failureReason"]
    assert third.api("GET", f"/api/files/{lost_id}/download").status_code == 409
    assert third.api("GET", f"/api/files/{file_id}/download").content == READS
    assert stop(third) <= 10.0


def test_make_test_without_postgresql_or_redis_starts_the_embedded_ones(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import contextlib

    import psycopg
    import redis

    from devtools import run_tests

    # given a machine where nothing is configured or listening on the usual ports
    for name in ("DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(run_tests, "listening", lambda port: False)
    state = ROOT / "var" / "test-launcher" / uuid.uuid4().hex[:12]
    try:
        with contextlib.ExitStack() as stack:
            # when the test runner looks for its services
            found = run_tests.local_services(stack, state)

            # then it started PostgreSQL and Redis of its own, and they answer
            assert found["DATABASE_URL"].startswith("postgres://postgres@127.0.0.1:")
            assert found["REDIS_URL"] == found["CELERY_BROKER_URL"]
            run_tests.ensure_database(found["DATABASE_URL"])
            with psycopg.connect(found["DATABASE_URL"]) as connection:
                assert connection.execute("SHOW server_version").fetchone()[0].startswith("18.")
            assert redis.Redis.from_url(found["REDIS_URL"]).ping() is True
        # and stopped them when done
        assert not (state / "test-postgres" / "data" / "postmaster.pid").exists()
    finally:
        shutil.rmtree(state, ignore_errors=True)


def test_configured_services_are_used_as_they_are(monkeypatch: pytest.MonkeyPatch) -> None:
    import contextlib

    from devtools import run_tests

    monkeypatch.setenv("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/elsewhere")
    monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:6379/3")
    monkeypatch.setattr(run_tests, "listening", lambda port: False)
    with contextlib.ExitStack() as stack:
        assert run_tests.local_services(stack) == {}
