"""The `seqvault` command. Run `seqvault --help` or `seqvault <command> --help`."""

from __future__ import annotations

import argparse
import getpass
import json
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from seqvault_client.client import Client
from seqvault_client.config import Settings, config_dir, forget_settings, save_settings
from seqvault_client.download import DownloadOptions
from seqvault_client.errors import Interrupted, SeqvaultError
from seqvault_client.login import check_token, token_from_password
from seqvault_client.progress import ShownOnce, progress_stream
from seqvault_client.sizes import format_size, parse_size
from seqvault_client.upload import UploadOptions

EXIT_FAILED = 1
EXIT_INTERRUPTED = 130


def _size(text: str) -> int:
    try:
        return parse_size(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _jobs(text: str) -> int:
    value = int(text)
    if not 1 <= value <= 32:
        raise argparse.ArgumentTypeError("between 1 and 32")
    return value


def _attempts(text: str) -> int:
    value = int(text)
    if not 1 <= value <= 100:
        raise argparse.ArgumentTypeError("between 1 and 100")
    return value


def _in_flight(text: str) -> int:
    value = int(text)
    if not 1 <= value <= 64:
        raise argparse.ArgumentTypeError("between 1 and 64")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="seqvault", description="Upload and download sequencing files with seqvault."
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log each part and retry")
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress bars")
    commands = parser.add_subparsers(dest="command", required=True)

    login = commands.add_parser("login", help="store the server URL and an API token")
    login.add_argument("--url", required=True, help="the seqvault server, e.g. https://…")
    how = login.add_mutually_exclusive_group()
    how.add_argument("--token", help="an API token (else asked for, or read from stdin)")
    how.add_argument("--username", help="sign in with a password to create a token")

    commands.add_parser("logout", help="forget the stored URL and token")

    upload = commands.add_parser("upload", help="upload files and folders to a group")
    upload.add_argument("paths", nargs="+", metavar="PATH")
    upload.add_argument("--group", "-g", required=True, help="group name or ID")
    upload.add_argument("--name", help="the name to store (one file only; default its own)")
    upload.add_argument("--jobs", "-j", type=_jobs, default=6, help="parts in flight (6)")
    upload.add_argument(
        "--files-in-flight",
        type=_in_flight,
        default=16,
        help="small files sent at once (16)",
    )
    upload.add_argument("--part-size", type=_size, help="e.g. 64MiB (default: the server's)")
    upload.add_argument(
        "--multipart-threshold",
        type=_size,
        default=64 * 1024**2,
        help="larger files go in parts (64MiB)",
    )
    upload.add_argument("--no-dedup", action="store_true", help="store even known content")
    upload.add_argument(
        "--hash-first",
        action="store_true",
        help="hash large files first, so content the group already holds is not sent again",
    )
    upload.add_argument("--no-wait", action="store_true", help="do not wait for verification")
    upload.add_argument(
        "--max-attempts", type=_attempts, default=8, help="tries per request or part (8)"
    )
    upload.add_argument(
        "--json", action="store_true", help="print one JSON object per line as each file is done"
    )

    download = commands.add_parser("download", help="download files by ID")
    download.add_argument("file_ids", nargs="*", metavar="FILE_ID")
    download.add_argument(
        "--manifest",
        help="a file of file IDs, one a line (`name<TAB>fileId` lines as upload prints them "
        "too); - reads stdin",
    )
    download.add_argument("--entry", help="every file of an entry version, e.g. LOC_0001.1")
    download.add_argument("-o", "--output", default=".", help="folder to write to (.)")
    download.add_argument(
        "--jobs", "-j", type=_jobs, default=6, help="ranges in flight per file (6)"
    )
    download.add_argument(
        "--files-in-flight", type=_in_flight, default=4, help="files fetched at once (4)"
    )
    download.add_argument("--chunk-size", type=_size, default=16 * 1024**2, help="(16MiB)")
    download.add_argument("--overwrite", action="store_true", help="replace differing files")
    download.add_argument(
        "--json", action="store_true", help="print one JSON object per line as each file is done"
    )

    files = commands.add_parser("files", help="list files").add_subparsers(
        dest="files_command", required=True
    )
    ls = files.add_parser("ls", help="list a group's files")
    ls.add_argument("--group", "-g", required=True, help="group name or ID")
    ls.add_argument("--status", help="requested, uploaded, verified, failed or expired")
    ls.add_argument("--name", help="only files of this name")
    ls.add_argument("--all-versions", action="store_true", help="every version, not the latest")
    ls.add_argument("--json", action="store_true", help="print the files as JSON")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    _set_up_logging(verbose=args.verbose)
    try:
        return int(COMMANDS[args.command](args))
    except Interrupted:
        print("\nInterrupted. Run the same command again to resume.", file=sys.stderr)
        return EXIT_INTERRUPTED
    except KeyboardInterrupt:
        print("\nInterrupted.", file=sys.stderr)
        return EXIT_INTERRUPTED
    except SeqvaultError as exc:
        print(f"seqvault: {exc}", file=sys.stderr)
        return EXIT_FAILED


def _set_up_logging(*, verbose: bool) -> None:
    """Notices (waits, kept uploads) are shown without -v, each once; -v adds every part and
    retry. On a terminal a notice first clears the progress line."""
    handler = logging.StreamHandler(sys.stderr)
    clear = "\r\x1b[K" if sys.stderr.isatty() else ""
    handler.setFormatter(logging.Formatter(clear + "%(message)s"))
    once = ShownOnce()
    handler.addFilter(lambda record: record.levelno < logging.WARNING or once.filter(record))
    logger = logging.getLogger("seqvault")
    logger.handlers[:] = [handler]
    logger.propagate = False
    logger.setLevel(logging.INFO if verbose else logging.WARNING)


def _emit(result: Any, *, as_json: bool, line: str) -> None:
    print(json.dumps(result.as_json()) if as_json else line, flush=True)


def cmd_login(args: argparse.Namespace) -> int:
    url = args.url.rstrip("/")
    if args.username:
        password = os.environ.get("SEQVAULT_PASSWORD") or getpass.getpass(
            f"Password for {args.username}: "
        )
        token = token_from_password(url, args.username, password)
    else:
        token = args.token or _ask_token(url)
        check_token(url, token)
    path = save_settings(Settings(url=url, token=token))
    print(f"Signed in to {url}; token stored in {path}.", file=sys.stderr)
    return 0


def _ask_token(url: str) -> str:
    if not sys.stdin.isatty():
        return sys.stdin.readline().strip()
    print(
        f"Create a token at {url}/api/tokens/ (or in your profile) and paste it.", file=sys.stderr
    )
    return getpass.getpass("API token: ").strip()


def cmd_logout(args: argparse.Namespace) -> int:
    forgotten = forget_settings()
    print("Signed out." if forgotten else "Not signed in.", file=sys.stderr)
    return 0


def cmd_upload(args: argparse.Namespace) -> int:
    client = Client.from_config()
    options = UploadOptions(
        jobs=args.jobs,
        part_size=args.part_size,
        multipart_threshold=args.multipart_threshold,
        dedup=not args.no_dedup,
        wait=not args.no_wait,
        hash_first=args.hash_first,
        files_in_flight=args.files_in_flight,
        max_attempts=args.max_attempts,
    )
    failed = 0
    uploads = client.upload(
        args.paths,
        group=args.group,
        options=options,
        progress_to=progress_stream(args.quiet),
        name=args.name,
        keep_going=True,
    )
    for result in uploads:
        if result.status in ("failed", "expired", "error"):
            failed += 1
            print(
                f"seqvault: {result.name}: {result.status}: {result.failure_reason}",
                file=sys.stderr,
            )
            if not args.json:
                continue
        _emit(result, as_json=args.json, line=f"{result.name}\t{result.file_id}")
    return EXIT_FAILED if failed else 0


def cmd_download(args: argparse.Namespace) -> int:
    client = Client.from_config()
    file_ids = _download_ids(client, args)
    if not file_ids:
        raise SeqvaultError("Name the files to download: IDs, --manifest or --entry.")
    options = DownloadOptions(
        jobs=args.jobs,
        chunk_size=args.chunk_size,
        overwrite=args.overwrite,
        files_in_flight=args.files_in_flight,
    )
    failed = 0
    downloads = client.download_many(
        file_ids, args.output, options=options, progress_to=progress_stream(args.quiet)
    )
    for outcome in downloads:
        if isinstance(outcome, tuple):
            failed += 1
            print(f"seqvault: {outcome[0]}: {outcome[1]}", file=sys.stderr)
            continue
        _emit(outcome, as_json=args.json, line=f"{outcome.path}\t{outcome.file_id}")
    return EXIT_FAILED if failed else 0


def _download_ids(client: Client, args: argparse.Namespace) -> list[str]:
    ids = list(args.file_ids)
    if args.manifest:
        if args.manifest == "-":
            lines = sys.stdin.read().splitlines()
        else:
            try:
                lines = Path(args.manifest).read_text().splitlines()
            except OSError as exc:
                raise SeqvaultError(f"Cannot read the manifest: {exc}") from exc
        ids += [line.split("\t")[-1].strip() for line in lines if line.strip()]
        ids = [i for i in ids if not i.startswith("#")]
    if args.entry:
        ids += client.entry_file_ids(args.entry)
    return list(dict.fromkeys(ids))


def cmd_files(args: argparse.Namespace) -> int:
    client = Client.from_config()
    files = client.files(
        group=args.group,
        status=args.status,
        name=args.name,
        all_versions="true" if args.all_versions else None,
    )
    if args.json:
        print(json.dumps(list(files), indent=2))
        return 0
    for file in files:
        size = format_size(file["size"]) if file["size"] is not None else "-"
        print(
            "\t".join(
                [file["fileId"], file["name"] or "-", str(file["version"]), file["status"], size]
            )
        )
    return 0


COMMANDS = {
    "login": cmd_login,
    "logout": cmd_logout,
    "upload": cmd_upload,
    "download": cmd_download,
    "files": cmd_files,
}

__all__ = ["build_parser", "config_dir", "main"]

if __name__ == "__main__":
    sys.exit(main())
