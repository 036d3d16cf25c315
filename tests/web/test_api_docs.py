"""The browsable API docs work offline: Swagger UI comes from our own static files."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Page, expect

from tests.web.conftest import screenshot

pytestmark = [pytest.mark.django_db, pytest.mark.browser]

LOOPBACK = {"127.0.0.1", "localhost"}


def _record_hosts(page: Page) -> list[str]:
    hosts: list[str] = []
    page.on("request", lambda request: hosts.append(urlsplit(request.url).hostname or "blob"))
    return hosts


def test_swagger_ui_lists_the_operations_with_no_request_leaving_loopback(
    page: Page, live_server: Any
) -> None:
    hosts = _record_hosts(page)

    page.goto(f"{live_server.url}/api/docs/")

    # the operations are listed, from the schema our server generated
    expect(page.locator(".opblock").first).to_be_visible()
    expect(page.get_by_text("/api/files/request-uploads").first).to_be_visible()
    expect(page.get_by_text("/api/pipeline/unprocessed").first).to_be_visible()
    assert page.locator(".opblock").count() > 40
    screenshot(page, "api-docs-swagger")
    # and nothing was fetched from anywhere but this server
    assert hosts, "the page made requests"
    assert set(hosts) <= LOOPBACK | {"blob"}, sorted(set(hosts))
