"""HTTP to the seqvault API (with the token) and to S3 (presigned URLs, no token), with
retries: connection failures, timeouts, 5xx and 429 are tried again after a backoff."""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Iterable
from typing import Any

import requests
from requests.adapters import HTTPAdapter

from seqvault_client.errors import ApiError, SeqvaultError

log = logging.getLogger("seqvault")

RETRYABLE_STATUS = frozenset({500, 502, 503, 504})
# Failures of the connection itself: refused, reset, dropped mid-body, timed out.
CONNECTION_ERRORS: tuple[type[Exception], ...] = (
    requests.ConnectionError,
    requests.Timeout,
    requests.exceptions.ChunkedEncodingError,
)
USER_AGENT = "seqvault-client/0.1"


def backoff(attempt: int, *, base: float = 0.5, cap: float = 30.0) -> float:
    """Exponential with jitter: ~0.5 s, 1 s, 2 s … up to `cap`."""
    return float(min(cap, base * 2**attempt) * random.uniform(0.5, 1.0))


def new_session(pool_size: int) -> requests.Session:
    session = requests.Session()
    adapter = HTTPAdapter(pool_connections=4, pool_maxsize=max(4, pool_size))
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    session.headers["User-Agent"] = USER_AGENT
    return session


class Api:
    """The seqvault REST API: JSON in and out, errors as ApiError with the server's code."""

    def __init__(
        self,
        url: str,
        token: str,
        *,
        timeout: float = 120.0,
        max_attempts: int = 6,
        pool_size: int = 8,
    ) -> None:
        self.url = url.rstrip("/")
        self.token = token
        self.timeout = timeout
        self.max_attempts = max_attempts
        self.pool_size = pool_size
        self._local = threading.local()

    def session(self) -> requests.Session:
        """One session per thread: requests' sessions are not meant to be shared."""
        session: requests.Session | None = getattr(self._local, "session", None)
        if session is None:
            session = new_session(self.pool_size)
            session.headers["Authorization"] = f"Bearer {self.token}"
            session.headers["Accept"] = "application/json"
            self._local.session = session
        return session

    def close(self) -> None:
        """Close this thread's connections (other threads' close when the threads end)."""
        session: requests.Session | None = getattr(self._local, "session", None)
        if session is not None:
            session.close()
            del self._local.session

    def absolute(self, path: str) -> str:
        return path if path.startswith(("http://", "https://")) else f"{self.url}/api/{path}"

    def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: dict[str, Any] | None = None,
        expect: Iterable[int] = (200,),
    ) -> requests.Response:
        expected = set(expect)
        url = self.absolute(path)
        for attempt in range(self.max_attempts):
            last = attempt == self.max_attempts - 1
            try:
                response = self.session().request(
                    method, url, json=json, params=params, timeout=self.timeout
                )
            except CONNECTION_ERRORS as exc:
                if last:
                    raise SeqvaultError(f"Cannot reach {self.url}: {exc}") from exc
                log.info("%s %s failed (%s); retrying", method, url, type(exc).__name__)
                time.sleep(backoff(attempt))
                continue
            if response.status_code in expected:
                return response
            response.close()
            if response.status_code == 429 and not last:
                wait = _retry_after(response, default=backoff(attempt))
                log.warning(
                    "The server asks to wait (%s): trying again in %.0f s.",
                    api_error(response).message.rstrip("."),
                    wait,
                )
                time.sleep(wait)
                continue
            if response.status_code in RETRYABLE_STATUS and not last:
                log.info("%s %s: %s; retrying", method, url, response.status_code)
                time.sleep(backoff(attempt))
                continue
            error = api_error(response)
            # A kept traceback would otherwise keep the response, its connection pool and
            # socket alive after the session is closed.
            del response
            raise error
        raise AssertionError("unreachable")

    def withdraw_file(self, file_id: str) -> None:
        """Delete a file that could not be sent, so it holds no quota; a failure is logged."""
        try:
            self.request("DELETE", f"files/{file_id}/", expect=(200,))
        except SeqvaultError as exc:
            log.info("could not withdraw file %s: %s", file_id, exc)

    def get(self, path: str, **params: Any) -> Any:
        return self.request("GET", path, params=params or None).json()

    def post(self, path: str, body: Any = None, *, expect: Iterable[int] = (200, 201)) -> Any:
        response = self.request("POST", path, json=body if body is not None else {}, expect=expect)
        return response.json() if response.content else None


def _retry_after(response: requests.Response, *, default: float) -> float:
    try:
        return min(300.0, max(0.0, float(response.headers.get("Retry-After", ""))))
    except ValueError:
        return default


def api_error(response: requests.Response) -> ApiError:
    try:
        error = response.json()["error"]
        return ApiError(response.status_code, error["code"], error["message"], error.get("details"))
    except (ValueError, KeyError, TypeError):
        text = response.text.strip().splitlines()[0][:200] if response.text.strip() else ""
        return ApiError(response.status_code, "http_error", text or response.reason or "error")
