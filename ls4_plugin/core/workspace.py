"""One temporary folder per run, removed at its end; a folder whose run died (kill -9, a crash,
a power cut) is removed by the next run on the machine, or by maintenance.

Each folder is ``ls4-run-<pid>-<random>`` under the system's temporary folder (or ``root``) and
holds ``owner.json``: the process id, the process's start time (so a reused pid is not taken for
the owner), the host and the PID namespace. A folder is stale when its owner on this host no
longer runs; where a process cannot be looked up (Windows, another PID namespace), when it is
older than ``older_than`` seconds.
"""

import json
import os
import shutil
import socket
import tempfile
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, suppress

PREFIX = "ls4-run-"
OWNER_FILE = "owner.json"
UNKNOWN_OWNER_AGE = 24 * 3600.0
# Never judged stale before this age, whatever the owner check says: a folder being set up, or
# a process seen in another pid namespace, is not removed under its run.
MIN_AGE = 120.0


def _start_time(pid: object) -> str | None:
    """The process's start time in clock ticks since boot (Linux), or None."""
    try:
        with open(f"/proc/{pid}/stat", encoding="utf-8", errors="replace") as stat:
            return stat.read().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return None


def _pid_namespace() -> str | None:
    """The PID namespace of this process (Linux), or None: a pid means a process only in its own
    (a container, ``unshare --pid``), and two of them can share a host name and a /tmp."""
    try:
        return os.readlink("/proc/self/ns/pid")
    except OSError:
        return None


def _owner_alive(owner: Mapping[str, object]) -> bool | None:
    """True/False when this host can tell, None when it cannot (another host or PID namespace,
    no /proc)."""
    if owner.get("host") != socket.gethostname() or not os.path.isdir("/proc"):
        return None
    if owner.get("pid_namespace", _pid_namespace()) != _pid_namespace():
        return None
    started = _start_time(owner.get("pid"))
    return started is not None and started == owner.get("started")


@contextmanager
def run_folder(root: str | None = None) -> Iterator[str]:
    """A fresh folder for this run's temporary files (stale ones are removed first)."""
    root = root or tempfile.gettempdir()
    remove_stale(root)
    folder = tempfile.mkdtemp(prefix=f"{PREFIX}{os.getpid()}-", dir=root)
    owner = {
        "pid": os.getpid(),
        "started": _start_time(os.getpid()),
        "host": socket.gethostname(),
        "pid_namespace": _pid_namespace(),
    }
    with open(os.path.join(folder, OWNER_FILE), "w", encoding="utf-8") as out:
        json.dump(owner, out)
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def stale_folders(root: str | None = None, older_than: float = 0.0) -> list[tuple[str, str]]:
    """The LS4 run folders under ``root`` whose run is gone and that are older than
    ``older_than`` seconds; (path, reason) pairs."""
    root = root or tempfile.gettempdir()
    found: list[tuple[str, str]] = []
    try:
        names = sorted(os.listdir(root))
    except OSError:
        return found
    now = time.time()
    for name in names:
        path = os.path.join(root, name)
        if not name.startswith(PREFIX) or not os.path.isdir(path):
            continue
        try:
            age = now - os.path.getmtime(path)
        except OSError:
            continue
        try:
            with open(os.path.join(path, OWNER_FILE), encoding="utf-8") as handle:
                owner = json.load(handle)
        except (OSError, ValueError):
            owner = {}  # killed before it wrote its owner: judged by age
        if age < max(older_than, MIN_AGE):
            continue
        alive = _owner_alive(owner) if owner else None
        if alive is False:
            found.append((path, f"its run (pid {owner.get('pid')}) no longer runs"))
        elif alive is None and age >= max(older_than, UNKNOWN_OWNER_AGE):
            found.append((path, f"its owner cannot be checked and it is {age / 3600:.0f} h old"))
    return found


def folder_size(path: str) -> int:
    total = 0
    for folder, _dirs, files in os.walk(path):
        for name in files:
            with suppress(OSError):
                total += os.path.getsize(os.path.join(folder, name))
    return total


def remove_stale(root: str | None = None, older_than: float = 0.0) -> list[str]:
    """Remove the stale run folders; returns their paths."""
    removed = []
    for path, _reason in stale_folders(root, older_than):
        shutil.rmtree(path, ignore_errors=True)
        if not os.path.exists(path):
            removed.append(path)
    return removed
