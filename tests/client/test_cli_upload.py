"""`seqvault upload` against a live server and the S3 emulator: real bytes, real subprocesses."""

from __future__ import annotations

import signal
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from django.test import override_settings

from core.models import AuditEvent
from filesharing import s3
from filesharing.models import File, MultipartUpload
from tests.client.conftest import (
    MIB,
    SMALL_PARTS,
    Cli,
    json_lines,
    read_until,
    stored_bytes,
    write_random,
)
from tests.client.faults import fault_proxy, part_number
from tests.conftest import sha256_hex

pytestmark = pytest.mark.django_db(transaction=True)


def part_url_requests(upload_id: str, *, after: int = 0) -> list[int]:
    """Part numbers the server issued URLs for (audit rows), in order."""
    rows = AuditEvent.objects.filter(
        action="multipart.part_urls_issued", object_id=upload_id, id__gt=after
    ).order_by("id")
    return [number for row in rows for number in row.details["parts"]]


@pytest.mark.rgw  # on Ceph RGW too: parts bound by Content-MD5, the whole file hashed
def test_uploads_a_folder_printing_name_tab_file_id(cli: Cli, tmp_path: Path) -> None:
    # given a folder with a small file and a 12 MiB one
    small = write_random(tmp_path / "run" / "reads_R1.fastq", 3000)
    large = write_random(tmp_path / "run" / "sub" / "reads.bam", 12 * MIB)

    # when it is uploaded
    done = cli.run("upload", str(tmp_path / "run"), "--group", cli.group, *SMALL_PARTS)

    # then each file is printed with its ID, verified with its SHA-256, and S3 holds its bytes
    assert done.returncode == 0, done.stderr
    lines = [line.split("\t") for line in done.stdout.splitlines()]
    assert [name for name, _ in lines] == ["reads_R1.fastq", "reads.bam"]
    ids = dict(lines)
    for name, data in (("reads_R1.fastq", small), ("reads.bam", large)):
        file = File.objects.get(pk=ids[name])
        assert (file.status, file.name, file.size) == ("verified", name, len(data))
        assert file.sha256 == sha256_hex(data)
        assert stored_bytes(ids[name]) == data
    upload = MultipartUpload.objects.get(file_id=ids["reads.bam"])
    assert (upload.status, upload.part_size, upload.part_count) == ("accepted", 5 * MIB, 3)
    assert not MultipartUpload.objects.filter(file_id=ids["reads_R1.fastq"]).exists()
    assert done.stderr == ""  # quiet when not a terminal
    assert not list((cli.config_dir / "uploads").glob("*.json"))


def test_json_output_and_the_same_content_is_not_sent_twice(cli: Cli, tmp_path: Path) -> None:
    data = write_random(tmp_path / "a.fastq", 1000)
    first = cli.run("upload", str(tmp_path / "a.fastq"), "-g", cli.group, "--json")
    (tmp_path / "b.fastq").write_bytes(data)
    second = cli.run("upload", str(tmp_path / "b.fastq"), "-g", cli.group, "--json")
    [one], [two] = json_lines(first.stdout), json_lines(second.stdout)
    assert one["deduplicated"] is False
    assert one["status"] == "verified"
    assert one["sha256"] == sha256_hex(data)
    assert two["deduplicated"] is True
    assert two["fileId"] == one["fileId"]
    assert two["name"] == "b.fastq"
    assert File.objects.count() == 1
    third = cli.run("upload", str(tmp_path / "b.fastq"), "-g", cli.group, "--no-dedup")
    assert third.stdout.split("\t")[1].strip() != one["fileId"]


def test_large_files_deduplicate_when_hashed_first(cli: Cli, tmp_path: Path) -> None:
    write_random(tmp_path / "big.bam", 9 * MIB)
    first = cli.run("upload", str(tmp_path / "big.bam"), "-g", cli.group, *SMALL_PARTS)
    again = cli.run(
        "upload",
        str(tmp_path / "big.bam"),
        "-g",
        cli.group,
        "--json",
        "--hash-first",
        *SMALL_PARTS,
    )
    [result] = json_lines(again.stdout)
    assert result["deduplicated"] is True
    assert result["fileId"] == first.stdout.split("\t")[1].strip()
    assert MultipartUpload.objects.count() == 1


@pytest.mark.parametrize("how", [signal.SIGKILL, signal.SIGINT])
def test_an_upload_stopped_midway_resumes_sending_only_the_missing_parts(
    cli: Cli, tmp_path: Path, how: signal.Signals
) -> None:
    # given a 4-part upload stopped (killed, or Ctrl-C) once its first part was sent, while
    # the network holds every later part (so the stop always lands mid-upload)
    data = write_random(tmp_path / "reads.bam", 19 * MIB + 1234)
    args = ("-v", "upload", str(tmp_path / "reads.bam"), "-g", cli.group, "-j", "2", *SMALL_PARTS)

    def rule(method: str, url: str, attempt: int) -> str | None:
        return "stall" if method == "PUT" and (part_number(url) or 0) >= 2 else None

    with fault_proxy(rule) as (proxy_url, _):
        process = cli.start(*args, HTTP_PROXY=proxy_url)
        read_until(process, "part 1 sent")
        process.send_signal(how)
        _, stderr = process.communicate(timeout=30)
    if how == signal.SIGINT:
        assert process.returncode == 130
        assert "Run the same command again to resume" in stderr
    else:
        assert process.returncode == -signal.SIGKILL
    upload = MultipartUpload.objects.get()
    assert upload.status == "pending"
    held = {
        p.number
        for p in s3.multipart_list_parts(key=upload.file.key, upload_id=upload.s3_upload_id)
    }
    assert held == {1}
    last_audit = AuditEvent.objects.order_by("-id").values_list("id", flat=True)[0]

    # when the same command runs again
    done = cli.run(*args)

    # then only the parts S3 lacked are sent, into the same upload, and the file is whole
    assert done.returncode == 0, done.stderr
    assert sorted(part_url_requests(str(upload.pk), after=last_audit)) == [2, 3, 4]
    assert f"resuming upload {upload.pk}" in done.stderr
    sent = sorted(
        int(line.split("part ")[1].split()[0])
        for line in done.stderr.splitlines()
        if " sent (" in line
    )
    assert sent == [2, 3, 4]
    upload.refresh_from_db()
    assert upload.status == "accepted"
    assert MultipartUpload.objects.count() == 1
    assert done.stdout == f"reads.bam\t{upload.file_id}\n"
    file = File.objects.get(pk=upload.file_id)
    assert (file.status, file.sha256) == ("verified", sha256_hex(data))
    assert stored_bytes(str(file.pk)) == data


def test_a_file_changed_since_the_interruption_starts_over(cli: Cli, tmp_path: Path) -> None:
    path = tmp_path / "reads.bam"
    write_random(path, 16 * MIB)
    args = ("-v", "upload", str(path), "-g", cli.group, "-j", "1", *SMALL_PARTS)

    def rule(method: str, url: str, attempt: int) -> str | None:
        return "stall" if method == "PUT" and (part_number(url) or 0) >= 2 else None

    with fault_proxy(rule) as (proxy_url, _):
        process = cli.start(*args, HTTP_PROXY=proxy_url)
        read_until(process, "part 1 sent")
        process.kill()
        process.communicate(timeout=30)
    data = write_random(path, 16 * MIB)  # rewritten: new bytes, new mtime

    done = cli.run(*args)

    assert done.returncode == 0, done.stderr
    first, second = MultipartUpload.objects.order_by("created_at")
    assert first.status == "cancelled"
    assert second.status == "accepted"
    assert File.objects.get(pk=second.file_id).sha256 == sha256_hex(data)


def test_5xx_and_dropped_connections_are_retried(cli: Cli, tmp_path: Path) -> None:
    # given a network where part 2's first PUT gets a 500 and part 3's first PUT is cut off
    data = write_random(tmp_path / "reads.bam", 15 * MIB + 10)

    def rule(method: str, url: str, attempt: int) -> str | None:
        if method == "PUT" and attempt == 1:
            return {2: "500", 3: "drop"}.get(part_number(url) or 0)
        if method == "POST" and "request-uploads" in url and attempt == 1:
            return "500"
        return None

    with fault_proxy(rule) as (proxy_url, proxy):
        done = cli.run(
            "-v",
            "upload",
            str(tmp_path / "reads.bam"),
            "-g",
            cli.group,
            *SMALL_PARTS,
            HTTP_PROXY=proxy_url,
        )

    # then the upload succeeds, having tried those parts again
    assert done.returncode == 0, done.stderr
    puts = proxy.part_puts()
    assert (2, "500") in puts
    assert (3, "drop") in puts
    assert sorted(n for n, what in puts if what == "200") == [1, 2, 3, 4]
    assert "retrying" in done.stderr
    file = File.objects.get()
    assert (file.status, file.sha256) == ("verified", sha256_hex(data))


@pytest.mark.rgw  # on Ceph RGW too: its bare 403 to an expired URL is renewed the same way
def test_expired_part_urls_are_renewed(cli: Cli, tmp_path: Path) -> None:
    # given part URLs that live one second, and a network that holds each first PUT two seconds
    data = write_random(tmp_path / "reads.bam", 10 * MIB + 10)

    def rule(method: str, url: str, attempt: int) -> float | None:
        return 2.0 if method == "PUT" and part_number(url) and attempt == 1 else None

    with (
        override_settings(MULTIPART_PART_URL_LIFETIME=timedelta(seconds=1)),
        fault_proxy(rule) as (proxy_url, proxy),
    ):
        done = cli.run(
            "-v",
            "upload",
            str(tmp_path / "reads.bam"),
            "-g",
            cli.group,
            *SMALL_PARTS,
            HTTP_PROXY=proxy_url,
        )

    # then S3 refused the stale URLs and the client asked for fresh ones
    assert done.returncode == 0, done.stderr
    puts = proxy.part_puts()
    assert {n for n, what in puts if what == "403"} == {1, 2, 3}
    assert sorted(n for n, what in puts if what == "200") == [1, 2, 3]
    assert "fresh URL" in done.stderr
    assert File.objects.get().sha256 == sha256_hex(data)


@pytest.mark.parametrize("files", [1, 6])
def test_memory_stays_flat_while_uploading(cli: Cli, tmp_path: Path, files: int) -> None:
    # given a file ten times the size of the parts, or a folder of six multipart files
    size = 160 * MIB if files == 1 else 40 * MIB
    for number in range(files):
        write_random(tmp_path / "up" / f"reads{number}.bam", size)
    target = tmp_path / "up" / "reads0.bam" if files == 1 else tmp_path / "up"
    probe = str(Path(__file__).with_name("rss_probe.py"))

    # when it is uploaded with six parts in flight
    done = subprocess.run(
        [
            sys.executable,
            probe,
            "upload",
            str(target),
            "-g",
            cli.group,
            "--part-size",
            "16MiB",
            "--multipart-threshold",
            "32MiB",
            "-j",
            "6",
        ],
        env=cli.env(),
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )

    # then the client never held more than a fraction of it in memory, however many files:
    # under half of what the AWS CLI takes for a folder (~95 MiB)
    assert done.returncode == 0, done.stderr
    peak_kib = int(done.stderr.split("peak_rss_kib")[1])
    assert peak_kib < 48 * 1024, f"peak RSS {peak_kib} KiB"
    assert File.objects.filter(status="verified").count() == files
    assert MultipartUpload.objects.filter(status="accepted").count() == files


def test_errors_are_reported_with_a_nonzero_exit(cli: Cli, tmp_path: Path) -> None:
    write_random(tmp_path / "a.fastq", 10)
    unknown_group = cli.run("upload", str(tmp_path / "a.fastq"), "-g", "No Such Lab")
    assert unknown_group.returncode == 1
    assert "No group named 'No Such Lab'" in unknown_group.stderr
    missing = cli.run("upload", str(tmp_path / "nope.fastq"), "-g", cli.group)
    assert missing.returncode == 1
    assert "no such file" in missing.stderr
    (tmp_path / "bad name.fastq").write_bytes(b"x")
    bad_name = cli.run("upload", str(tmp_path / "bad name.fastq"), "-g", cli.group)
    assert bad_name.returncode == 1
    assert "invalid_filename" in bad_name.stderr
    # one bad file does not stop the others
    both = cli.run(
        "upload", str(tmp_path / "bad name.fastq"), str(tmp_path / "a.fastq"), "-g", cli.group
    )
    assert both.returncode == 1
    assert both.stdout.startswith("a.fastq\t")
    assert "bad name.fastq: error:" in both.stderr
    signed_out = cli.run("upload", str(tmp_path / "a.fastq"), "-g", cli.group, SEQVAULT_TOKEN="")
    assert signed_out.returncode == 1
    assert "seqvault login" in signed_out.stderr


def test_the_client_package_does_not_import_django() -> None:
    code = "import sys, seqvault_client.cli; assert 'django' not in sys.modules, 'django imported'"
    subprocess.run([sys.executable, "-c", code], check=True, env={"PATH": "/usr/bin"})


def test_the_seqvault_command_is_installed() -> None:
    script = Path(sys.executable).with_name("seqvault")
    answer = subprocess.run([str(script), "--help"], capture_output=True, text=True, check=True)
    assert "upload" in answer.stdout
