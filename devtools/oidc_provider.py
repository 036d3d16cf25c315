"""Run the development OpenID provider (``devtools/oidc/provider.mjs``) on 127.0.0.1.

Used by the OIDC tests and for trying OIDC sign-in locally without docker-compose. Standard
library only. The provider is the npm package ``oidc-provider``, pinned in
``devtools/oidc/package-lock.json``; ``npm ci`` installs it into ``devtools/oidc/node_modules``
the first time it is needed and again whenever the lock changes.

API::

    from devtools.oidc_provider import start_provider
    with start_provider(redirect_uris=["http://127.0.0.1:8000/oidc/callback/"]) as provider:
        provider.issuer               # http://127.0.0.1:<port>
        provider.seqvault_env()       # the OIDC_* variables that point seqvault at it
        provider.set_accounts([...])  # who may sign in, read again on every sign-in

CLI::

    python -m devtools.oidc_provider ensure
    python -m devtools.oidc_provider run [--port N] [--redirect-uri URL ...]   # until Ctrl-C
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from devtools.support import (
    Stop,
    StopsOnExit,
    exclusive_lock,
    file_sha256,
    log_tail,
    raise_stop,
    read_text,
    write_atomically,
)

PROJECT_ROOT = Path(__file__).resolve().parent.parent
NODE_DIR = PROJECT_ROOT / "devtools" / "oidc"
STAMP_NAME = ".seqvault-lock-sha256"  # inside node_modules: hash of the lock it was built from
MIN_NODE = (20, 19)
READY_TIMEOUT = 30.0
STOP_TIMEOUT = 5.0
DEFAULT_CLIENT_ID = "seqvault"
DEFAULT_CLIENT_SECRET = "seqvault-dev-secret"  # noqa: S105 - a loopback-only test provider
DEFAULT_REDIRECT_URIS = ("http://127.0.0.1:8000/oidc/callback/",)
# The same as the built-in accounts of provider.mjs, so `run` can print them.
BUILT_IN_ACCOUNTS: tuple[dict[str, str], ...] = (
    {"sub": "dev-alice", "login": "alice", "password": "alice", "email": "alice@example.org"},
    {"sub": "dev-bob", "login": "bob", "password": "bob", "email": "bob@example.org"},
)

NODE_MISSING = """\
The development OpenID provider needs Node.js {minimum} or later and npm ({problem}).
Install them with `apt-get install nodejs npm` (check the version it gives) or from
https://nodejs.org, then run `python -m devtools.oidc_provider ensure`."""


class ProviderError(RuntimeError):
    """The provider could not be installed or started; the message says why."""


# --------------------------------------------------------------------------- node_modules


def ensure_node_modules(node_dir: Path = NODE_DIR) -> Path:
    """Install the pinned packages with ``npm ci`` unless ``node_modules`` matches the lock.

    A stamp holding the lock's hash makes the common case a file read. Parallel test workers
    serialise on a lock of package-lock.json, so only one of them runs npm.
    """
    _check_node()
    lock = node_dir / "package-lock.json"
    wanted = file_sha256(lock)
    if _modules_are_current(node_dir, wanted):
        return node_dir / "node_modules"
    with exclusive_lock(lock):
        if not _modules_are_current(node_dir, wanted):
            _npm_ci(node_dir)
            write_atomically(node_dir / "node_modules" / STAMP_NAME, wanted)
    return node_dir / "node_modules"


def _check_node() -> None:
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        missing = " and ".join(n for n, p in (("node", node), ("npm", npm)) if p is None)
        raise ProviderError(_node_missing(f"{missing} not found on PATH"))
    version = subprocess.run([node, "--version"], capture_output=True, text=True, check=False)
    found = tuple(int(n) for n in re.findall(r"\d+", version.stdout)[:2])
    if found < MIN_NODE:
        raise ProviderError(_node_missing(f"found node {version.stdout.strip() or 'unknown'}"))


def _node_missing(problem: str) -> str:
    return NODE_MISSING.format(minimum=".".join(map(str, MIN_NODE)), problem=problem)


def _modules_are_current(node_dir: Path, wanted: str) -> bool:
    modules = node_dir / "node_modules"
    stamp = modules / STAMP_NAME
    return (
        (modules / "oidc-provider" / "package.json").is_file()
        and stamp.is_file()
        and stamp.read_text().strip() == wanted
    )


def _npm_ci(node_dir: Path) -> None:
    _progress(f"installing the pinned OpenID provider into {node_dir / 'node_modules'} (npm ci)")
    command = ["npm", "ci", "--prefer-offline", "--no-audit", "--no-fund", "--loglevel=error"]
    result = subprocess.run(command, cwd=node_dir, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise ProviderError(
            f"`{' '.join(command)}` in {node_dir} failed with exit code {result.returncode}:\n"
            f"{result.stdout}{result.stderr}"
        )


# --------------------------------------------------------------------------- provider


@dataclass
class Provider(StopsOnExit):
    """A running development OpenID provider; ``stop()`` ends it, as does leaving ``with``."""

    issuer: str
    pid: int
    client_id: str
    client_secret: str
    state_dir: Path
    _process: subprocess.Popen[bytes] | None = field(default=None, repr=False, compare=False)
    _own_state_dir: bool = field(default=False, repr=False, compare=False)

    @property
    def accounts_file(self) -> Path:
        return self.state_dir / "accounts.json"

    @property
    def log_file(self) -> Path:
        return self.state_dir / "provider.log"

    def configuration(self) -> dict[str, Any]:
        """The provider's discovery document."""
        url = f"{self.issuer}/.well-known/openid-configuration"
        with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 - loopback http
            document: dict[str, Any] = json.load(response)
        return document

    def set_accounts(self, accounts: Sequence[dict[str, Any]]) -> None:
        """Replace who may sign in: dicts of sub, login, password, email and optionally name,
        preferred_username and email_verified. Takes effect at the next sign-in or token use."""
        write_atomically(self.accounts_file, json.dumps(list(accounts), indent=2))

    def seqvault_env(self, *, provider_name: str = "the development provider") -> dict[str, str]:
        """The OIDC_* environment variables that make seqvault sign users in here."""
        document = self.configuration()
        return {
            "OIDC_RP_CLIENT_ID": self.client_id,
            "OIDC_RP_CLIENT_SECRET": self.client_secret,
            "OIDC_OP_AUTHORIZATION_ENDPOINT": document["authorization_endpoint"],
            "OIDC_OP_TOKEN_ENDPOINT": document["token_endpoint"],
            "OIDC_OP_USER_ENDPOINT": document["userinfo_endpoint"],
            "OIDC_OP_JWKS_ENDPOINT": document["jwks_uri"],
            "OIDC_RP_SIGN_ALGO": "RS256",
            "OIDC_PROVIDER_NAME": provider_name,
        }

    def stop(self) -> None:
        """SIGTERM the provider, SIGKILL it if it is still there after STOP_TIMEOUT."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.pid, signal.SIGTERM)  # own session: pgid == pid
        if not self._wait_gone(STOP_TIMEOUT):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.pid, signal.SIGKILL)
            self._wait_gone(STOP_TIMEOUT)
        if self._own_state_dir:
            shutil.rmtree(self.state_dir, ignore_errors=True)

    def _wait_gone(self, timeout: float) -> bool:
        if self._process is None:
            return True
        try:
            self._process.wait(timeout)
        except subprocess.TimeoutExpired:
            return False
        return True


def start_provider(
    port: int | None = None,
    *,
    client_id: str = DEFAULT_CLIENT_ID,
    client_secret: str = DEFAULT_CLIENT_SECRET,
    redirect_uris: Sequence[str] = DEFAULT_REDIRECT_URIS,
    accounts: Sequence[dict[str, Any]] | None = None,
    state_dir: Path | None = None,
    exit_with_parent: bool = True,
) -> Provider:
    """Start the provider on 127.0.0.1 and wait until its discovery document answers.

    port: None lets the provider take a free port (no race with other processes).
    accounts: who may sign in (see ``Provider.set_accounts``); None keeps the built-in alice/alice
    and bob/bob. state_dir holds the accounts file and provider.log; None makes a temporary one
    that ``stop()`` removes. exit_with_parent: the provider stops itself when this process dies.
    """
    ensure_node_modules()
    own_state_dir = state_dir is None
    if state_dir is None:
        state_dir = Path(tempfile.mkdtemp(prefix="oidc-provider-"))
    state_dir = state_dir.resolve()
    state_dir.mkdir(parents=True, exist_ok=True)
    issuer_file = state_dir / "issuer"
    issuer_file.unlink(missing_ok=True)
    command = [
        "node",
        str(NODE_DIR / "provider.mjs"),
        "--port",
        str(port or 0),
        "--client-id",
        client_id,
        "--client-secret",
        client_secret,
        "--issuer-file",
        str(issuer_file),
    ]
    for uri in redirect_uris:
        command += ["--redirect-uri", uri]
    if accounts is not None:
        write_atomically(state_dir / "accounts.json", json.dumps(list(accounts), indent=2))
        command += ["--accounts", str(state_dir / "accounts.json")]
    if exit_with_parent:
        command += ["--parent-pid", str(os.getpid())]
    log_path = state_dir / "provider.log"
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            command,
            cwd=NODE_DIR,
            env=_provider_env(),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            # Own process group: stop() ends it whole, and a Ctrl-C reaches only the launcher.
            start_new_session=True,
        )
    provider = Provider(
        "", process.pid, client_id, client_secret, state_dir, process, own_state_dir
    )
    try:
        provider.issuer = _wait_until_ready(process, issuer_file, log_path)
    except BaseException:
        provider.stop()
        raise
    return provider


def _provider_env() -> dict[str, str]:
    # Not our whole environment: the `debug` package reads DEBUG, and NODE_OPTIONS or
    # NODE_ENV from a developer's shell could change how the provider runs.
    return {
        "PATH": os.environ.get("PATH", os.defpath),
        "HOME": os.environ.get("HOME", "/tmp"),  # noqa: S108 - only where npm may look
        "LANG": "C.UTF-8",
    }


def _wait_until_ready(process: subprocess.Popen[bytes], issuer_file: Path, log: Path) -> str:
    deadline = time.monotonic() + READY_TIMEOUT
    while True:
        code = process.poll()
        if code is not None:
            raise ProviderError(f"the OpenID provider exited with code {code}.\n{log_tail(log)}")
        issuer = read_text(issuer_file).strip()
        if issuer and _discovery_ok(issuer):
            return issuer
        if time.monotonic() > deadline:
            raise ProviderError(f"the OpenID provider is not ready after {READY_TIMEOUT:.0f} s.")
        time.sleep(0.05)


def _discovery_ok(issuer: str) -> bool:
    url = f"{issuer}/.well-known/openid-configuration"
    try:
        with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 - loopback http
            return bool(json.load(response).get("issuer") == issuer)
    except (OSError, ValueError):
        return False


# --------------------------------------------------------------------------- helpers


def _progress(message: str) -> None:
    print(f"oidc-provider: {message}", file=sys.stderr, flush=True)


# --------------------------------------------------------------------------- CLI


def _cmd_ensure(args: argparse.Namespace) -> int:
    print(ensure_node_modules())
    return 0


def _cmd_run(args: argparse.Namespace) -> int:
    signal.signal(signal.SIGTERM, raise_stop)
    signal.signal(signal.SIGINT, raise_stop)
    redirect_uris = args.redirect_uri or list(DEFAULT_REDIRECT_URIS)
    try:
        with start_provider(args.port, redirect_uris=redirect_uris) as provider:
            print(f"# OpenID provider at {provider.issuer}; for seqvault, export:")
            for name, value in provider.seqvault_env().items():
                print(f"export {name}='{value}'")
            logins = ", ".join(f"{a['login']}/{a['password']}" for a in BUILT_IN_ACCOUNTS)
            print(f"# Sign in as {logins}. Ctrl-C stops the provider.", flush=True)
            assert provider._process is not None
            while provider._process.poll() is None:
                time.sleep(0.5)
            _progress(f"the provider exited by itself.\n{log_tail(provider.log_file)}")
            return 1
    except Stop:
        return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m devtools.oidc_provider", description=__doc__.split("\n")[0]
    )
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("ensure", help="install the pinned npm packages").set_defaults(
        handler=_cmd_ensure
    )
    run = commands.add_parser("run", help="start, print seqvault's OIDC_* settings, wait")
    run.add_argument("--port", type=int, default=None)
    run.add_argument(
        "--redirect-uri",
        action="append",
        help=f"seqvault's callback URL (repeatable; default {DEFAULT_REDIRECT_URIS[0]})",
    )
    run.set_defaults(handler=_cmd_run)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        return int(args.handler(args))
    except ProviderError as error:
        _progress(str(error))
        return 1


if __name__ == "__main__":
    sys.exit(main())
