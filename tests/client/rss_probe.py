"""Run the `seqvault` command in this process, then print its peak resident memory.

Peak RSS is read from /proc/self/status (VmHWM) because getrusage's ru_maxrss also counts the
memory of the process it was forked from, before exec (a test runner's or a benchmark's).
Usage: python rss_probe.py SEQVAULT_ARGS...   (prints "peak_rss_kib N" last, on stderr)
"""

import sys

from seqvault_client.cli import main


def peak_rss_kib() -> int:
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    raise RuntimeError("no VmHWM in /proc/self/status")


if __name__ == "__main__":
    code = main(sys.argv[1:])
    print(f"peak_rss_kib {peak_rss_kib()}", file=sys.stderr)
    sys.exit(code)
