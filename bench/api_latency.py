"""API latency at 50 concurrent clients: seqvault on gunicorn as production runs it (4 sync
workers, production settings) over a small and a large seeded database, beside a bare WSGI app
on the same gunicorn, with Debian's `wrk`.

    apt-get install -y wrk
    .venv/bin/python manage.py seed_large_database                       # into the large db
    .venv/bin/python manage.py seed_large_database --files 10000 --groups 10 --users 100 \\
        --entries 1000                                                    # into the small db
    .venv/bin/python -m bench.api_latency --large postgres://…/big --small postgres://…/small \\
        [--duration 30] [--rounds 3] [--connections 50] [--against ../seqvault-before]

Targets, each as a member of a seeded group (requests rotate over up to 50 members of
different groups): GET /api/files/, GET /api/files/?released=true, GET /api/entries/,
POST /api/files/request-uploads with 10 declared files (every call adds a version of the same
10 names, so versions accumulate as it runs), GET /api/files/<id>/download (a 307).
Rounds interleave the bare app, the small and the large database, target by target; each
prints min/median/max over the rounds of p50 and p99, requests/s and errors. With `--against`,
another checkout of seqvault (e.g. `git worktree add ../seqvault-before <commit>`; its
migrations must be the large database's) serves the large database too, as server `then`,
interleaved with the rest, and the ratios of this checkout's figures to its are printed.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

from bench.servers import (
    ROOT,
    WrkResult,
    gunicorn,
    run_json,
    s3_endpoint,
    server_env,
    spread,
    wrk,
)

TARGETS = {
    "files": ("GET", "/api/files/"),
    "files-released": ("GET", "/api/files/?released=true"),
    "entries": ("GET", "/api/entries/"),
    "request-uploads-10": ("POST", "/api/files/request-uploads"),
    "download": ("GET", "/api/files/{file}/download"),
}
MEMBERS = 50


def prepare() -> None:
    """Run in a subprocess against one database: tokens for members of seeded groups."""
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.test")
    django.setup()
    from accounts.services import token_create
    from core.errors import StorageUnavailableError
    from filesharing import s3
    from filesharing.models import File
    from groups.models import Membership

    for attempt in range(5):  # a busy emulator may time out a request now and then
        try:
            s3.bucket_setup(web_origins=[])
            break
        except StorageUnavailableError:
            if attempt == 4:
                raise
            time.sleep(2)
    admins = (
        Membership.objects.filter(role=Membership.Role.ADMIN, group__name__contains="-group-")
        .select_related("user", "group")
        .order_by("group_id")[:MEMBERS]
    )
    members = []
    for membership in admins:
        file = (
            File.objects.filter(
                group=membership.group,
                status=File.Status.VERIFIED,
                deleted_at__isnull=True,
                released_at__isnull=True,
            )
            .order_by("pk")
            .first()
        )
        assert file is not None, f"group {membership.group} has no verified file"
        members.append(
            {
                "token": token_create(user=membership.user).raw,
                "group": membership.group_id,
                "file": str(file.pk),
            }
        )
    if not members:
        raise SystemExit("No seeded groups here: run manage.py seed_large_database first.")
    print(json.dumps(members))


def members_of(database_url: str) -> list[dict[str, str]]:
    env = {**server_env(database_url), "DJANGO_SETTINGS_MODULE": "config.settings.test"}
    return list(run_json("bench.api_latency", ["--prepare"], env))


def lua_script(members: list[dict[str, str]], method: str, path: str, directory: Path) -> Path:
    """A wrk script rotating over the members; POSTs declare 10 files of fixed names."""
    files = ", ".join(
        f'{{\\"name\\": \\"bench_{i}.fastq.gz\\", \\"size\\": {10**9 + i}}}' for i in range(10)
    )
    rows = ",\n".join(
        f'  {{token="{m["token"]}", group={m["group"]}, file="{m["file"]}"}}' for m in members
    )
    script = directory / f"{method}-{abs(hash((path, len(members))))}.lua"
    script.write_text(
        f"""
local members = {{
{rows}
}}
local counter = 0
request = function()
  counter = counter + 1
  local m = members[(counter % #members) + 1]
  local headers = {{["Authorization"] = "Bearer " .. m.token,
                   ["Content-Type"] = "application/json"}}
  local path = string.gsub("{path}", "{{file}}", m.file)
  if "{method}" == "POST" then
    local body = string.format('{{"groupId": %d, "files": [{files}]}}', m.group)
    return wrk.format("POST", path, headers, body)
  end
  return wrk.format("GET", path, headers)
end
"""
    )
    return script


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--prepare", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--large", default=os.environ.get("BENCH_LARGE_DATABASE_URL"))
    parser.add_argument("--small", default=os.environ.get("BENCH_SMALL_DATABASE_URL"))
    parser.add_argument("--duration", type=float, default=30.0, help="seconds per target run")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--connections", type=int, default=50)
    parser.add_argument("--targets", nargs="*", default=list(TARGETS), choices=list(TARGETS))
    parser.add_argument(
        "--against", type=Path, help="another checkout, served on the large database as `then`"
    )
    args = parser.parse_args()
    if args.against and not (args.against / "config" / "wsgi.py").is_file():
        parser.error(f"--against {args.against}: not a checkout of seqvault (no config/wsgi.py)")
    sys.path.insert(0, str(ROOT))
    if args.prepare:
        prepare()
        return 0
    if not (args.large and args.small):
        parser.error("give --large and --small database URLs (seeded)")
    results: dict[tuple[str, str], list[WrkResult]] = defaultdict(list)
    with s3_endpoint(), tempfile.TemporaryDirectory() as scratch:
        directory = Path(scratch)
        logs = ROOT / "var" / "bench-logs"
        databases = {"10k": args.small, "1M": args.large}
        members = {name: members_of(url) for name, url in databases.items()}
        with contextlib.ExitStack() as stack:
            app = "config.wsgi:application"
            small_env, large_env = server_env(args.small), server_env(args.large)
            bare = stack.enter_context(
                gunicorn("bare", "bench.bare_wsgi:application", small_env, logs)
            )
            small = stack.enter_context(gunicorn("10k", app, small_env, logs))
            large = stack.enter_context(gunicorn("1M", app, large_env, logs))
            servers = [(bare, members["10k"]), (small, members["10k"]), (large, members["1M"])]
            if args.against:
                root = args.against.resolve()
                then = stack.enter_context(gunicorn("then", app, large_env, logs, root=root))
                servers.append((then, members["1M"]))
            for server, people in servers[1:]:  # warm every worker's connections and caches
                for name in args.targets:
                    method, path = TARGETS[name]
                    script = lua_script(people, method, path, directory)
                    wrk(server.url, script=script, connections=8, duration=2)
            for round_number in range(args.rounds):
                for name in args.targets:
                    method, path = TARGETS[name]
                    for server, people in servers:
                        script = lua_script(people, method, path, directory)
                        outcome = wrk(
                            server.url,
                            script=script,
                            connections=args.connections,
                            duration=args.duration,
                        )
                        results[(name, server.name)].append(outcome)
                        print(
                            f"round {round_number + 1} {name:<20} {server.name:<4} "
                            f"p50 {outcome.p50_ms:7.1f} ms  p99 {outcome.p99_ms:7.1f} ms  "
                            f"{outcome.per_second:7.1f} req/s  errors {outcome.errors}",
                            flush=True,
                        )
    report(results, args)
    return 0


def report(results: dict[tuple[str, str], list[WrkResult]], args: argparse.Namespace) -> None:
    print(
        f"\n{args.connections} connections, {args.duration:.0f} s a run, {args.rounds} rounds; "
        f"gunicorn {4} sync workers, production settings; min/median/max over rounds"
    )
    print(f"{'target':<20} {'server':<5} {'p50 ms':>17} {'p99 ms':>20} {'req/s':>20} errors")
    for name in args.targets:
        for server in ("bare", "10k", "1M", "then"):
            runs = results[(name, server)]
            if not runs:
                continue
            print(
                f"{name:<20} {server:<5} {spread([r.p50_ms for r in runs]):>17} "
                f"{spread([r.p99_ms for r in runs]):>20} "
                f"{spread([r.per_second for r in runs]):>20} {sum(r.errors for r in runs)}"
            )
        small = statistics.median(r.p99_ms for r in results[(name, "10k")])
        large = statistics.median(r.p99_ms for r in results[(name, "1M")])
        ratio = f"{large / small:.2f}" if small and large else "n/a (a run completed nothing)"
        print(f"{name:<20} p99 1M / p99 10k (medians): {ratio}")
        if results[(name, "then")]:
            print(f"{name:<20} 1M / then (medians): {_against(results, name)}")


def _against(results: dict[tuple[str, str], list[WrkResult]], name: str) -> str:
    now, then = results[(name, "1M")], results[(name, "then")]
    rate = statistics.median(r.per_second for r in now) / statistics.median(
        r.per_second for r in then
    )
    p99 = statistics.median(r.p99_ms for r in now) / statistics.median(r.p99_ms for r in then)
    return f"requests/s {rate:.2f}, p99 {p99:.2f}"


if __name__ == "__main__":
    sys.exit(main())
