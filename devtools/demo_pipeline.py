"""A pass-through preprocessing pipeline: the local default's demo, and an example to start from.

It speaks the same pipeline API a real pipeline uses (docs/entries.md, "The preprocessing
pipeline"), with an account that has the pipeline role:

1. ``GET /api/pipeline/versions`` — the current version of each organism's pipeline;
2. ``GET /api/pipeline/unprocessed?numberOfEntries=N&pipelineVersion=V&organism=O`` — claims up
   to N entries (NDJSON, one per line) with presigned read URLs for their files;
3. ``POST /api/pipeline/processed?pipelineVersion=V`` (NDJSON) — one result per entry.

This pipeline returns each entry's submitted metadata unchanged as its processed metadata and
passes every submitted file through as an output of the same category, where the organism has
such an output category. A real pipeline would download the files from their URLs, compute, and
upload what it derives with ``POST /api/files/request-uploads`` before reporting.

Standard library only::

    python -m devtools.demo_pipeline --url http://127.0.0.1:8000 --token-file var/run/pipeline-token

`make run` starts it; production never does.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from devtools.support import Stop, raise_stop

USER_AGENT = "seqvault-demo-pipeline"


class PipelineApi:
    def __init__(self, base_url: str, token: str, timeout: float = 60.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.token = token
        self.timeout = timeout

    def _request(self, method: str, path: str, body: bytes | None = None) -> tuple[int, bytes]:
        request = urllib.request.Request(  # noqa: S310 - the URL is the configured API root
            f"{self.base_url}{path}",
            data=body,
            method=method,
            headers={
                "Authorization": f"Bearer {self.token}",
                "User-Agent": USER_AGENT,
                **({"Content-Type": "application/x-ndjson"} if body is not None else {}),
            },
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310
                return response.status, response.read()
        except urllib.error.HTTPError as error:
            return error.code, error.read()

    def versions(self) -> dict[str, int]:
        status, body = self._request("GET", "/api/pipeline/versions")
        _expect(status, body, 200)
        return {item["organism"]: item["version"] for item in json.loads(body)}

    def output_categories(self) -> dict[str, set[str]]:
        status, body = self._request("GET", "/api/organisms/")
        _expect(status, body, 200)
        found = json.loads(body)
        items = found.get("results", found) if isinstance(found, dict) else found
        return {
            item["name"]: {category["name"] for category in item.get("outputFileCategories", [])}
            for item in items
        }

    def claim(self, *, organism: str, version: int, number: int) -> list[dict[str, Any]]:
        query = f"numberOfEntries={number}&pipelineVersion={version}&organism={organism}"
        status, body = self._request("GET", f"/api/pipeline/unprocessed?{query}")
        _expect(status, body, 200)
        return [json.loads(line) for line in body.splitlines() if line.strip()]

    def report(self, *, version: int, results: list[dict[str, Any]]) -> None:
        body = "".join(json.dumps(result) + "\n" for result in results).encode()
        status, answer = self._request(
            "POST", f"/api/pipeline/processed?pipelineVersion={version}", body
        )
        _expect(status, answer, 204)


class PipelineError(RuntimeError):
    pass


def _expect(status: int, body: bytes, wanted: int) -> None:
    if status != wanted:
        raise PipelineError(f"HTTP {status}: {body[:500].decode(errors='replace')}")


def pass_through(entry: dict[str, Any], output_categories: set[str]) -> dict[str, Any]:
    """The processed result of one claimed entry: its metadata and its files, unchanged."""
    data = entry.get("data", {})
    files = {
        category: [{"fileId": file["fileId"], "name": file["name"]} for file in category_files]
        for category, category_files in (data.get("files") or {}).items()
        if category in output_categories
    }
    return {
        "accession": entry["accession"],
        "version": entry["version"],
        "data": {"metadata": data.get("metadata") or {}, "files": files},
        "errors": [],
        "warnings": [],
    }


def process_once(api: PipelineApi, batch: int) -> int:
    """Claim and report one batch per organism; the number of entries processed."""
    done = 0
    categories = api.output_categories()
    for organism, version in api.versions().items():
        entries = api.claim(organism=organism, version=version, number=batch)
        if entries:
            results = [pass_through(entry, categories.get(organism, set())) for entry in entries]
            api.report(version=version, results=results)
            for result in results:
                print(f"processed {result['accession']}.{result['version']}", flush=True)
            done += len(entries)
    return done


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--url", required=True, help="seqvault's base URL")
    parser.add_argument("--token-file", type=Path, required=True, help="a pipeline-role token")
    parser.add_argument("--interval", type=float, default=2.0, help="seconds between polls")
    parser.add_argument("--batch", type=int, default=100, help="entries claimed per request")
    args = parser.parse_args(argv)
    signal.signal(signal.SIGTERM, raise_stop)
    signal.signal(signal.SIGINT, raise_stop)
    api = PipelineApi(args.url, args.token_file.read_text().strip())
    print(f"demo pipeline polling {args.url} every {args.interval:g} s", flush=True)
    failures = 0
    try:
        while True:
            try:
                busy = process_once(api, args.batch) > 0
                failures = 0
            except (PipelineError, OSError, ValueError) as error:
                failures += 1
                busy = False
                if failures in (1, 10) or failures % 100 == 0:  # say so, without flooding
                    print(f"demo pipeline: {error} (retrying)", file=sys.stderr, flush=True)
            if not busy:
                time.sleep(args.interval * min(failures + 1, 15))
    except Stop:
        return 0


if __name__ == "__main__":
    sys.exit(main())
