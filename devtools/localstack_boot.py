"""Start LocalStack's runtime (S3 only) with the overrides our tests rely on.

Runs *inside the emulator's own venv* (Python 3.13, see requirements/s3-emulator.lock); it is
started by ``devtools/s3_emulator.py``, never imported by the project. It patches three things in
localstack-core 2026.3.0 before the runtime starts (see shared/TESTING.md, "The S3 endpoint"):

1. the gateway binds the host part of GATEWAY_LISTEN (LocalStack drops it and listens on all
   interfaces, which would expose the emulator to the network);
2. object storage lives in S3_EMULATOR_OBJECTS_DIR, one folder per instance (LocalStack
   hard-codes /tmp/localstack-s3-storage, shared by every instance on the machine: deleting a
   bucket in one instance would remove the folder another instance is writing into);
3. no DNS lookup of ``s3.<LOCALSTACK_HOST>`` (on an offline machine a resolver can hang for many
   seconds; the name can never resolve for an IP address anyway).

With S3_EMULATOR_PERSIST_DIR set, S3 state survives restarts (``localstack_persistence.py``).

Called as ``localstack_boot.py --build-catalog DIR`` it instead writes LocalStack's service
catalogue index into DIR once per venv; the launcher copies it into each instance's
FILESYSTEM_ROOT, where LocalStack looks for a prebuilt index, so even a fresh state folder answers
its first request in ~0.2 s and ~160 MiB instead of ~3 s and ~500 MiB.

Every patch checks that the attribute it replaces exists, so an upgrade of LocalStack that moves
the code fails loudly at start-up instead of silently losing an override.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
from collections.abc import Callable
from types import ModuleType
from typing import Any


def _require(module: ModuleType, name: str) -> Any:
    """Return ``module.name`` or stop: a missing attribute means a patch would be silently lost."""
    if not hasattr(module, name):
        raise SystemExit(
            f"localstack_boot: {module.__name__}.{name} not found; the installed LocalStack "
            "differs from requirements/s3-emulator.lock, the overrides need updating"
        )
    return getattr(module, name)


LISTENING_MARKER = "localstack_boot: listening on {host}:{port}"
"""Printed once the gateway socket is bound; the launcher waits for it so that a health answer from
some other server that already holds the port is never mistaken for ours."""


class _FatalListenEndpoint:
    """Wraps a twisted server endpoint: report a successful bind, exit if the bind fails.

    LocalStack only logs a failed bind and keeps running (its readiness check would then see
    whichever process does own the port), so a failure here ends the process at once.
    """

    def __init__(self, endpoint: Any, host: str, port: int) -> None:
        self._endpoint = endpoint
        self._host = host
        self._port = port

    def listen(self, factory: Any) -> Any:
        deferred = self._endpoint.listen(factory)
        deferred.addCallbacks(self._bound, self._bind_failed)
        return deferred

    def _bound(self, port: Any) -> Any:
        print(LISTENING_MARKER.format(host=self._host, port=self._port), flush=True)
        return port

    def _bind_failed(self, failure: Any) -> None:
        print(
            f"localstack_boot: cannot listen on {self._host}:{self._port}: "
            f"{failure.getErrorMessage()}",
            flush=True,
        )
        os._exit(3)


class _EndpointsBoundToListenHost:
    """Stands in for ``twisted.internet.endpoints`` inside LocalStack's gateway modules.

    LocalStack calls ``endpoints.TCP4ServerEndpoint(reactor, port)`` without an interface, so
    twisted binds 0.0.0.0. We fill in the host that GATEWAY_LISTEN gave for that port.
    """

    def __init__(self, endpoints: ModuleType, host_by_port: dict[int, str]) -> None:
        self._endpoints = endpoints
        self._host_by_port = host_by_port

    def __getattr__(self, name: str) -> Any:
        return getattr(self._endpoints, name)

    def TCP4ServerEndpoint(
        self, reactor: Any, port: int, backlog: int = 50, interface: str = ""
    ) -> Any:
        interface = interface or self._host_by_port[port]
        endpoint = self._endpoints.TCP4ServerEndpoint(reactor, port, backlog, interface)
        return _FatalListenEndpoint(endpoint, interface, port)


def bind_gateway_to_listen_host() -> None:
    """Override 1: listen on the GATEWAY_LISTEN host (127.0.0.1) only, not on all interfaces."""
    from localstack import config
    from localstack.aws.serving import twisted as legacy_serving
    from localstack.runtime.server import twisted as runtime_server
    from twisted.internet import endpoints

    host_by_port = {address.port: address.host for address in config.GATEWAY_LISTEN}
    shim = _EndpointsBoundToListenHost(endpoints, host_by_port)
    # Both modules did `from twisted.internet import endpoints`; the runtime uses the first, the
    # second is the older serving path, patched too so no code path can bind 0.0.0.0.
    for module in (runtime_server, legacy_serving):
        _require(module, "endpoints")
        module.endpoints = shim  # type: ignore[attr-defined]


def store_objects_per_instance(objects_dir: str) -> None:
    """Override 2: keep object bytes in this instance's own folder.

    ``S3Provider.__init__`` reads the module global ``DEFAULT_S3_TMP_DIR`` when the provider is
    created (on the first S3 request), so replacing the global before that is enough; no other
    module imports the value (checked with grep over the installed package).
    """
    from localstack.services.s3 import provider

    _require(provider, "DEFAULT_S3_TMP_DIR")
    os.makedirs(objects_dir, exist_ok=True)
    provider.DEFAULT_S3_TMP_DIR = objects_dir


def skip_s3_hostname_dns_lookup() -> None:
    """Override 3: answer "no DNS for s3.<host>" without asking a resolver.

    ``get_s3_hostname()`` resolves ``s3.<LOCALSTACK_HOST host>`` once and caches the outcome in
    ``CACHE_S3_HOSTNAME_DNS_STATUS``; seeding the cache with False makes it use "localhost",
    which is what a failed lookup would give, minus the wait.
    """
    from localstack.utils.aws import aws_stack

    _require(aws_stack, "CACHE_S3_HOSTNAME_DNS_STATUS")
    aws_stack.CACHE_S3_HOSTNAME_DNS_STATUS = False


def exit_when_parent_dies(parent_pid: int) -> None:
    """Stop this emulator once the process that started it is gone.

    The emulator runs in its own session (so a Ctrl-C meant for the launcher does not kill it
    half-way); without this a launcher or pytest killed with SIGKILL would leave a ~160 MiB
    process behind for good.
    """

    def watch() -> None:
        while os.getppid() == parent_pid:
            time.sleep(1.0)
        os.kill(os.getpid(), signal.SIGTERM)  # LocalStack's own handler shuts down cleanly

    threading.Thread(target=watch, name="parent-watchdog", daemon=True).start()


def build_catalog(target_dir: str) -> None:
    """Write LocalStack's prebuilt service catalogue index into target_dir (see module doc)."""
    from localstack.aws import spec

    file_name = _require(spec, "_get_catalog_filename")()
    os.makedirs(target_dir, exist_ok=True)
    partial = os.path.join(target_dir, f".{file_name}.partial")
    _require(spec, "build_service_index_cache")(partial)
    os.replace(partial, os.path.join(target_dir, file_name))  # never leave half a file behind


def _runtime_main() -> Callable[[], None]:
    from localstack.runtime import main as runtime_main

    return _require(runtime_main, "main")


def stop_fast_after_saving(persistence: Any) -> None:
    """On SIGTERM/SIGINT save the S3 state and exit at once.

    LocalStack's own shutdown takes seconds (services, reactor, plugins) and holds nothing we
    need: bytes are on disk as each write finishes, and the state is saved here. The runtime
    registers its signal handlers itself, so the registration is wrapped before it runs.
    """
    register = signal.signal

    def save_then_exit(signum: int, frame: Any) -> None:
        persistence.stop_cleanly()
        print("localstack_boot: S3 state saved", flush=True)
        os._exit(0)

    def registering(signum: int, handler: Any) -> Any:
        if signum in (signal.SIGTERM, signal.SIGINT) and callable(handler):
            return register(signum, save_then_exit)
        return register(signum, handler)

    signal.signal = registering  # type: ignore[assignment]


def run_emulator() -> None:
    objects_dir = os.environ.get("S3_EMULATOR_OBJECTS_DIR")
    if not objects_dir:
        raise SystemExit("localstack_boot: S3_EMULATOR_OBJECTS_DIR is not set")
    bind_gateway_to_listen_host()
    store_objects_per_instance(objects_dir)
    skip_s3_hostname_dns_lookup()
    parent_pid = os.environ.get("S3_EMULATOR_PARENT_PID")
    if parent_pid:
        exit_when_parent_dies(int(parent_pid))
    persistence = None
    if persist_dir := os.environ.get("S3_EMULATOR_PERSIST_DIR"):
        from localstack_persistence import install

        interval = float(os.environ.get("S3_EMULATOR_SAVE_INTERVAL_SECONDS") or "2")
        persistence = install(persist_dir, interval)
        stop_fast_after_saving(persistence)
    print("localstack_boot: overrides applied, starting LocalStack", flush=True)
    try:
        _runtime_main()()
    finally:
        if persistence is not None:
            persistence.stop_cleanly()
            print("localstack_boot: S3 state saved", flush=True)


if __name__ == "__main__":
    if sys.argv[1:2] == ["--build-catalog"] and len(sys.argv) == 3:
        build_catalog(sys.argv[2])
    else:
        run_emulator()
