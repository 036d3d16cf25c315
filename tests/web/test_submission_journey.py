"""From uploaded files to a public download: the submission form (with a refusal shown on its
row), the preprocessing pipeline through the API, approval in the browser, and a signed-out
visitor who finds the entry and downloads its file and a manifest."""

from __future__ import annotations

import csv
import hashlib
import io
import json
from pathlib import Path
from typing import Any

import pytest
import requests
from playwright.sync_api import Page, expect

from accounts.services import token_create
from filesharing.models import File
from groups.models import Membership
from groups.services import user_grant_pipeline_role
from submissions.models import SequenceEntry
from tests.conftest import upload_file
from tests.factories import GroupFactory, MembershipFactory, UserFactory
from tests.web.conftest import Site, choose_files, row_of, screenshot, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

READS = b"@read1\nACGTACGTAC\n+\nIIIIIIIIII\n" * 50
MORE_READS = b"@read2\nTTGCATTGCA\n+\nIIIIIIIIII\n" * 40
METADATA = (
    "submissionId\tsampleCollectionDate\tgeoLocCountry\thostAge\n"
    "s1\t2024-03-01\tSwitzerland\t41\n"
    "s2\t2024-13-45\tKenya\t7\n"
)


def run_pipeline(site: Site, token: str) -> None:
    """What a preprocessing pipeline does over HTTP: claim the entries, pass their reads
    through as outputs, and report them processed."""
    headers = {"Authorization": f"Bearer {token}"}
    claimed = requests.get(
        site("/api/pipeline/unprocessed?numberOfEntries=10&pipelineVersion=1"),
        headers=headers,
        timeout=30,
    )
    assert claimed.status_code == 200, claimed.text
    entries = [json.loads(line) for line in claimed.text.splitlines() if line.strip()]
    assert {entry["submissionId"] for entry in entries} == {"s1", "s2"}
    results = [
        {
            "accession": entry["accession"],
            "version": entry["version"],
            "data": {
                "metadata": {
                    "lineage": "B.1.1.7",
                    "country": entry["data"]["metadata"]["geoLocCountry"],
                },
                "files": {
                    "raw_reads": [
                        {"fileId": f["fileId"], "name": f["name"]}
                        for f in entry["data"]["files"]["raw_reads"]
                    ]
                },
            },
            "errors": [],
            "warnings": [],
        }
        for entry in entries
    ]
    reported = requests.post(
        site("/api/pipeline/processed?pipelineVersion=1"),
        data="".join(json.dumps(result) + "\n" for result in results),
        headers={**headers, "Content-Type": "application/x-ndjson"},
        timeout=30,
    )
    assert reported.status_code == 204, reported.text


def test_submit_process_approve_and_download_signed_out(
    page: Page, site: Site, make_actor: Any, browser: Any, tmp_path: Path
) -> None:
    ada = UserFactory(username="ada")
    lab = GroupFactory(name="Genomics Lab")
    MembershipFactory(group=lab, user=ada, role=Membership.Role.ADMIN)
    uploaded = upload_file(make_actor(group=lab), READS, name="s1_reads.fastq")
    pipeline = UserFactory(username="pipeline")
    user_grant_pipeline_role(actor=None, user=pipeline)
    on_the_spot = tmp_path / "s2_reads.fastq"
    on_the_spot.write_bytes(MORE_READS)

    # Ada picks an uploaded file on the group's page and starts a submission with it.
    sign_in(page, site, "ada")
    page.goto(site(f"/groups/{lab.pk}/"))
    page.get_by_label("Select s1_reads.fastq").check()
    page.get_by_role("button", name="Use the selected files in a submission").click()
    expect(page.get_by_label("File of file row 1")).to_have_value(uploaded["fileId"])
    page.get_by_label("Entry of file row 1").fill("s1")
    page.get_by_label("Category of file row 1").select_option("raw_reads")

    # She uploads the second entry's reads on the spot; they fill the next row.
    choose_files(page, on_the_spot)
    expect(row_of(page, "s2_reads.fastq")).to_have_attribute("data-state", "verified")
    second = File.objects.get(name="s2_reads.fastq")
    expect(page.get_by_label("File of file row 2")).to_have_value(str(second.pk))
    page.get_by_label("Entry of file row 2").fill("s2")
    page.get_by_label("Category of file row 2").select_option("raw_reads")
    page.get_by_label("…or paste the metadata table").fill(METADATA)
    page.get_by_role("button", name="Submit", exact=True).click()

    # A date that does not exist is refused, shown on its line; nothing is stored.
    expect(page.locator("#error-summary")).to_contain_text("Nothing was submitted")
    line = page.locator('#metadata-lines tr[data-line="3"]')
    expect(line).to_have_class("row-error")
    expect(line).to_contain_text("is not a 'date'")
    expect(page.locator('#metadata-lines tr[data-line="2"]')).not_to_have_class("row-error")
    assert not SequenceEntry.objects.exists()
    screenshot(page, "submit-refused")

    # The table is in the page to correct; the file rows were kept.
    text = page.get_by_label("…or paste the metadata table")
    text.fill(text.input_value().replace("2024-13-45", "2024-02-28"))
    expect(page.get_by_label("File of file row 2")).to_have_value(str(second.pk))
    page.get_by_role("button", name="Submit", exact=True).click()
    expect(page.locator(".message.success")).to_contain_text("Submitted 2 entries")
    entries = page.locator("table.entries tbody tr")
    expect(entries).to_have_count(2)
    expect(entries.first).to_contain_text("received")
    s1 = SequenceEntry.objects.get(submission_id="s1")
    assert [(a.category, str(a.file_id)) for a in s1.files.all()] == [
        ("raw_reads", uploaded["fileId"])
    ]

    # The pipeline does its work through the API.
    run_pipeline(site, token_create(user=pipeline).raw)

    # Ada approves s1 on its page.
    page.reload()
    expect(page.locator(f'tr[data-accession="{s1.accession_version}"]')).to_contain_text(
        "processed"
    )
    screenshot(page, "entries")
    page.get_by_role("link", name=s1.accession_version).click()
    expect(page.locator("table.metadata")).to_contain_text("B.1.1.7")
    page.get_by_role("button", name="Approve for release").click()
    expect(page.locator(".message.success")).to_contain_text(
        f"Approved 1 for release: {s1.accession_version}"
    )
    expect(page.locator("#entry-status")).to_contain_text("approved for release")
    screenshot(page, "entry-approved")
    assert File.objects.get(pk=uploaded["fileId"]).released_at is not None

    # Someone signed out, without JavaScript, finds the entry, downloads its file and a manifest.
    visitor = browser.new_context(accept_downloads=True, java_script_enabled=False)
    public = visitor.new_page()
    public.goto(site("/released/"))
    public.get_by_label("Accession or text").fill("B.1.1.7")
    public.get_by_role("button", name="Search").click()
    results = public.locator("table.released tbody tr")
    expect(results).to_have_count(1)
    expect(results.first).to_contain_text(s1.accession_version)
    screenshot(public, "released-data")
    public.get_by_label(f"Select {s1.accession_version}").check()
    with public.expect_download() as manifest_download:
        public.get_by_role("button", name="Download a manifest of the selected entries").click()
    manifest = list(
        csv.DictReader(
            io.StringIO(Path(manifest_download.value.path()).read_text()), delimiter="\t"
        )
    )
    assert [(m["accessionVersion"], m["fileName"], m["size"], m["sha256"]) for m in manifest] == [
        (s1.accession_version, "s1_reads.fastq", str(len(READS)), hashlib.sha256(READS).hexdigest())
    ]
    assert requests.get(manifest[0]["url"], timeout=30).content == READS

    public.get_by_role("link", name=s1.accession_version).click()
    expect(public.get_by_role("button", name="Sign in")).to_have_count(0)
    screenshot(public, "entry-public")
    with public.expect_download() as download:
        public.get_by_role("link", name="Download s1_reads.fastq").click()
    assert Path(download.value.path()).read_bytes() == READS
    visitor.close()
