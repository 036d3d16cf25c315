"""The S3 emulator launcher (devtools/s3_emulator.py) against real LocalStack processes.

Each test starts its own emulator in a temporary state folder. No shared FILESYSTEM_ROOT is
needed for speed: ensure_venv prebuilds LocalStack's service catalogue index once per venv and
start_emulator seeds every new state folder with it, so a fresh start is ~1 s and ~170 MiB.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
import requests
from botocore.config import Config

from devtools.s3_emulator import (
    Emulator,
    EmulatorError,
    ensure_venv,
    running_emulator,
    start_emulator,
)

ROOT = Path(__file__).resolve().parents[2]
SECRET = "test"  # LocalStack accepts any access key id with this secret


@pytest.fixture(scope="module")
def emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Emulator]:
    with start_emulator(ROOT, tmp_path_factory.mktemp("s3-state")) as running:
        yield running


def client(endpoint_url: str, secret: str = SECRET) -> Any:
    """A client set up the way TESTING.md requires: SigV4 and path-style addressing."""
    return boto3.client(
        "s3",
        endpoint_url=endpoint_url,
        aws_access_key_id="test",
        aws_secret_access_key=secret,
        region_name="us-east-1",
        config=Config(signature_version="s3v4", s3={"addressing_style": "path"}),
    )


def new_bucket(s3: Any) -> str:
    name = f"t-{uuid.uuid4().hex[:20]}"
    s3.create_bucket(Bucket=name)
    return name


def loopback_listeners(port: int) -> list[str]:
    """Local addresses (hex, as in /proc/net/tcp*) of every socket listening on this port."""
    found = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            local, state = line.split()[1], line.split()[3]
            address, hex_port = local.rsplit(":", 1)
            if state == "0A" and int(hex_port, 16) == port:  # 0A = LISTEN
                found.append(address)
    return found


def wait_until_gone(pid: int, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.1)
    return False


def test_ensure_venv_is_idempotent_and_fast() -> None:
    started = time.monotonic()
    venv = ensure_venv(ROOT)
    assert venv == ROOT / ".venv-s3"
    assert (venv / "bin" / "python").exists()
    assert time.monotonic() - started < 1.0


def test_start_serves_s3_with_sigv4_path_style(emulator: Emulator) -> None:
    assert emulator.endpoint_url == f"http://127.0.0.1:{emulator.port}"
    health = requests.get(f"{emulator.endpoint_url}/_localstack/health", timeout=10).json()
    assert health["services"]["s3"] in ("available", "running")

    s3 = client(emulator.endpoint_url)
    bucket = new_bucket(s3)
    s3.put_object(Bucket=bucket, Key="dir/reads.fastq", Body=b"ACGT" * 1000)
    body = s3.get_object(Bucket=bucket, Key="dir/reads.fastq")["Body"].read()
    assert body == b"ACGT" * 1000


def test_state_files_record_the_running_emulator(emulator: Emulator) -> None:
    assert emulator.state_dir is not None
    assert (emulator.state_dir / "endpoint").read_text().strip() == emulator.endpoint_url
    assert (emulator.state_dir / "pid").read_text().strip() == str(emulator.pid)
    found = running_emulator(emulator.state_dir)
    assert found is not None
    assert (found.pid, found.port) == (emulator.pid, emulator.port)


def test_tampered_presigned_url_is_rejected(emulator: Emulator) -> None:
    s3 = client(emulator.endpoint_url)
    bucket = new_bucket(s3)
    s3.put_object(Bucket=bucket, Key="k", Body=b"secret")
    url = s3.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "k"})
    assert "X-Amz-Signature=" in url  # SigV4, not SigV2

    assert requests.get(url, timeout=10).content == b"secret"
    signature = url.split("X-Amz-Signature=")[1][:64]
    flipped = ("0" if signature[0] != "0" else "1") + signature[1:]
    tampered = requests.get(url.replace(signature, flipped), timeout=10)
    assert tampered.status_code == 403
    assert b"SignatureDoesNotMatch" in tampered.content

    other_key = client(emulator.endpoint_url, secret="not-test")
    url = other_key.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "k"})
    assert requests.get(url, timeout=10).status_code == 403


def test_listens_on_loopback_only(emulator: Emulator) -> None:
    assert loopback_listeners(emulator.port) == ["0100007F"]  # 127.0.0.1, nothing on 0.0.0.0/::


def test_object_storage_is_per_instance(tmp_path: Path, emulator: Emulator) -> None:
    bucket = f"t-{uuid.uuid4().hex[:20]}"
    with start_emulator(ROOT, tmp_path / "other") as other:
        first, second = client(emulator.endpoint_url), client(other.endpoint_url)
        for s3 in (first, second):
            s3.create_bucket(Bucket=bucket)
        second.put_object(Bucket=bucket, Key="k", Body=b"kept")

        assert emulator.state_dir is not None
        assert (emulator.state_dir / "objects" / bucket).is_dir()
        assert (tmp_path / "other" / "objects" / bucket).is_dir()
        assert not Path("/tmp/localstack-s3-storage", bucket).exists()

        # LocalStack's shared folder made one instance's DeleteBucket remove the other's files.
        first.delete_bucket(Bucket=bucket)
        assert (tmp_path / "other" / "objects" / bucket).is_dir()
        assert second.get_object(Bucket=bucket, Key="k")["Body"].read() == b"kept"


def test_stop_kills_it_and_frees_the_port(tmp_path: Path) -> None:
    emulator = start_emulator(ROOT, tmp_path)
    emulator.stop()
    with pytest.raises(ProcessLookupError):
        os.kill(emulator.pid, 0)
    assert loopback_listeners(emulator.port) == []
    assert not (tmp_path / "pid").exists()
    assert not (tmp_path / "endpoint").exists()
    emulator.stop()  # stopping twice is harmless


def test_one_instance_per_state_dir(tmp_path: Path) -> None:
    with start_emulator(ROOT, tmp_path) as running:
        with pytest.raises(EmulatorError, match="already runs"):
            start_emulator(ROOT, tmp_path)
        assert requests.get(running.endpoint_url + "/_localstack/health", timeout=10).ok


def test_taken_port_fails_fast_with_the_log(tmp_path: Path) -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        started = time.monotonic()
        with pytest.raises(EmulatorError, match="Address already in use"):
            start_emulator(ROOT, tmp_path, port=port)
        assert time.monotonic() - started < 30
    assert not (tmp_path / "pid").exists()


def test_emulator_exits_when_its_parent_is_killed(tmp_path: Path) -> None:
    code = (
        "import sys; from pathlib import Path; from devtools.s3_emulator import start_emulator; "
        f"e = start_emulator(Path({str(ROOT)!r}), Path({str(tmp_path)!r})); "
        "print(e.pid, flush=True); sys.stdin.read()"
    )
    parent = subprocess.Popen(
        [sys.executable, "-c", code],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert parent.stdout is not None
    pid = int(parent.stdout.readline())
    parent.send_signal(signal.SIGKILL)  # no chance to clean up
    parent.wait()
    assert wait_until_gone(pid, 15), f"emulator {pid} outlived its parent"


def test_cli_start_and_stop(tmp_path: Path) -> None:
    cli = [sys.executable, "-m", "devtools.s3_emulator"]
    started = subprocess.run(
        [*cli, "start", "--state-dir", str(tmp_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    endpoint = started.stdout.strip()
    pid = int((tmp_path / "pid").read_text())
    try:
        assert endpoint == (tmp_path / "endpoint").read_text().strip()
        assert requests.get(endpoint + "/_localstack/health", timeout=10).ok
    finally:
        subprocess.run(
            [*cli, "stop", "--state-dir", str(tmp_path)], cwd=ROOT, timeout=60, check=True
        )
    assert wait_until_gone(pid, 5)
    assert not (tmp_path / "pid").exists()
