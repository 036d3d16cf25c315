"""`seqvault upload` of many files, what it shows while it works, and what a failure leaves."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from filesharing import s3
from filesharing.models import File, MultipartUpload
from filesharing.selectors import group_storage_used
from groups.models import Group
from tests.client.conftest import (
    MIB,
    SMALL_PARTS,
    Cli,
    json_lines,
    stored_bytes,
    write_random,
)
from tests.client.faults import (
    FaultProxy,
    Span,
    fault_proxy,
    most_at_once,
    part_number,
    parts_held_a_second,
)
from tests.conftest import sha256_hex
from tests.rgw.conftest import md5_path  # noqa: F401  (a fixture: the MD5 integrity path)

pytestmark = pytest.mark.django_db(transaction=True)

STAMPED = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ seqvault: \d+/\d+ files, ")


def test_small_files_go_in_one_request_and_batched_confirmations(cli: Cli, tmp_path: Path) -> None:
    # given a folder of 40 small files
    contents = {
        f"r{i:02d}.fq": write_random(tmp_path / "run" / f"r{i:02d}.fq", 3000 + i) for i in range(40)
    }

    # when it is uploaded through a proxy that sees every request
    with fault_proxy(lambda method, url, attempt: None) as (proxy_url, proxy):
        done = cli.run(
            "upload", str(tmp_path / "run"), "-g", cli.group, "--json", HTTP_PROXY=proxy_url
        )

    # then one request-uploads call asked for all of them, confirmations went in batches, no
    # file was polled, and each file is verified with its bytes
    assert done.returncode == 0, done.stderr
    api_calls = [(method, url) for method, url, _ in proxy.log if "/api/" in url]
    assert sum("request-uploads" in url for _, url in api_calls) == 1
    confirms = [url for method, url in api_calls if url.endswith("/api/files/confirm")]
    assert 1 <= len(confirms) < 40
    assert not [url for method, url in api_calls if method == "GET" and "/api/files/" in url]
    assert sum(method == "PUT" for method, url, _ in proxy.log) == 40
    results = json_lines(done.stdout)
    assert sorted(r["name"] for r in results) == sorted(contents)
    for result in results:
        assert result["status"] == "verified"
        file = File.objects.get(pk=result["fileId"])
        assert (file.status, file.name) == ("verified", result["name"])
        assert file.sha256 == result["sha256"] == sha256_hex(contents[result["name"]])


def test_a_refused_name_does_not_stop_the_other_files(cli: Cli, tmp_path: Path) -> None:
    write_random(tmp_path / "run" / "good.fq", 100)
    write_random(tmp_path / "run" / "bad name.fq", 100)
    write_random(tmp_path / "run" / "fine.fq", 100)
    done = cli.run("upload", str(tmp_path / "run"), "-g", cli.group, "--json")
    assert done.returncode == 1
    results = {r["name"]: r for r in json_lines(done.stdout)}
    assert results["bad name.fq"]["status"] == "error"
    assert "invalid_filename" in results["bad name.fq"]["failureReason"]
    assert {results[n]["status"] for n in ("good.fq", "fine.fq")} == {"verified"}
    assert sorted(File.objects.values_list("name", flat=True)) == ["fine.fq", "good.fq"]
    assert done.stderr.count("invalid_filename") == 1


def test_without_a_terminal_a_timestamped_line_tells_progress(cli: Cli, tmp_path: Path) -> None:
    # given a network that holds each part a second
    write_random(tmp_path / "reads.bam", 10 * MIB + 10)

    with fault_proxy(parts_held_a_second) as (proxy_url, _):
        done = cli.run(
            "upload",
            str(tmp_path / "reads.bam"),
            "-g",
            cli.group,
            "-j",
            "1",
            *SMALL_PARTS,
            HTTP_PROXY=proxy_url,
            SEQVAULT_PROGRESS_SECONDS="0.5",
        )

    # then stderr holds timestamped progress lines and nothing else
    assert done.returncode == 0, done.stderr
    lines = done.stderr.splitlines()
    assert len(lines) >= 3
    assert all(STAMPED.match(line) for line in lines), lines
    assert "/1 files" in lines[0]
    assert "reads.bam" in lines[-1]


def test_waits_the_server_asks_for_are_shown_once_without_verbose(cli: Cli, tmp_path: Path) -> None:
    # given a server that answers 429 (Retry-After: 1) to the first two upload starts
    data = write_random(tmp_path / "reads.bam", 10 * MIB + 10)

    def rule(method: str, url: str, attempt: int) -> str | None:
        busy = method == "POST" and url.endswith("/multipart_uploads") and attempt <= 2
        return "429" if busy else None

    with fault_proxy(rule) as (proxy_url, _):
        done = cli.run(
            "upload",
            str(tmp_path / "reads.bam"),
            "-g",
            cli.group,
            *SMALL_PARTS,
            HTTP_PROXY=proxy_url,
        )

    assert done.returncode == 0, done.stderr
    assert done.stderr == "The server asks to wait (Busy): trying again in 1 s.\n"
    assert File.objects.get().sha256 == sha256_hex(data)


def test_a_file_changed_while_sent_leaves_nothing_held(cli: Cli, tmp_path: Path) -> None:
    # given a group with a quota, and a file that changes while its second part is on its way
    assert cli.group
    group = Group.objects.get(name=cli.group)
    group.quota_bytes = 1024**3
    group.save()
    path = tmp_path / "reads.bam"
    write_random(path, 15 * MIB)

    def rule(method: str, url: str, attempt: int) -> None:
        if method == "PUT" and part_number(url) == 2 and attempt == 1:
            with path.open("r+b") as handle:
                handle.write(b"changed")

    with fault_proxy(rule) as (proxy_url, _):
        done = cli.run(
            "upload", str(path), "-g", cli.group, "-j", "1", *SMALL_PARTS, HTTP_PROXY=proxy_url
        )

    # then the command says so once; the upload is cancelled, S3 holds no parts, the file is
    # withdrawn, the group's quota is free again and no resume state is left
    assert done.returncode == 1
    assert "changed while it was being sent" in done.stderr
    assert "nothing is held on the server" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
    upload = MultipartUpload.objects.get()
    assert upload.status == "cancelled"
    listed = s3.client().list_multipart_uploads(Bucket=s3.bucket(), Prefix=upload.file.key)
    assert not listed.get("Uploads")
    assert File.objects.get().deleted_at is not None
    assert group_storage_used(group=group) == 0
    assert not list((cli.config_dir / "uploads").glob("*.json"))


def test_an_upload_s3_keeps_refusing_is_kept_for_the_same_command(cli: Cli, tmp_path: Path) -> None:
    # given a network where every PUT of part 2 fails
    data = write_random(tmp_path / "reads.bam", 10 * MIB + 10)
    args = ("upload", str(tmp_path / "reads.bam"), "-g", cli.group, "-j", "1", *SMALL_PARTS)

    def rule(method: str, url: str, attempt: int) -> str | None:
        return "500" if method == "PUT" and part_number(url) == 2 else None

    with fault_proxy(rule) as (proxy_url, _):
        failed = cli.run(*args, "--max-attempts", "2", HTTP_PROXY=proxy_url)

    # then it says the upload is kept and how to resume; running it again finishes it
    assert failed.returncode == 1
    assert "run the same command again to resume" in failed.stderr
    assert MultipartUpload.objects.get().status == "pending"
    done = cli.run(*args)
    assert done.returncode == 0, done.stderr
    assert MultipartUpload.objects.get().status == "accepted"
    assert File.objects.get().sha256 == sha256_hex(data)


def multipart_puts(proxy: FaultProxy) -> list[Span]:
    return [s for s in proxy.spans if s.method == "PUT" and part_number(s.url)]


@pytest.mark.parametrize("integrity", ["sha256", "md5"])
def test_large_files_of_a_folder_go_at_once_sharing_the_part_senders(
    cli: Cli, tmp_path: Path, request: pytest.FixtureRequest, integrity: str
) -> None:
    # given a store that checks each part's SHA-256 (or, like Ceph RGW, only its Content-MD5),
    # a folder of four files of three parts each and six small files, and a network that holds
    # every part for a second
    if integrity == "md5":
        request.getfixturevalue("md5_path")
    large = {
        f"L{i}.bam": write_random(tmp_path / "run" / f"L{i}.bam", 11 * MIB + i) for i in range(4)
    }
    small = {f"s{i}.fq": write_random(tmp_path / "run" / f"s{i}.fq", 2000 + i) for i in range(6)}

    # when the folder is uploaded with four parts in flight
    with fault_proxy(parts_held_a_second) as (proxy_url, proxy):
        done = cli.run(
            "upload",
            str(tmp_path / "run"),
            "-g",
            cli.group,
            "-j",
            "4",
            "--json",
            *SMALL_PARTS,
            HTTP_PROXY=proxy_url,
        )

    # then every file is verified with its bytes, each large one through its own multipart
    # upload on the store's integrity path
    assert done.returncode == 0, done.stderr
    results = {r["name"]: r for r in json_lines(done.stdout)}
    assert set(results) == set(large) | set(small)
    for name, data in (large | small).items():
        file = File.objects.get(pk=results[name]["fileId"])
        assert (file.status, file.sha256, results[name]["status"]) == (
            "verified",
            sha256_hex(data),
            "verified",
        )
        assert stored_bytes(str(file.pk)) == data
    algorithm = {"sha256": "SHA256", "md5": "MD5"}[integrity]
    for name in large:
        upload = MultipartUpload.objects.get(file_id=results[name]["fileId"])
        assert (upload.status, upload.part_count, upload.checksum_algorithm) == (
            "accepted",
            3,
            algorithm,
        )
        assert results[name]["partsSent"] == [1, 2, 3]
    # and parts of different files were in flight at the same time, never more than four
    parts = multipart_puts(proxy)
    assert len(parts) == 12
    at_once, files_at_once = most_at_once(parts)
    assert at_once <= 4
    assert files_at_once >= 2


def test_a_large_file_that_fails_in_a_folder_cancels_its_upload_and_the_others_go(
    cli: Cli, tmp_path: Path
) -> None:
    # given three large files, and a network that damages the third part of the only file that
    # has one (S3 refuses it: its bytes are not those of the signed SHA-256) while the parts of
    # the others are held in flight
    write_random(tmp_path / "run" / "bad.bam", 12 * MIB)
    good = {
        f"good{i}.bam": write_random(tmp_path / "run" / f"good{i}.bam", 9 * MIB) for i in range(2)
    }

    def rule(method: str, url: str, attempt: int) -> str | float | None:
        if method != "PUT" or not part_number(url):
            return None
        return "corrupt" if part_number(url) == 3 else 0.5

    with fault_proxy(rule) as (proxy_url, proxy):
        done = cli.run(
            "upload",
            str(tmp_path / "run"),
            "-g",
            cli.group,
            "--json",
            *SMALL_PARTS,
            HTTP_PROXY=proxy_url,
        )

    # then the command fails for that file only, saying nothing is held for it
    assert done.returncode == 1
    results = {r["name"]: r for r in json_lines(done.stdout)}
    assert results["bad.bam"]["status"] == "error"
    assert "nothing is held on the server" in results["bad.bam"]["failureReason"]
    assert done.stderr.count("bad.bam: error:") == 1
    assert ("PUT", "400 corrupt") in {(m, what) for m, _, what in proxy.log}
    # its multipart upload is cancelled, S3 holds none of its parts, its file is withdrawn
    [failed] = File.objects.filter(name="bad.bam")
    assert failed.deleted_at is not None
    assert failed.multipart_uploads.get().status == "cancelled"
    listed = s3.client().list_multipart_uploads(Bucket=s3.bucket(), Prefix=failed.key)
    assert not listed.get("Uploads")
    assert not list((cli.config_dir / "uploads").glob("*.json"))
    # and the other files arrived whole and verified
    for name, data in good.items():
        assert results[name]["status"] == "verified"
        file = File.objects.get(pk=results[name]["fileId"])
        assert (file.status, file.sha256) == ("verified", sha256_hex(data))
        assert stored_bytes(str(file.pk)) == data
        assert file.multipart_uploads.get().status == "accepted"
