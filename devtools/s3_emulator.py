"""Launch LocalStack's S3 as a local, test-grade S3 endpoint on 127.0.0.1.

Used by ``make run``, ``make test`` and pytest. Standard library only, so it runs under the
project's venv or any python3. Why LocalStack and which settings: shared/TESTING.md, "The S3
endpoint". In short, LocalStack needs Python 3.13 and pins boto3, so it gets its own venv
(``.venv-s3``, built from requirements/s3-emulator.lock), and ``devtools/localstack_boot.py``
runs inside it to patch what LocalStack gets wrong for us before starting it.

API::

    from devtools.s3_emulator import ensure_venv, start_emulator, Emulator
    with start_emulator(project_root, state_dir) as emulator:
        boto3.client("s3", endpoint_url=emulator.endpoint_url, ...)

CLI::

    python -m devtools.s3_emulator ensure
    python -m devtools.s3_emulator run   --state-dir var/s3 [--port N]   # until Ctrl-C / SIGTERM
    python -m devtools.s3_emulator start --state-dir var/s3 [--port N]   # detached, prints the URL
    python -m devtools.s3_emulator stop  --state-dir var/s3
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

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
VENV_DIR_NAME = ".venv-s3"
LOCK_FILE = Path("requirements") / "s3-emulator.lock"
BOOT_SCRIPT = Path(__file__).resolve().with_name("localstack_boot.py")
STAMP_NAME = "s3-emulator.stamp"  # inside the venv: sha256 of the lock it was built from
CATALOG_DIR_NAME = "s3-emulator-catalog"  # inside the venv: prebuilt service catalogue index
HOST = "127.0.0.1"
READY_TIMEOUT = 60.0
STOP_TIMEOUT = 10.0
PORT_ATTEMPTS = 3  # a port picked free can be taken before LocalStack binds it: retry that
LISTENING_MARKER = "localstack_boot: listening on {host}:{port}"  # printed by localstack_boot
PERSIST_DIR_NAME = "persist"  # inside the state dir: saved stores and object bytes

PYTHON_313_MISSING = """\
The S3 emulator (LocalStack) needs Python 3.13, and no working python3.13 was found
(tried $S3_EMULATOR_PYTHON, python3.13 on PATH and pyenv's versions/3.13*).
Get it with one of:
  pyenv install 3.13            # found automatically under $(pyenv root)/versions
  apt-get install python3.13    # Debian 13 / Ubuntu 24.04 and later
or point S3_EMULATOR_PYTHON at a python3.13 binary."""


class EmulatorError(RuntimeError):
    """The emulator could not be started or stopped; the message ends with its log tail."""


# --------------------------------------------------------------------------- venv


def ensure_venv(project_root: Path) -> Path:
    """Create or update ``<project_root>/.venv-s3`` from the lock; return its path.

    A stamp with the lock's hash makes the common case (nothing changed) a file read. The venv is
    rebuilt from scratch when the lock changes, so no package from an older lock lingers.
    """
    project_root = project_root.resolve()  # the venv path is used from other working dirs
    venv = project_root / VENV_DIR_NAME
    lock = project_root / LOCK_FILE
    wanted = file_sha256(lock)
    if _venv_is_current(venv, wanted):
        return venv
    # Serialise concurrent builders (parallel test workers): the second one finds it done.
    with exclusive_lock(lock):
        if not _venv_is_current(venv, wanted):
            _build_venv(_find_python313(), venv, lock)
            write_atomically(venv / STAMP_NAME, wanted)
    return venv


def _venv_is_current(venv: Path, wanted_stamp: str) -> bool:
    stamp = venv / STAMP_NAME
    # exists() follows the symlink: a venv whose base python was removed counts as stale.
    return (
        (venv / "bin" / "python").exists()
        and stamp.is_file()
        and stamp.read_text().strip() == wanted_stamp
        and any((venv / CATALOG_DIR_NAME).glob("*.dill"))
    )


def _build_venv(python: str, venv: Path, lock: Path) -> None:
    started = time.monotonic()
    # Every package is pinned with hashes in the lock: --no-deps keeps the installer from
    # resolving anew. uv (in the project's venv, when there) installs in parallel; else pip.
    uv = Path(sys.executable).parent / "uv"
    if uv.is_file():
        _progress(f"creating {venv} with {python} and installing {lock.name} (uv)")
        _run([str(uv), "venv", "--quiet", "--clear", "--python", python, str(venv)])
        _run(
            [
                str(uv),
                "pip",
                "install",
                "--quiet",
                "--python",
                str(venv / "bin" / "python"),
                "--require-hashes",
                "--no-deps",
                "-r",
                str(lock),
            ]
        )
    else:
        _progress(f"creating {venv} with {python} (takes ~20 s with a warm pip cache)")
        _run([python, "-m", "venv", "--clear", str(venv)])
        _progress(f"installing {lock.name}")
        pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", "--no-input"]
        _run(
            [*pip, "--disable-pip-version-check", "--require-hashes", "--no-deps", "-r", str(lock)]
        )
    _progress("prebuilding LocalStack's service catalogue index")
    _run(
        [
            str(venv / "bin" / "python"),
            str(BOOT_SCRIPT),
            "--build-catalog",
            str(venv / CATALOG_DIR_NAME),
        ]
    )
    _progress(f"{venv} ready in {time.monotonic() - started:.0f} s")


def _find_python313() -> str:
    """Return a python3.13 that actually runs, or stop with instructions.

    A pyenv shim named python3.13 can be on PATH and still fail ("command not found" when 3.13
    is installed but not selected), so each candidate is run once, and pyenv's versions are
    tried directly.
    """
    for candidate in _python313_candidates():
        if _runs_as_python313(candidate):
            return candidate
    raise SystemExit(PYTHON_313_MISSING)


def _python313_candidates() -> Iterator[str]:
    if explicit := os.environ.get("S3_EMULATOR_PYTHON"):
        yield explicit
    if on_path := shutil.which("python3.13"):
        yield on_path
    pyenv_root = Path(os.environ.get("PYENV_ROOT") or Path.home() / ".pyenv")
    installed = pyenv_root.glob("versions/3.13*/bin/python3.13")
    yield from (str(p) for p in sorted(installed, key=_version_key, reverse=True))


def _version_key(python: Path) -> tuple[int, ...]:
    # versions/3.13.10/bin/python3.13 sorts after 3.13.9
    return tuple(int(n) for n in re.findall(r"\d+", python.parent.parent.name))


def _runs_as_python313(python: str) -> bool:
    check = "import sys; sys.exit(sys.version_info[:2] != (3, 13))"
    try:
        result = subprocess.run([python, "-c", check], capture_output=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return result.returncode == 0


# --------------------------------------------------------------------------- emulator


@dataclass
class Emulator(StopsOnExit):
    """A running LocalStack S3. ``stop()`` ends it; as a context manager it stops on exit."""

    endpoint_url: str
    pid: int
    port: int
    state_dir: Path | None = None
    _process: subprocess.Popen[bytes] | None = field(default=None, repr=False, compare=False)

    def stop(self) -> None:
        """SIGTERM the emulator's process group, SIGKILL it if still there after STOP_TIMEOUT."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.pid, signal.SIGTERM)  # own session: pgid == pid
        if not self._wait_gone(STOP_TIMEOUT):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.pid, signal.SIGKILL)
            if not self._wait_gone(5.0):
                raise EmulatorError(f"S3 emulator pid {self.pid} did not die after SIGKILL")
        if self.state_dir is not None:
            _remove_state_files(self.state_dir, self.pid)

    def _wait_gone(self, timeout: float) -> bool:
        if self._process is not None:  # our child: wait() also reaps it (no zombie)
            try:
                self._process.wait(timeout)
                return True
            except subprocess.TimeoutExpired:
                return False
        deadline = time.monotonic() + timeout
        while _pid_alive(self.pid):
            if time.monotonic() > deadline:
                return False
            time.sleep(0.05)
        return True


def start_emulator(
    project_root: Path,
    state_dir: Path,
    port: int | None = None,
    *,
    exit_with_parent: bool = True,
    persist: bool = False,
) -> Emulator:
    """Start LocalStack S3 on 127.0.0.1 in the background and wait until it answers.

    port: None picks a free loopback port. state_dir holds this instance's log
    (emulator.log), object bytes, temp and config folders, and the FILESYSTEM_ROOT that is kept
    between runs; one instance per state_dir at a time. exit_with_parent: the emulator stops
    itself when this process dies (False for the detached CLI ``start``). persist: S3 state
    (buckets, versions, tags, policies, bytes) is kept in ``<state_dir>/persist`` across restarts
    and restored at start; ``restore_report(state_dir)`` then says what was restored.
    Writes ``<state_dir>/endpoint`` and ``<state_dir>/pid``; ``stop()`` removes them.
    """
    venv = ensure_venv(project_root)
    state_dir = state_dir.resolve()
    _refuse_if_running(state_dir)
    _prepare_state_dir(state_dir, venv)
    attempts = 1 if port is not None else PORT_ATTEMPTS
    for attempt in range(1, attempts + 1):
        chosen = port if port is not None else _free_loopback_port()
        process = _spawn(venv, state_dir, chosen, exit_with_parent, persist)
        emulator = Emulator(f"http://{HOST}:{chosen}", process.pid, chosen, state_dir, process)
        try:
            _wait_until_ready(emulator, state_dir / "emulator.log")
        except _PortTaken:
            if attempt == attempts:
                raise
            continue
        except BaseException:
            emulator.stop()  # never leave a half-started emulator behind (also on Ctrl-C)
            raise
        _write_state_files(emulator, state_dir)
        return emulator
    raise AssertionError("unreachable")


class _PortTaken(EmulatorError):
    pass


def _prepare_state_dir(state_dir: Path, venv: Path) -> None:
    # Object bytes and temp files die with the emulator (LocalStack keeps no data across
    # restarts); clearing them stops leftovers piling up. FILESYSTEM_ROOT ("fs") is kept.
    for transient in ("objects", "tmp"):
        shutil.rmtree(state_dir / transient, ignore_errors=True)
    for folder in ("objects", "tmp", "config", "fs"):
        (state_dir / folder).mkdir(parents=True, exist_ok=True)
    _seed_service_catalog(state_dir / "fs", venv / CATALOG_DIR_NAME)


def _seed_service_catalog(filesystem_root: Path, catalog_dir: Path) -> None:
    # LocalStack loads a prebuilt index from <FILESYSTEM_ROOT>/usr/lib/localstack; without it the
    # first request builds one (~3 s, ~500 MiB peak). Copy the one ensure_venv built.
    static_libs = filesystem_root / "usr" / "lib" / "localstack"
    static_libs.mkdir(parents=True, exist_ok=True)
    for index in catalog_dir.glob("*.dill"):
        target = static_libs / index.name
        if not target.exists():
            partial = target.with_name(f".{index.name}.partial")
            shutil.copyfile(index, partial)
            os.replace(partial, target)


def _emulator_env(
    state_dir: Path, port: int, exit_with_parent: bool, persist: bool
) -> dict[str, str]:
    """The environment LocalStack runs with: only what it needs.

    Not inherited from us on purpose: LocalStack reads hundreds of variables, and ours carry
    things like Django's DEBUG, AWS_* credentials or this venv's PYTHONPATH.
    """
    listen = f"{HOST}:{port}"
    env = {
        "PATH": os.environ.get("PATH", os.defpath),
        "HOME": os.environ.get("HOME", str(state_dir)),
        "LANG": "C.UTF-8",
        "PYTHONUNBUFFERED": "1",  # the log and the listening marker appear at once
        "SERVICES": "s3",
        "GATEWAY_LISTEN": listen,
        "LOCALSTACK_HOST": listen,
        "S3_SKIP_SIGNATURE_VALIDATION": "0",  # LocalStack's default skips signature checks
        "OVERRIDE_IN_DOCKER": "0",  # else it takes this machine for its container: /var/lib, /etc
        "DNS_ADDRESS": "0",
        "DISABLE_EVENTS": "1",
        "SKIP_SSL_CERT_DOWNLOAD": "1",
        "FILESYSTEM_ROOT": str(state_dir / "fs"),
        "TMPDIR": str(state_dir / "tmp"),
        "CONFIG_DIR": str(state_dir / "config"),
        "S3_EMULATOR_OBJECTS_DIR": str(state_dir / "objects"),
    }
    if exit_with_parent:
        env["S3_EMULATOR_PARENT_PID"] = str(os.getpid())
    if persist:
        env["S3_EMULATOR_PERSIST_DIR"] = str(state_dir / PERSIST_DIR_NAME)
        if interval := os.environ.get("S3_EMULATOR_SAVE_INTERVAL_SECONDS"):
            env["S3_EMULATOR_SAVE_INTERVAL_SECONDS"] = interval
    return env


def _spawn(
    venv: Path, state_dir: Path, port: int, exit_with_parent: bool, persist: bool
) -> subprocess.Popen[bytes]:
    log_path = state_dir / "emulator.log"
    with open(log_path, "wb") as log:  # truncated per start, so its tail is about this run
        return subprocess.Popen(
            [str(venv / "bin" / "python"), str(BOOT_SCRIPT)],
            env=_emulator_env(state_dir, port, exit_with_parent, persist),
            cwd=state_dir,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            # Own session and process group: stop() can kill the whole group, and a Ctrl-C in the
            # terminal reaches only the launcher, which then stops the emulator in order.
            start_new_session=True,
        )


def _wait_until_ready(emulator: Emulator, log_path: Path) -> None:
    """Wait until our own process has bound the port and /_localstack/health reports S3."""
    assert emulator._process is not None
    marker = LISTENING_MARKER.format(host=HOST, port=emulator.port)
    deadline = time.monotonic() + READY_TIMEOUT
    while True:
        code = emulator._process.poll()
        if code is not None:
            log = log_tail(log_path)
            error = _PortTaken if "Address already in use" in log else EmulatorError
            raise error(f"S3 emulator exited with code {code} while starting.\n{log}")
        # The marker proves the port is ours: a health answer alone could come from another server.
        if marker in read_text(log_path) and _health_ok(emulator.endpoint_url):
            return
        if time.monotonic() > deadline:
            raise EmulatorError(
                f"S3 emulator not ready after {READY_TIMEOUT:.0f} s at {emulator.endpoint_url}.\n"
                f"{log_tail(log_path)}"
            )
        time.sleep(0.1)


def _health_ok(endpoint_url: str) -> bool:
    try:
        # endpoint_url is always the http://127.0.0.1:<port> we built, never user input.
        health_url = f"{endpoint_url}/_localstack/health"
        with urllib.request.urlopen(health_url, timeout=2) as response:  # noqa: S310
            services = json.load(response).get("services", {})
    except (OSError, ValueError):  # URLError, connection refused/reset, half-started JSON
        return False
    return services.get("s3") in ("available", "running")


def _free_loopback_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


# --------------------------------------------------------------------------- state files


def restore_report(state_dir: Path) -> dict[str, object] | None:
    """What the last start of a persistent emulator restored (see localstack_persistence.py)."""
    try:
        loaded = json.loads((state_dir / PERSIST_DIR_NAME / "restore.json").read_text())
    except (OSError, ValueError):
        return None
    return loaded if isinstance(loaded, dict) else None


def _write_state_files(emulator: Emulator, state_dir: Path) -> None:
    write_atomically(state_dir / "endpoint", emulator.endpoint_url)
    write_atomically(state_dir / "pid", str(emulator.pid))


def _remove_state_files(state_dir: Path, pid: int) -> None:
    if _read_pid(state_dir) == pid:  # only our own: another instance may have started since
        for name in ("pid", "endpoint"):
            (state_dir / name).unlink(missing_ok=True)


def _read_pid(state_dir: Path) -> int | None:
    try:
        return int((state_dir / "pid").read_text().strip())
    except (OSError, ValueError):
        return None


def running_emulator(state_dir: Path) -> Emulator | None:
    """The emulator recorded in state_dir if it still runs, else None."""
    state_dir = state_dir.resolve()
    pid = _read_pid(state_dir)
    if pid is None or not _is_our_emulator(pid):
        return None
    endpoint = read_text(state_dir / "endpoint").strip()
    port = int(endpoint.rsplit(":", 1)[1]) if endpoint else 0
    return Emulator(endpoint, pid, port, state_dir)


def _refuse_if_running(state_dir: Path) -> None:
    if (other := running_emulator(state_dir)) is not None:
        raise EmulatorError(
            f"an S3 emulator already runs for {state_dir} at {other.endpoint_url} (pid "
            f"{other.pid}); stop it first: "
            f"python -m devtools.s3_emulator stop --state-dir {state_dir}"
        )


def _is_our_emulator(pid: int) -> bool:
    # A stale pid file may name a pid reused by an unrelated process: never signal that one.
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except FileNotFoundError:
        return False
    except OSError:  # no /proc (not Linux): trust the pid file if the pid is alive
        return _pid_alive(pid)
    return BOOT_SCRIPT.name.encode() in cmdline


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


# --------------------------------------------------------------------------- helpers


def _run(command: list[str]) -> None:
    # Child output goes to our stderr: stdout stays clean for the CLI's machine-readable lines.
    result = subprocess.run(command, stdout=sys.stderr, stderr=sys.stderr)
    if result.returncode != 0:
        raise SystemExit(f"s3-emulator: command failed ({result.returncode}): {' '.join(command)}")


def _progress(message: str) -> None:
    print(f"s3-emulator: {message}", file=sys.stderr, flush=True)


# --------------------------------------------------------------------------- CLI


def _cmd_ensure(args: argparse.Namespace) -> int:
    print(ensure_venv(args.project_root))
    return 0


def _cmd_run(args: argparse.Namespace) -> int:
    signal.signal(signal.SIGTERM, raise_stop)
    signal.signal(signal.SIGINT, raise_stop)
    emulator: Emulator | None = None
    try:
        emulator = start_emulator(args.project_root, args.state_dir, args.port)
        print(f"S3 emulator at {emulator.endpoint_url} (pid {emulator.pid})", flush=True)
        assert emulator._process is not None
        while emulator._process.poll() is None:
            time.sleep(0.5)
        _progress(f"emulator exited by itself.\n{log_tail(args.state_dir / 'emulator.log')}")
        return 1
    except Stop:  # a signal during start-up is fine too: start_emulator cleans up after itself
        return 0
    finally:
        if emulator is not None:
            emulator.stop()


def _cmd_start(args: argparse.Namespace) -> int:
    emulator = start_emulator(args.project_root, args.state_dir, args.port, exit_with_parent=False)
    print(emulator.endpoint_url)
    return 0


def _cmd_stop(args: argparse.Namespace) -> int:
    emulator = running_emulator(args.state_dir)
    if emulator is None:
        _progress(f"no S3 emulator running for {args.state_dir}")
        _remove_state_files(args.state_dir.resolve(), _read_pid(args.state_dir.resolve()) or -1)
        return 0
    emulator.stop()
    _progress(f"stopped S3 emulator pid {emulator.pid}")
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m devtools.s3_emulator", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--project-root", type=Path, default=PROJECT_ROOT)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("ensure", help="create or update .venv-s3").set_defaults(
        handler=_cmd_ensure
    )
    for name, handler, text in (
        ("run", _cmd_run, "start, stay until SIGINT/SIGTERM, then stop"),
        ("start", _cmd_start, "start detached and print the endpoint URL"),
        ("stop", _cmd_stop, "stop the emulator recorded in --state-dir"),
    ):
        command = commands.add_parser(name, help=text)
        command.add_argument("--state-dir", type=Path, required=True)
        if name != "stop":
            command.add_argument("--port", type=int, default=None)
        command.set_defaults(handler=handler)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        return int(args.handler(args))
    except EmulatorError as error:
        _progress(str(error))
        return 1


if __name__ == "__main__":
    sys.exit(main())
