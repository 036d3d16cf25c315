"""Launch a one-node Ceph cluster and its RADOS Gateway (RGW) on 127.0.0.1: an S3 server that
enforces bucket policies and STS session policies, for the tests marked `rgw`.

Standard library only. Needs Debian's `radosgw ceph-mon ceph-osd` (Pacific, 16.2); `.ci/run`
installs them. One monitor, one OSD on memstore (stored bytes live in the OSD's RAM), no mgr,
no authentication inside the cluster, every daemon bound to loopback and stopped by its PID.
Each start makes a new cluster in `data_dir` (about 15 s); what it stored is gone at the stop.

API::

    from devtools.ceph_rgw import rgw_available, start_rgw
    with start_rgw(project_root / "var" / "test-rgw") as rgw:
        rgw.endpoint_url, rgw.access_key, rgw.secret_key

CLI::

    python -m devtools.ceph_rgw run --data-dir var/rgw [--port N]   # until Ctrl-C / SIGTERM
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from devtools.support import Stop, log_tail, raise_stop

HOST = "127.0.0.1"
BINARIES = ("ceph-mon", "ceph-osd", "radosgw", "radosgw-admin", "monmaptool", "ceph")
ACCESS_KEY = "seqvault-access-key"
SECRET_KEY = "seqvault-secret-key-0123456789"  # noqa: S105 - loopback test cluster
USER_ID = "seqvault"
# What RGW's IAM calls the user above (its ARNs have an empty account).
USER_ARN = f"arn:aws:iam:::user/{USER_ID}"
MEMSTORE_BYTES = 8 * 1024**3  # the capacity the OSD reports; RAM is used only as bytes arrive
DAEMON_TIMEOUT = 120.0
STOP_TIMEOUT = 30.0
INSTALL_HINT = "apt-get install -y --no-install-recommends radosgw ceph-mon ceph-osd"


class RgwError(RuntimeError):
    """The cluster could not be started; the message ends with the relevant log tail."""


@dataclass
class Rgw:
    endpoint_url: str
    data_dir: Path
    access_key: str = ACCESS_KEY
    secret_key: str = SECRET_KEY
    user_arn: str = USER_ARN

    @property
    def conf(self) -> Path:
        """The cluster's ceph.conf: `radosgw-admin --conf` (or CEPH_CONF) reaches it with it."""
        return self.data_dir / "ceph.conf"


def rgw_available() -> str | None:
    """None when every binary is installed, else what is missing and how to get it."""
    missing = [name for name in BINARIES if shutil.which(name) is None]
    if missing:
        return f"{', '.join(missing)} not installed (Debian: {INSTALL_HINT})"
    return None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def _config(data: Path, fsid: str, port: int, mon_port: int) -> str:
    """Every setting here was needed; why each: docs/operations.md, "Ceph RGW"."""
    return f"""[global]
fsid = {fsid}
mon_host = [v2:{HOST}:{mon_port}]
public_addr = {HOST}
cluster_addr = {HOST}
ms_bind_ipv6 = false
auth_cluster_required = none
auth_service_required = none
auth_client_required = none
run_dir = {data}/run
admin_socket = {data}/run/$name.asok
pid_file = {data}/run/$name.pid
log_file = {data}/log/$name.log
mon_cluster_log_file = {data}/log/cluster.log
osd_pool_default_size = 1
osd_pool_default_min_size = 1
mon_allow_pool_size_one = true
osd_crush_chooseleaf_type = 0
osd_pool_default_pg_num = 8
osd_pool_default_pgp_num = 8
osd_pool_default_pg_autoscale_mode = off
mon_max_pg_per_osd = 1000
mon_warn_on_pool_no_redundancy = false
debug_ms = 0/0
mon_data_avail_warn = 1
mon_data_avail_crit = 0

[mon]
mon_data = {data}/mon/$cluster-$id

[osd]
osd_data = {data}/osd/$cluster-$id
osd_objectstore = memstore
memstore_device_bytes = {MEMSTORE_BYTES}
osd_op_num_shards = 2
osd_op_num_threads_per_shard = 1

[client.rgw.a]
auth_client_required = none
ms_mon_client_mode = crc
rgw_data = {data}/rgw
rgw_frontends = beast endpoint={HOST}:{port}
rgw_thread_pool_size = 64
rgw_s3_auth_use_sts = true
rgw_sts_key = 0123456789abcdef
rgw_enable_usage_log = false
"""


class _Cluster:
    def __init__(self, data: Path) -> None:
        self.data = data
        self.conf = data / "ceph.conf"

    def run(self, *command: str, timeout: float = 60.0) -> str:
        result = subprocess.run(
            [*command, "--conf", str(self.conf)],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
            env={**os.environ, "CEPH_CONF": str(self.conf)},
        )
        if result.returncode != 0:
            raise RgwError(
                f"{' '.join(command)} failed ({result.returncode}): {result.stderr.strip()}\n"
                + log_tail(self.data / "log" / "mon.a.log")
            )
        return result.stdout

    def ceph(self, *args: str) -> str:
        return self.run("ceph", "--connect-timeout", "10", *args, timeout=30)

    def wait(self, what: str, ready: Callable[[], bool], log: str) -> None:
        deadline = time.monotonic() + DAEMON_TIMEOUT
        while True:
            try:
                if ready():
                    return
            except (RgwError, subprocess.TimeoutExpired, OSError):
                pass
            if time.monotonic() > deadline:
                raise RgwError(f"timed out waiting for {what}\n" + log_tail(self.data / log))
            time.sleep(0.3)

    def pids(self) -> list[int]:
        """Gateway first, then OSDs, then the monitor: the order they are stopped in."""
        run = self.data / "run"
        files = [run / "client.rgw.a.pid", *sorted(run.glob("osd.*.pid")), run / "mon.a.pid"]
        found = []
        for path in files:
            with contextlib.suppress(OSError, ValueError):
                found.append(int(path.read_text().strip()))
        return found


def _gateway_answers(endpoint_url: str) -> bool:
    try:
        with urllib.request.urlopen(endpoint_url + "/", timeout=2):  # noqa: S310 - loopback
            return True
    except urllib.error.HTTPError:
        return True  # any S3 answer (403 to an anonymous listing) means it serves
    except OSError:
        return False


def _start(data: Path, port: int) -> Rgw:
    cluster = _Cluster(data)
    for sub in ("mon", "osd", "rgw", "run", "log"):
        (data / sub).mkdir(parents=True, exist_ok=True)
    mon_port = _free_port()
    fsid = str(uuid.uuid4())
    cluster.conf.write_text(_config(data, fsid, port, mon_port))
    monmap = str(data / "monmap")
    cluster.run(
        "monmaptool", "--create", "--fsid", fsid, "--addv", "a", f"[v2:{HOST}:{mon_port}]", monmap
    )
    cluster.run("ceph-mon", "--mkfs", "-i", "a", "--monmap", monmap)
    cluster.run("ceph-mon", "-i", "a")
    cluster.wait("the monitor", lambda: bool(cluster.ceph("mon", "stat")), "log/mon.a.log")
    osd_uuid = str(uuid.uuid4())
    osd_id = cluster.ceph("osd", "new", osd_uuid).strip()
    (data / "osd" / f"ceph-{osd_id}").mkdir(exist_ok=True)
    cluster.run("ceph-osd", "-i", osd_id, "--mkfs", "--osd-uuid", osd_uuid, timeout=120)
    cluster.run("ceph-osd", "-i", osd_id)
    cluster.wait(
        "the OSD",
        lambda: f"osd.{osd_id} up" in cluster.ceph("osd", "dump"),
        f"log/osd.{osd_id}.log",
    )
    cluster.run("radosgw", "-n", "client.rgw.a")
    endpoint = f"http://{HOST}:{port}"
    cluster.wait("the gateway", lambda: _gateway_answers(endpoint), "log/client.rgw.a.log")
    admin = ("radosgw-admin", "-n", "client.rgw.a")
    cluster.run(
        *admin, "user", "create", f"--uid={USER_ID}", f"--display-name={USER_ID}",
        f"--access-key={ACCESS_KEY}", f"--secret-key={SECRET_KEY}",
    )  # fmt: skip
    # IAM CreateRole and PutUserPolicy (the STS tests make their role through IAM).
    cluster.run(*admin, "caps", "add", f"--uid={USER_ID}", "--caps=roles=*;user-policy=*")
    return Rgw(endpoint_url=endpoint, data_dir=data)


def stop_rgw(data_dir: Path) -> None:
    """SIGTERM each daemon by the PID it wrote (gateway, OSD, monitor); SIGKILL after 30 s."""
    for pid in _Cluster(data_dir).pids():
        if not _is_ceph_daemon(pid):
            continue  # gone, or a PID reused by another program: never signal that one
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + STOP_TIMEOUT
        while _is_ceph_daemon(pid):
            if time.monotonic() > deadline:
                os.kill(pid, signal.SIGKILL)
                break
            time.sleep(0.1)


def _is_ceph_daemon(pid: int) -> bool:
    """Alive (not a zombie) and one of the cluster's programs."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False
    state = stat.rsplit(")", 1)[1].split()[0]
    return state != "Z" and any(name.encode() in cmdline for name in BINARIES[:3])


@contextlib.contextmanager
def start_rgw(data_dir: Path, port: int | None = None) -> Iterator[Rgw]:
    """A new cluster in `data_dir` (whatever was there is removed), stopped on leaving."""
    data = data_dir.resolve()
    missing = rgw_available()
    if missing:
        raise RgwError(missing)
    if data.exists():
        stop_rgw(data)  # daemons a killed run left behind, found by their PID files
        shutil.rmtree(data)
    data.mkdir(parents=True)
    try:
        yield _start(data, port or _free_port())
    finally:
        stop_rgw(data)


def _cmd_run(args: argparse.Namespace) -> int:
    signal.signal(signal.SIGTERM, raise_stop)
    started = time.monotonic()
    with (
        contextlib.suppress(Stop, KeyboardInterrupt),
        start_rgw(Path(args.data_dir), args.port) as rgw,
    ):
        print(
            f"RGW on {rgw.endpoint_url} (access key {rgw.access_key}, secret {rgw.secret_key}) "
            f"in {time.monotonic() - started:.1f} s; Ctrl-C stops it",
            flush=True,
        )
        while True:
            time.sleep(3600)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devtools.ceph_rgw")
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("run", help="start a new cluster and keep it until Ctrl-C")
    run.add_argument("--data-dir", default="var/rgw")
    run.add_argument("--port", type=int, default=None)
    run.set_defaults(handler=_cmd_run)
    args = parser.parse_args(argv)
    return int(args.handler(args))


if __name__ == "__main__":
    sys.exit(main())
