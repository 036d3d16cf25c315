"""`seqvault download --entry ACC.VER`: every file of a released entry, several at once, each
checked against the SHA-256 the server recorded; a file that is gone or arrives damaged fails
alone."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from core.models import AuditEvent
from filesharing import s3
from filesharing.models import File
from tests.client.conftest import MIB, SMALL_PARTS, Cli, json_lines, write_random
from tests.client.faults import fault_proxy, most_at_once
from tests.conftest import Actor, sha256_hex
from tests.submissions.conftest import approve, av, cell, claimed, processed, result, row, submitted

pytestmark = pytest.mark.django_db(transaction=True)


@dataclass
class ReleasedEntry:
    accession_version: str
    ids: dict[str, str]  # name -> file ID
    contents: dict[str, bytes]  # name -> bytes


@pytest.fixture
def released_entry(cli: Cli, submitter: Actor, make_actor: Any, tmp_path: Path) -> ReleasedEntry:
    """Three files sent with `seqvault upload` (one multipart), submitted as an entry's reads,
    passed through by the pipeline and released by approval, as a group releases its data."""
    contents = {
        "reads_R1.fq": write_random(tmp_path / "run" / "reads_R1.fq", 3000),
        "reads_R2.fq": write_random(tmp_path / "run" / "reads_R2.fq", 6 * MIB + 3),
        "reads.bam": write_random(tmp_path / "run" / "reads.bam", 12 * MIB + 5),
    }
    upload = cli.run("upload", str(tmp_path / "run"), "-g", cli.group, *SMALL_PARTS)
    assert upload.returncode == 0, upload.stderr
    ids = dict(line.split("\t") for line in upload.stdout.splitlines())
    [entry] = submitted(submitter, [row("s1", **{"files.raw_reads": cell(*ids.items())})])
    pipeline = make_actor(pipeline=True)
    claimed(pipeline)
    outputs = [{"fileId": file_id, "name": name} for name, file_id in ids.items()]
    processed(pipeline, [result(av(entry), files={"raw_reads": outputs})])
    assert approve(submitter, {"accessionVersions": [av(entry)]}).status_code == 200
    assert File.objects.filter(pk__in=ids.values(), released_at__isnull=False).count() == 3
    return ReleasedEntry(av(entry), ids, contents)


def object_gets(url: str) -> bool:
    return "/seqvault/files/" in url


def test_an_entry_downloads_every_file_at_once_checked(
    cli: Cli, tmp_path: Path, released_entry: ReleasedEntry
) -> None:
    # given a network that holds every read of an object half a second
    def rule(method: str, url: str, attempt: int) -> float | None:
        return 0.5 if method == "GET" and object_gets(url) else None

    # when the entry is downloaded, three files at once
    with fault_proxy(rule) as (proxy_url, proxy):
        done = cli.run(
            "download",
            "--entry",
            released_entry.accession_version,
            "-o",
            str(tmp_path / "down"),
            "--chunk-size",
            "5MiB",
            "--files-in-flight",
            "3",
            "--json",
            HTTP_PROXY=proxy_url,
        )

    # then each file is there under its name with its bytes and the SHA-256 on record, fetched
    # from its public URL, and nothing else is left in the folder
    assert done.returncode == 0, done.stderr
    results = {Path(r["path"]).name: r for r in json_lines(done.stdout)}
    assert set(results) == set(released_entry.contents)
    for name, data in released_entry.contents.items():
        file = File.objects.get(pk=released_entry.ids[name])
        assert (tmp_path / "down" / name).read_bytes() == data
        assert results[name]["fileId"] == str(file.pk)
        assert results[name]["sha256"] == file.sha256 == sha256_hex(data)
        assert results[name]["size"] == len(data)
    assert sorted(p.name for p in (tmp_path / "down").iterdir()) == sorted(released_entry.contents)
    issued = AuditEvent.objects.filter(action="file.download_url_issued", details__public=True)
    assert {str(event.object_id) for event in issued} == set(released_entry.ids.values())
    # and the files came at the same time: reads of different objects were in flight together
    reads = [span for span in proxy.spans if span.method == "GET" and object_gets(span.url)]
    assert len(reads) == 1 + 2 + 3  # 5 MiB ranges
    assert most_at_once(reads)[1] >= 2


def test_a_file_damaged_on_the_way_fails_its_check_and_the_others_arrive(
    cli: Cli, tmp_path: Path, released_entry: ReleasedEntry
) -> None:
    # given a network that changes one byte of every read of one file's object
    damaged = released_entry.ids["reads_R2.fq"]

    def rule(method: str, url: str, attempt: int) -> str | None:
        of_damaged = method == "GET" and object_gets(url) and damaged in url
        return "corrupt" if of_damaged else None

    args = ("download", "--entry", released_entry.accession_version, "-o", str(tmp_path / "down"))
    with fault_proxy(rule) as (proxy_url, _):
        failed = cli.run(*args, "--chunk-size", "5MiB", HTTP_PROXY=proxy_url)

    # then the command fails naming that file and both checksums; nothing of it is left behind
    assert failed.returncode == 1
    recorded = File.objects.get(pk=damaged).sha256
    [message] = [line for line in failed.stderr.splitlines() if line.startswith("seqvault:")]
    assert message.startswith(f"seqvault: {damaged}: reads_R2.fq: downloaded bytes have sha256 ")
    assert f"the server recorded {recorded}; the partial download was removed" in message
    down = tmp_path / "down"
    assert sorted(p.name for p in down.iterdir()) == ["reads.bam", "reads_R1.fq"]
    for name in ("reads.bam", "reads_R1.fq"):
        assert (down / name).read_bytes() == released_entry.contents[name]
    assert set(failed.stdout.split()) >= {str(down / "reads.bam"), str(down / "reads_R1.fq")}

    # and the same command on a sound network fetches only that file
    again = cli.run(*args, "--json")
    assert again.returncode == 0, again.stderr
    skipped = {Path(r["path"]).name: r["skipped"] for r in json_lines(again.stdout)}
    assert skipped == {"reads_R1.fq": True, "reads.bam": True, "reads_R2.fq": False}
    assert (down / "reads_R2.fq").read_bytes() == released_entry.contents["reads_R2.fq"]


def test_a_file_gone_from_storage_fails_alone(
    cli: Cli, tmp_path: Path, released_entry: ReleasedEntry
) -> None:
    # given an entry one of whose verified objects S3 no longer holds
    lost = File.objects.get(pk=released_entry.ids["reads.bam"])
    s3.client().delete_object(Bucket=s3.bucket(), Key=lost.key, VersionId=lost.s3_version_id)

    done = cli.run(
        "download", "--entry", released_entry.accession_version, "-o", str(tmp_path / "down")
    )

    # then that file fails with what S3 answered, and the other two arrive whole
    assert done.returncode == 1
    [message] = [line for line in done.stderr.splitlines() if line.startswith("seqvault:")]
    assert message.startswith(f"seqvault: {lost.pk}: reads.bam.seqvault-part bytes 0-")
    assert "the object store refused it (404" in message
    down = tmp_path / "down"
    assert not (down / "reads.bam").exists()
    for name in ("reads_R1.fq", "reads_R2.fq"):
        assert (down / name).read_bytes() == released_entry.contents[name]
    assert len(done.stdout.splitlines()) == 2
