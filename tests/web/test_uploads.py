"""Uploads from the browser: multipart with S3-checked part digests, resume after a reload,
a refused part sent again, and drag and drop."""

from __future__ import annotations

import hashlib
import os
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from django.conf import settings
from playwright.sync_api import Page, Request, Response, Route, expect

from core.models import AuditEvent
from filesharing import s3
from filesharing.models import File, MultipartUpload
from groups.models import Membership
from tests.factories import GroupFactory, MembershipFactory, UserFactory
from tests.web.conftest import MIB, Site, choose_files, row_of, screenshot, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def part_number(url: str) -> int | None:
    values = parse_qs(urlsplit(url).query).get("partNumber")
    return int(values[0]) if values else None


def storage_routes() -> str:
    return f"{settings.S3_ENDPOINT_URL.rstrip('/')}/**"


def part_answers(page: Page) -> list[tuple[int, int]]:
    """(part number, status) of every part PUT the page gets an answer to, as they come."""
    answers: list[tuple[int, int]] = []

    def record(response: Response) -> None:
        number = part_number(response.url)
        if response.request.method == "PUT" and number:
            answers.append((number, response.status))

    page.on("response", record)
    return answers


def with_one_byte_flipped(route: Route) -> int:
    """Send the routed request on with one byte of its body changed; the body's length."""
    body = bytearray(route.request.post_data_buffer or b"")
    body[1000] ^= 0xFF
    route.continue_(post_data=bytes(body))
    return len(body)


@pytest.fixture
def ada(site: Site) -> Any:
    user = UserFactory(username="ada")
    lab = GroupFactory(name="Sequencing Core")
    MembershipFactory(group=lab, user=user, role=Membership.Role.ADMIN)
    return lab


def test_a_large_file_is_sent_in_parts_and_resumes_after_a_reload(
    page: Page, site: Site, ada: Any, tmp_path: Path
) -> None:
    data = os.urandom(50 * MIB)
    path = tmp_path / "run42_R1.fastq.gz"
    path.write_bytes(data)
    sign_in(page, site, "ada")
    page.goto(site(f"/groups/{ada.pk}/upload/"))

    sent: list[int] = []  # the part of every PUT the browser made to S3, in order

    def record(request: Request) -> None:
        number = part_number(request.url)
        if request.method == "PUT" and number is not None:
            sent.append(number)

    page.on("request", record)
    holding = {"on": True}

    def stall_after_part_3(route: Route) -> None:
        # Parts 4 and later get no answer before the reload, as over a connection that stalls.
        number = part_number(route.request.url)
        if holding["on"] and route.request.method == "PUT" and number and number > 3:
            return
        route.continue_()

    page.route(storage_routes(), stall_after_part_3)
    choose_files(page, path)
    row = row_of(page, "run42_R1.fastq.gz")
    expect(row).to_have_attribute("data-parts-done", "3", timeout=30_000)
    expect(row.locator(".state")).to_contain_text("of 10")
    screenshot(page, "upload-in-progress")
    upload = MultipartUpload.objects.get(file__name="run42_R1.fastq.gz")
    assert (upload.part_count, upload.part_size) == (10, 5 * MIB)
    held = s3.multipart_list_parts(key=upload.file.key, upload_id=upload.s3_upload_id)
    assert [part.number for part in held] == [1, 2, 3]

    page.reload()  # still holding: a held part whose turn comes late is cancelled with its page
    holding["on"] = False
    before_resume = len(sent)
    interrupted = page.locator("#interrupted")
    expect(interrupted).to_contain_text("run42_R1.fastq.gz")
    expect(interrupted).to_contain_text("3 of 10 parts stored")
    screenshot(page, "upload-interrupted")
    choose_files(page, path)
    row = row_of(page, "run42_R1.fastq.gz")
    expect(row).to_have_attribute("data-state", "verified", timeout=60_000)
    expect(row).to_contain_text("Resumed: 3 of 10 parts were already stored.")
    expect(interrupted).to_be_hidden()
    screenshot(page, "upload-verified")

    # Only the missing parts were sent again, each once; S3 kept the first three.
    assert sorted(sent[before_resume:]) == [4, 5, 6, 7, 8, 9, 10]
    issued_after_listing = [
        number
        for event in AuditEvent.objects.filter(
            object_id=str(upload.pk), action="multipart.part_urls_issued"
        ).order_by("created_at", "id")
        if event.created_at > held_listing_time(upload)
        for number in event.details["parts"]
    ]
    assert sorted(issued_after_listing) == [4, 5, 6, 7, 8, 9, 10]
    file = File.objects.get(pk=upload.file_id)
    assert file.status == File.Status.VERIFIED
    assert (file.size, file.sha256) == (len(data), hashlib.sha256(data).hexdigest())
    results = page.locator("#result-rows")
    expect(results).to_contain_text(str(file.pk))
    expect(results).to_contain_text(file.sha256)
    expect(page.get_by_label("For a files.<category> cell")).to_have_value(
        f"run42_R1.fastq.gz:{file.pk}"
    )
    assert page.evaluate("Object.keys(localStorage).length") == 0


def held_listing_time(upload: MultipartUpload) -> Any:
    """When the resumed page asked the server which parts S3 holds."""
    return (
        AuditEvent.objects.filter(object_id=str(upload.pk), action="multipart.parts_listed")
        .latest("created_at")
        .created_at
    )


DROP = """async ([size]) => {
  const big = new Uint8Array(size);
  for (let i = 0; i < size; i += 1) big[i] = i % 251;
  const transfer = new DataTransfer();
  transfer.items.add(new File([big], 'assembly_reads.bam'));
  transfer.items.add(new File(['#notes\\n'], 'notes.txt', { type: 'text/plain' }));
  const zone = document.getElementById('dropzone');
  for (const type of ['dragover', 'drop']) {
    const init = { dataTransfer: transfer, bubbles: true, cancelable: true };
    zone.dispatchEvent(new DragEvent(type, init));
  }
}"""


def test_a_refused_part_and_a_lost_connection_are_reported_and_the_parts_sent_again(
    page: Page, site: Site, ada: Any
) -> None:
    size = 12 * MIB
    data = (bytes(range(251)) * (size // 251 + 1))[:size]
    sign_in(page, site, "ada")
    page.goto(site(f"/groups/{ada.pk}/upload/"))
    answers = part_answers(page)
    corrupted: list[int] = []
    stalled: list[Route] = []

    def corrupt_part_2_and_stall_part_3(route: Route) -> None:
        request = route.request
        number = part_number(request.url) if request.method == "PUT" else None
        if number == 2 and not corrupted:
            # one flipped byte on the way: S3 checks the part's SHA-256
            corrupted.append(with_one_byte_flipped(route))
        elif number == 3 and not stalled:
            stalled.append(route)  # answered below, once the connection is gone
        else:
            route.continue_()

    page.route(storage_routes(), corrupt_part_2_and_stall_part_3)
    page.locator("[data-uploader][data-ready]").wait_for(state="attached")
    page.evaluate(DROP, [size])

    # The connection drops while part 3 is on its way: the page waits for it to come back.
    row = row_of(page, "assembly_reads.bam")
    expect(row.locator(".notes")).to_contain_text("Part 2:")
    while not stalled:  # Playwright hands the stalled request over while it waits
        page.wait_for_timeout(50)
    page.context.set_offline(True)
    stalled[0].abort("internetdisconnected")
    expect(row.locator(".notes")).to_contain_text("Part 3: the connection was lost; waiting")
    expect(page.locator("#announcer")).to_contain_text("The connection was lost")
    page.wait_for_timeout(1500)  # offline, nothing is tried and no attempt is used up
    expect(row).to_have_attribute("data-state", "uploading")
    page.context.set_offline(False)

    expect(row).to_have_attribute("data-state", "verified", timeout=60_000)
    expect(row.locator(".notes")).to_contain_text("Trying again (attempt 2 of")
    expect(row_of(page, "notes.txt")).to_have_attribute("data-state", "verified")
    screenshot(page, "upload-part-retried")

    assert corrupted == [5 * MIB]
    assert (2, 400) in answers  # refused: BadDigest
    assert sorted(number for number, status in answers if status == 200) == [1, 2, 3]
    file = File.objects.get(name="assembly_reads.bam")
    assert file.status == File.Status.VERIFIED
    assert file.sha256 == hashlib.sha256(data).hexdigest()
    notes = File.objects.get(name="notes.txt")
    assert (notes.status, notes.size) == (File.Status.VERIFIED, len(b"#notes\n"))
    assert not notes.multipart_uploads.exists()  # small files go in one PUT


def test_storage_lets_this_site_and_no_other_send_parts(site: Site) -> None:
    """CORS is enforced per bucket: the browser tests above pass because the bucket names the
    site's origin, not because the emulator lets everyone in."""
    url = s3.presign_put(
        key="files/cors-probe",
        size=5,
        sha256_hex=hashlib.sha256(b"hello").hexdigest(),
        content_type=None,
        lifetime=timedelta(minutes=5),
    ).url
    asked = {
        "Access-Control-Request-Method": "PUT",
        "Access-Control-Request-Headers": "x-amz-checksum-sha256,if-none-match",
    }
    ours = requests.options(url, headers={**asked, "Origin": site.url}, timeout=10)
    other = requests.options(
        url, headers={**asked, "Origin": "http://elsewhere.example"}, timeout=10
    )

    assert ours.headers.get("Access-Control-Allow-Origin") == site.url
    assert "ETag" in ours.headers.get("Access-Control-Expose-Headers", "")
    assert "Access-Control-Allow-Origin" not in other.headers
