"""The website in a real browser: Debian's chromium driven by Playwright, against the site served
by pytest-django's live server (or by gunicorn when a test needs other settings), with the S3
emulator receiving the browser's PUTs.

Each test worker uploads into a bucket of its own, set up for its live server's origin: CORS
is per bucket, and other tests reset the shared bucket's CORS to their own origins.
"""

from __future__ import annotations

import copy
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import (
    Browser,
    BrowserContext,
    Page,
    Playwright,
    expect,
    sync_playwright,
)

from filesharing import s3
from tests.factories import UserFactory

# Playwright's sync API keeps an event loop in this thread; the ORM calls of a test are still
# plain synchronous calls between two browser steps.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts" / "screenshots"
PASSWORD = "secret-pass-123"  # tests.factories.UserFactory's
MIB = 1024**2

# Two test workers share the machine with browsers, S3 and gunicorn: allow for a slow moment.
expect.set_options(timeout=20_000)


@pytest.fixture(scope="session")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="session")
def browser(playwright: Playwright) -> Iterator[Browser]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium (apt-get install chromium).")
    launched = playwright.chromium.launch(
        executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
    )
    yield launched
    launched.close()


@pytest.fixture
def context(browser: Browser) -> Iterator[BrowserContext]:
    ctx = browser.new_context(accept_downloads=True, viewport={"width": 1280, "height": 900})
    ctx.set_default_timeout(30_000)
    yield ctx
    ctx.close()


def csp_violations(page: Page) -> list[str]:
    """Chromium reports what the Content-Security-Policy blocked on the console; collect it."""
    found: list[str] = []
    page.on(
        "console",
        lambda message: (
            found.append(f"{page.url}: {message.text}")
            if "Content Security Policy" in message.text
            else None
        ),
    )
    return found


@pytest.fixture
def page(context: BrowserContext) -> Iterator[Page]:
    """A tab whose test fails if the site's Content-Security-Policy blocked anything in it."""
    browser_page = context.new_page()
    # Uploads in progress ask before the page goes; a test that reloads means it.
    browser_page.on("dialog", lambda dialog: dialog.accept())
    violations = csp_violations(browser_page)
    yield browser_page
    assert violations == [], "The Content-Security-Policy blocked:\n" + "\n".join(violations)


@dataclass
class Site:
    url: str
    bucket: str

    def __call__(self, path: str) -> str:
        return f"{self.url}{path}"


@pytest.fixture
def site(live_server: Any, settings: Any, worker_id: str) -> Site:
    """The live server, uploading into this worker's own bucket with CORS for its origin;
    5 MiB parts (S3's least) so that tens of MiB make several parts, and files above 5 MiB go
    in parts."""
    bucket = f"seqvault-web-{worker_id}"
    storages = copy.deepcopy(settings.STORAGES)
    storages["files"]["OPTIONS"]["bucket_name"] = bucket
    settings.STORAGES = storages
    settings.MULTIPART_DEFAULT_PART_SIZE = 5 * MIB
    settings.WEB_UPLOAD_SINGLE_PUT_MAX_BYTES = 5 * MIB
    s3.bucket_setup(web_origins=[live_server.url])
    return Site(url=live_server.url, bucket=bucket)


def screenshot(page: Page, name: str) -> None:
    """Saved under tests/artifacts/screenshots/ for people to look at."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def sign_in(page: Page, site: Site, username: str, password: str = PASSWORD) -> None:
    page.goto(site("/accounts/login/"))
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in", exact=True).click()
    page.get_by_role("button", name=f"Sign out {username}").wait_for()


def new_user(username: str) -> Any:
    return UserFactory(username=username)


def choose_files(page: Page, *paths: Path) -> None:
    """Pick files in the uploader once its script is ready."""
    page.locator("[data-uploader][data-ready]").wait_for(state="attached")
    page.locator("#pick-files").set_input_files(list(paths))


def row_of(page: Page, name: str) -> Any:
    return page.locator(f'#upload-rows tr[data-name="{name}"]')


def text_of(page: Page, selector: str) -> str:
    return re.sub(r"\s+", " ", page.locator(selector).inner_text()).strip()
