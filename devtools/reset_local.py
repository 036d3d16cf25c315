"""`make reset`: delete the local default's data (var/), refusing while `make run` uses it."""

from __future__ import annotations

import shutil
import sys

from devtools.run_local import VAR, previous_run_state


def main() -> int:
    if previous_run_state() == "running":
        print(f"seqvault is running on {VAR}: stop it first (Ctrl-C in its terminal).")
        return 1
    if not VAR.exists():
        print(f"Nothing to delete: {VAR} does not exist.")
        return 0
    shutil.rmtree(VAR)
    print(f"Deleted {VAR}: the database, the task queue, the S3 emulator's objects and tokens.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
