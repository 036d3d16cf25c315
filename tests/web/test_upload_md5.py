"""The browser's uploader where S3 checks no SHA-256 (Ceph RGW): each part is bound by its
Content-MD5, which the browser computes (static/web/upload/md5.js) and the part URL signs.
Runs on LocalStack with the MD5 path taken (LocalStack checks Content-MD5 as RGW does) and, in
`make test`, again on Ceph RGW, where it is the path the probe finds."""

from __future__ import annotations

import base64
import hashlib
import json
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from playwright.sync_api import Page, Request, Route, expect

from filesharing.models import File, MultipartUpload, StorageCapabilities
from groups.models import Membership
from tests.factories import GroupFactory, MembershipFactory, UserFactory
from tests.rgw.conftest import take_md5_path
from tests.web.conftest import MIB, Site, row_of, screenshot, sign_in
from tests.web.test_uploads import (
    DROP,
    part_answers,
    part_number,
    storage_routes,
    with_one_byte_flipped,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def md5_b64(data: bytes) -> str:
    return base64.b64encode(hashlib.md5(data, usedforsecurity=False).digest()).decode()


@pytest.fixture
def md5_store(site: Site) -> StorageCapabilities:
    """The site's own bucket (see `site`), on the MD5 integrity path."""
    found = take_md5_path()
    assert found.integrity_path == StorageCapabilities.IntegrityPath.MD5
    return found


@pytest.fixture
def ada(site: Site) -> Any:
    user = UserFactory(username="ada")
    lab = GroupFactory(name="Sequencing Core")
    MembershipFactory(group=lab, user=user, role=Membership.Role.ADMIN)
    return lab


@pytest.mark.rgw
def test_where_s3_checks_no_sha256_each_part_goes_with_its_signed_content_md5(
    page: Page, site: Site, ada: Any, md5_store: StorageCapabilities
) -> None:
    # given a 12 MiB file: three parts of 5, 5 and 2 MiB, on a store that checks Content-MD5
    size = 12 * MIB
    data = (bytes(range(251)) * (size // 251 + 1))[:size]
    parts = {n: data[(n - 1) * 5 * MIB : n * 5 * MIB] for n in (1, 2, 3)}
    sign_in(page, site, "ada")
    page.goto(site(f"/groups/{ada.pk}/upload/"))

    asked: list[dict[str, Any]] = []  # what the browser asked part URLs for
    sent: list[tuple[int, str, str]] = []  # (part, Content-MD5, signed headers) of each PUT

    def record(request: Request) -> None:
        if request.method == "POST" and request.url.endswith("/parts"):
            asked.extend(json.loads(request.post_data or "{}")["parts"])
        number = part_number(request.url) if request.method == "PUT" else None
        if number:
            signed = parse_qs(urlsplit(request.url).query)["X-Amz-SignedHeaders"][0]
            sent.append((number, request.headers.get("content-md5", ""), signed))

    page.on("request", record)
    answers = part_answers(page)
    flipped: list[int] = []

    def flip_a_byte_of_part_2_once(route: Route) -> None:
        request = route.request
        if request.method == "PUT" and part_number(request.url) == 2 and not flipped:
            # damaged on the way: the signed Content-MD5 no longer matches
            flipped.append(with_one_byte_flipped(route))
        else:
            route.continue_()

    page.route(storage_routes(), flip_a_byte_of_part_2_once)

    # when the file is dropped on the page
    page.locator("[data-uploader][data-ready]").wait_for(state="attached")
    page.evaluate(DROP, [size])

    # then the damaged part is refused, sent again, and the file is verified
    row = row_of(page, "assembly_reads.bam")
    expect(row).to_have_attribute("data-state", "verified", timeout=60_000)
    expect(row.locator(".notes")).to_contain_text("Part 2: the object store refused it: BadDigest")
    screenshot(page, "upload-md5-parts-verified")
    assert flipped == [5 * MIB]
    assert (2, 400) in answers
    assert sorted(number for number, status in answers if status == 200) == [1, 2, 3]

    # and every part URL was asked for with the part's MD5 (no SHA-256: S3 would not check it)
    assert all(set(item) == {"partNumber", "md5"} for item in asked)
    assert {item["partNumber"]: item["md5"] for item in asked} == {
        n: hashlib.md5(piece, usedforsecurity=False).hexdigest() for n, piece in parts.items()
    }
    # and each PUT carried the right Content-MD5, which its URL signs
    for number, content_md5, signed in sent:
        assert content_md5 == md5_b64(parts[number])
        assert "content-md5" in signed.split(";")
    upload = MultipartUpload.objects.get(file__name="assembly_reads.bam")
    assert upload.checksum_algorithm == "MD5"
    file = File.objects.get(pk=upload.file_id)
    assert (file.status, file.size) == (File.Status.VERIFIED, size)
    assert file.sha256 == hashlib.sha256(data).hexdigest()
    assert file.md5 == hashlib.md5(data, usedforsecurity=False).hexdigest()


@pytest.mark.rgw
def test_a_small_file_goes_in_one_put_with_its_signed_content_md5(
    page: Page, site: Site, ada: Any, md5_store: StorageCapabilities
) -> None:
    # given a 1 MiB file, sent in one PUT, on a store that checks Content-MD5
    size = MIB
    data = (bytes(range(251)) * (size // 251 + 1))[:size]
    notes = b"#notes\n"
    sign_in(page, site, "ada")
    page.goto(site(f"/groups/{ada.pk}/upload/"))
    declared: list[dict[str, Any]] = []  # the files the browser asked upload URLs for
    sent: dict[int, tuple[str, str]] = {}  # size -> (Content-MD5, signed headers) of each PUT

    def record(request: Request) -> None:
        if request.method == "POST" and request.url.endswith("/request-uploads"):
            declared.extend(json.loads(request.post_data or "{}")["files"])
        if request.method == "PUT" and "X-Amz-SignedHeaders" in request.url:
            signed = parse_qs(urlsplit(request.url).query)["X-Amz-SignedHeaders"][0]
            length = len(request.post_data_buffer or b"")
            sent[length] = (request.headers.get("content-md5", ""), signed)

    page.on("request", record)

    # when it is dropped on the page (with a small text file beside it)
    page.locator("[data-uploader][data-ready]").wait_for(state="attached")
    page.evaluate(DROP, [size])

    # then both are verified, with the MD5 the browser declared on record
    for name in ("assembly_reads.bam", "notes.txt"):
        expect(row_of(page, name)).to_have_attribute("data-state", "verified", timeout=60_000)
    expected = {"assembly_reads.bam": data, "notes.txt": notes}
    md5s = {
        name: hashlib.md5(body, usedforsecurity=False).hexdigest()
        for name, body in expected.items()
    }
    assert {item["name"]: item["md5"] for item in declared} == md5s
    # and each PUT carried that MD5 as Content-MD5, which its URL signs
    for body in expected.values():
        content_md5, signed = sent[len(body)]
        assert content_md5 == md5_b64(body)
        assert "content-md5" in signed.split(";")
    for name, body in expected.items():
        file = File.objects.get(name=name)
        assert file.status == File.Status.VERIFIED
        assert (file.sha256, file.md5) == (hashlib.sha256(body).hexdigest(), md5s[name])


MD5_IN_THE_PAGE = """async (lengths) => {
  const { md5Hex, md5HexOfBlob } = await import('/static/web/upload/md5.js');
  const out = {};
  for (const length of lengths) {
    const bytes = new Uint8Array(length);
    for (let i = 0; i < length; i += 1) bytes[i] = (i * 31 + 7) & 255;
    out[length] = [md5Hex(bytes), await md5HexOfBlob(new Blob([bytes]))];
  }
  return out;
}"""


def test_the_pages_md5_is_rfc_1321s_for_every_padding_case(page: Page, site: Site) -> None:
    # lengths around the 56-byte padding boundary and the 64-byte block, and past one read
    lengths = [0, 1, 55, 56, 57, 63, 64, 65, 119, 120, 128, 4 * MIB + 3]
    page.goto(site("/"))
    found = page.evaluate(MD5_IN_THE_PAGE, lengths)
    for length in lengths:
        data = bytes((i * 31 + 7) & 255 for i in range(length))
        expected = hashlib.md5(data, usedforsecurity=False).hexdigest()
        assert found[str(length)] == [expected, expected], length
