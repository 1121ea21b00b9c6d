"""Run folders of processes in another PID namespace (a container, ``unshare --pid``, the test
matrix's own runs) sharing this host's name and /tmp: their pids mean nothing here."""

import json
import os
import socket
import time

from ls4.ls4_plugin.core import workspace


def owned_folder(root, pid_namespace):
    folder = root / "ls4-run-999999-abc"
    folder.mkdir(exist_ok=True)
    owner = {"pid": 999999, "started": "1", "host": socket.gethostname()}
    if pid_namespace is not None:
        owner["pid_namespace"] = pid_namespace
    (folder / "owner.json").write_text(json.dumps(owner))
    an_hour_ago = time.time() - 3600  # old enough to be judged, young for an unknown owner
    os.utime(folder, (an_hour_ago, an_hour_ago))
    return folder


def test_a_folder_of_another_pid_namespace_is_not_stale_while_young(tmp_path):
    other = "pid:[1]" if os.readlink("/proc/self/ns/pid") != "pid:[1]" else "pid:[2]"
    owned_folder(tmp_path, other)
    assert workspace.stale_folders(str(tmp_path)) == []


def test_a_folder_of_this_pid_namespace_or_of_an_older_run_is_stale_when_its_pid_is_gone(tmp_path):
    for namespace in (os.readlink("/proc/self/ns/pid"), None):
        folder = owned_folder(tmp_path, namespace)
        assert [path for path, _ in workspace.stale_folders(str(tmp_path))] == [str(folder)]


def test_a_run_folder_names_its_pid_namespace(tmp_path):
    with workspace.run_folder(str(tmp_path)) as folder:
        owner = json.loads((tmp_path / folder / "owner.json").read_text())
    assert owner["pid_namespace"] == os.readlink("/proc/self/ns/pid")
