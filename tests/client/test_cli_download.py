"""`seqvault download` and `seqvault files ls` against a live server and the S3 emulator."""

from __future__ import annotations

import json
import signal
from pathlib import Path

import pytest

from core.models import AuditEvent
from filesharing.models import File
from tests.client.conftest import MIB, SMALL_PARTS, Cli, json_lines, read_until, write_random
from tests.client.faults import fault_proxy
from tests.conftest import sha256_hex

pytestmark = pytest.mark.django_db(transaction=True)


def uploaded(cli: Cli, path: Path) -> str:
    done = cli.run("upload", str(path), "-g", cli.group, *SMALL_PARTS)
    assert done.returncode == 0, done.stderr
    return done.stdout.split("\t")[1].strip()


def hold_after_first_range(method: str, url: str, attempt: int) -> str | None:
    """The network delivers the first range of the object, then holds the others."""
    is_object = method == "GET" and "/seqvault/files/" in url
    return "stall" if is_object and attempt >= 2 else None


def fetched_ranges(stderr: str) -> list[str]:
    return [line.split("range ")[1].split()[0] for line in stderr.splitlines() if "fetched" in line]


def test_download_writes_the_same_bytes_under_the_files_name(cli: Cli, tmp_path: Path) -> None:
    data = write_random(tmp_path / "up" / "reads.bam", 12 * MIB + 5)
    file_id = uploaded(cli, tmp_path / "up" / "reads.bam")

    done = cli.run("download", file_id, "-o", str(tmp_path / "down"), "--chunk-size", "5MiB")

    assert done.returncode == 0, done.stderr
    target = tmp_path / "down" / "reads.bam"
    assert done.stdout == f"{target}\t{file_id}\n"
    assert target.read_bytes() == data
    assert sorted(p.name for p in (tmp_path / "down").iterdir()) == ["reads.bam"]
    assert AuditEvent.objects.filter(action="file.download_url_issued", object_id=file_id).exists()
    # a second download finds it there and intact
    again = cli.run("download", file_id, "-o", str(tmp_path / "down"), "--json")
    [result] = json_lines(again.stdout)
    assert result["skipped"] is True
    assert result["sha256"] == sha256_hex(data)


def test_a_killed_download_resumes_fetching_only_missing_ranges(cli: Cli, tmp_path: Path) -> None:
    # given a 4-range download killed after its first range arrived
    data = write_random(tmp_path / "up" / "reads.bam", 19 * MIB)
    file_id = uploaded(cli, tmp_path / "up" / "reads.bam")
    args = (
        "-v",
        "download",
        file_id,
        "-o",
        str(tmp_path / "down"),
        "--chunk-size",
        "5MiB",
        "-j",
        "1",
    )
    with fault_proxy(hold_after_first_range) as (proxy_url, _):
        process = cli.start(*args, HTTP_PROXY=proxy_url)
        read_until(process, "fetched")
        process.send_signal(signal.SIGKILL)
        process.communicate(timeout=30)
    state = json.loads((tmp_path / "down" / "reads.bam.seqvault-part.json").read_text())
    assert state["done"] == [0]
    assert not (tmp_path / "down" / "reads.bam").exists()

    # when it runs again
    done = cli.run(*args)

    # then only the missing ranges are fetched and the file is whole
    assert done.returncode == 0, done.stderr
    starts = sorted(int(r.split("-")[0]) // (5 * MIB) for r in fetched_ranges(done.stderr))
    assert starts == [1, 2, 3]
    assert (tmp_path / "down" / "reads.bam").read_bytes() == data
    assert sorted(p.name for p in (tmp_path / "down").iterdir()) == ["reads.bam"]


def test_a_corrupted_partial_download_fails_its_checksum_and_starts_clean(
    cli: Cli, tmp_path: Path
) -> None:
    # given a partial download whose finished first range was damaged on disk
    data = write_random(tmp_path / "up" / "reads.bam", 19 * MIB)
    file_id = uploaded(cli, tmp_path / "up" / "reads.bam")
    args = (
        "-v",
        "download",
        file_id,
        "-o",
        str(tmp_path / "down"),
        "--chunk-size",
        "5MiB",
        "-j",
        "1",
    )
    with fault_proxy(hold_after_first_range) as (proxy_url, _):
        process = cli.start(*args, HTTP_PROXY=proxy_url)
        read_until(process, "fetched")
        process.send_signal(signal.SIGKILL)
        process.communicate(timeout=30)
    partial = tmp_path / "down" / "reads.bam.seqvault-part"
    with partial.open("r+b") as handle:
        handle.seek(100)
        handle.write(b"XXXX")

    # when the download resumes
    failed = cli.run(*args)

    # then the SHA-256 check fails, says so, and leaves nothing behind
    assert failed.returncode == 1
    assert "sha256 differs" in failed.stderr or "the server recorded" in failed.stderr
    assert list((tmp_path / "down").iterdir()) == []
    # and the next run downloads it whole
    assert cli.run(*args).returncode == 0
    assert (tmp_path / "down" / "reads.bam").read_bytes() == data


def test_bytes_that_differ_from_the_record_are_refused(cli: Cli, tmp_path: Path) -> None:
    write_random(tmp_path / "up" / "reads.fq", 3000)
    file_id = uploaded(cli, tmp_path / "up" / "reads.fq")
    File.objects.filter(pk=file_id).update(sha256="0" * 64)
    done = cli.run("download", file_id, "-o", str(tmp_path / "down"))
    assert done.returncode == 1
    assert "the server recorded" in done.stderr
    assert not (tmp_path / "down" / "reads.fq").exists()


def test_unknown_and_unverified_files_fail_without_stopping_the_others(
    cli: Cli, tmp_path: Path
) -> None:
    data = write_random(tmp_path / "up" / "ok.fq", 100)
    file_id = uploaded(cli, tmp_path / "up" / "ok.fq")
    done = cli.run(
        "download", "00000000-0000-0000-0000-000000000000", file_id, "-o", str(tmp_path / "d")
    )
    assert done.returncode == 1
    assert "file_not_found" in done.stderr
    assert (tmp_path / "d" / "ok.fq").read_bytes() == data
    assert cli.run("download", file_id, "-o", str(tmp_path / "up")).returncode == 0


def test_a_manifest_downloads_many_files_at_once(cli: Cli, tmp_path: Path) -> None:
    # given five uploaded files and the upload's own output as a manifest
    contents = {f"s{i}.fq": write_random(tmp_path / "up" / f"s{i}.fq", 2000 + i) for i in range(5)}
    upload = cli.run("upload", str(tmp_path / "up"), "-g", cli.group)
    assert upload.returncode == 0, upload.stderr
    (tmp_path / "manifest.tsv").write_text("# files of run 7\n" + upload.stdout)

    # when they are downloaded from the manifest, three at a time, as JSON
    done = cli.run(
        "download",
        "--manifest",
        str(tmp_path / "manifest.tsv"),
        "-o",
        str(tmp_path / "down"),
        "--files-in-flight",
        "3",
        "--json",
    )

    # then each file is there with its bytes, and each result is a line of its own
    assert done.returncode == 0, done.stderr
    results = json_lines(done.stdout)
    assert sorted(Path(r["path"]).name for r in results) == sorted(contents)
    for name, data in contents.items():
        assert (tmp_path / "down" / name).read_bytes() == data
    assert {r["sha256"] for r in results} == {sha256_hex(d) for d in contents.values()}
    nothing = cli.run("download", "-o", str(tmp_path / "down"))
    assert nothing.returncode == 1
    assert "Name the files to download" in nothing.stderr


def test_files_ls_lists_the_groups_files(cli: Cli, tmp_path: Path) -> None:
    write_random(tmp_path / "a.fq", 10)
    write_random(tmp_path / "b.bam", 9 * MIB)
    ids = {}
    for name in ("a.fq", "b.bam"):
        ids[name] = uploaded(cli, tmp_path / name)

    listing = cli.run("files", "ls", "--group", cli.group)

    assert listing.returncode == 0, listing.stderr
    rows = sorted(line.split("\t") for line in listing.stdout.splitlines())
    assert sorted(rows) == sorted(
        [
            [ids["a.fq"], "a.fq", "1", "verified", "10 B"],
            [ids["b.bam"], "b.bam", "1", "verified", "9.0 MiB"],
        ]
    )
    as_json = json.loads(cli.run("files", "ls", "-g", cli.group, "--json").stdout)
    assert {f["fileId"] for f in as_json} == set(ids.values())
    only = cli.run("files", "ls", "-g", cli.group, "--name", "a.fq").stdout
    assert only.split("\t")[0] == ids["a.fq"]
