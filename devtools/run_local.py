"""`make run`: the zero-setup default. SQLite under var/, the S3 emulator on loopback, tasks
inline. The emulator keeps no data across restarts, so every start begins from a clean state."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from pathlib import Path

from devtools.s3_emulator import ensure_venv, running_emulator, start_emulator

ROOT = Path(__file__).resolve().parent.parent
VAR = ROOT / "var"


def manage(*args: str, env: dict[str, str]) -> None:
    subprocess.run([sys.executable, str(ROOT / "manage.py"), *args], env=env, check=True)


def main() -> int:
    port = int(os.environ.get("PORT", "8000"))
    VAR.mkdir(exist_ok=True)
    ensure_venv(ROOT)
    database = VAR / "local.sqlite3"
    database.unlink(missing_ok=True)
    print("Starting from a clean state: the S3 emulator keeps no data across restarts.")
    if (leftover := running_emulator(VAR / "s3")) is not None:
        print(f"Stopping the emulator a previous run left behind (pid {leftover.pid}).")
        leftover.stop()
    with start_emulator(ROOT, VAR / "s3") as emulator:
        base_url = f"http://127.0.0.1:{port}"
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "config.settings.local",
            "S3_ENDPOINT_URL": emulator.endpoint_url,
            "S3_ACCESS_KEY_ID": os.environ.get("S3_ACCESS_KEY_ID", "test"),
            "S3_SECRET_ACCESS_KEY": os.environ.get("S3_SECRET_ACCESS_KEY", "test"),
            "WEB_ORIGINS": os.environ.get("WEB_ORIGINS", f"{base_url},http://localhost:{port}"),
        }
        print(f"S3 emulator at {emulator.endpoint_url}")
        manage("migrate", "--noinput", "-v", "0", env=env)
        manage("setup_bucket", env=env)
        manage("demo_setup", "--base-url", base_url, env=env)
        print(f"Serving seqvault at {base_url} (Ctrl-C stops it).", flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            manage("runserver", f"127.0.0.1:{port}", "--noreload", env=env)
    return 0


if __name__ == "__main__":
    sys.exit(main())
