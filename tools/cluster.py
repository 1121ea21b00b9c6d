"""A local Dask cluster of real processes: ``dask scheduler`` and N ``dask worker``, on loopback.

Started the way the README tells a user to start them on their machines, for the demo
(``python -m tools.demo --cluster N``), the benchmark and the tests. Each worker gets its
credentials from its own environment (``worker_env``), never from a task; the repository is put on
the workers' ``PYTHONPATH`` as the package ``ls4``, as an unzipped plugin would be.
"""

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tools import REPO


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def dask_command(*args):
    """``dask …`` of this Python's environment (the venv's ``dask`` script)."""
    script = Path(sys.executable).parent / "dask"
    if script.exists():
        return [str(script), *args]
    return [sys.executable, "-m", "dask", *args]


def worker_env(pythonpath, endpoints=None, credentials=True):
    """A worker's environment: LS4 importable; with ``credentials``, the stack's S3 keys (AWS's
    standard variables) and its PostgreSQL service file (PGSERVICEFILE, PGSERVICE)."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("AWS_", "PG", "LS4_STACK"))
    }
    # No instance-metadata look-up off this machine when a worker has no credentials.
    env["AWS_EC2_METADATA_DISABLED"] = "true"
    env["PYTHONPATH"] = os.pathsep.join(
        [str(pythonpath), *filter(None, [os.environ.get("PYTHONPATH")])]
    )
    if credentials and endpoints:
        env["AWS_ACCESS_KEY_ID"] = endpoints["s3"]["access_key"]
        env["AWS_SECRET_ACCESS_KEY"] = endpoints["s3"]["secret_key"]
        env["AWS_DEFAULT_REGION"] = endpoints["s3"].get("region", "us-east-1")
        env["PGSERVICEFILE"] = endpoints["postgres"]["service_file"]
        env["PGSERVICE"] = endpoints["postgres"]["service"]
    return env


def plugin_parent():
    """A new temporary folder holding ``ls4`` → this repository (a worker's PYTHONPATH entry);
    outside the repository, so that no tool walks into a loop."""
    folder = Path(tempfile.mkdtemp(prefix="ls4-pythonpath-"))
    (folder / "ls4").symlink_to(REPO, target_is_directory=True)
    return folder


class Cluster:
    """``with Cluster(endpoints, workers=2, log_dir=...) as cluster:`` → ``cluster.address``.

    ``bare`` names workers (0-based) started without credentials. ``nanny`` False starts workers
    with ``--no-nanny`` (a killed worker then stays dead, as the tests want).
    """

    def __init__(self, endpoints, workers=2, log_dir=None, bare=(), nanny=True, threads=1):
        self.endpoints = endpoints
        self.count = workers
        self.log_dir = Path(log_dir or REPO / ".stack" / "cluster")
        self.bare = set(bare)
        self.nanny = nanny
        self.threads = threads
        self.port = free_port()
        self.address = f"tcp://127.0.0.1:{self.port}"
        self.processes = []
        self.pythonpath = None

    def __enter__(self):
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self.pythonpath = plugin_parent()
        try:
            self._start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc_info):
        self.stop()

    def _spawn(self, name, command, env):
        log = open(self.log_dir / f"{name}.log", "wb")  # noqa: SIM115 (kept for the process)
        process = subprocess.Popen(
            command, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True
        )
        log.close()
        self.processes.append(process)
        return process

    def _start(self):
        scheduler_env = worker_env(self.pythonpath)
        self._spawn(
            "scheduler",
            dask_command(
                "scheduler", "--host", "127.0.0.1", "--port", str(self.port), "--no-dashboard"
            ),
            scheduler_env,
        )
        self._wait_listening(self.port, 30)
        for number in range(self.count):
            self.start_worker(number)
        self.wait_for_workers(self.count)

    def start_worker(self, number):
        env = worker_env(self.pythonpath, self.endpoints, credentials=number not in self.bare)
        command = dask_command(
            "worker",
            self.address,
            "--host",
            "127.0.0.1",
            "--nthreads",
            str(self.threads),
            "--name",
            f"worker-{number}",
            "--no-dashboard",
            "--local-directory",
            str(self.log_dir / f"worker-{number}"),
        )
        if not self.nanny:
            command.append("--no-nanny")
        return self._spawn(f"worker-{number}", command, env)

    def client(self):
        from distributed import Client

        return Client(self.address, timeout=10, set_as_default=False)

    def wait_for_workers(self, count, timeout=60):
        with self.client() as client:
            client.wait_for_workers(count, timeout=timeout)

    def worker_pids(self):
        """{worker address: pid of the process that runs its tasks}."""
        with self.client() as client:
            return client.run(os.getpid)

    @staticmethod
    def _wait_listening(port, timeout):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", port)) == 0:
                    return
            time.sleep(0.2)
        raise RuntimeError(f"dask scheduler did not listen on 127.0.0.1:{port} in {timeout} s")

    def stop(self):
        """Stop our own processes: workers first, then the scheduler (SIGTERM, then SIGKILL)."""
        for process in reversed(self.processes):
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in reversed(self.processes):
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        self.processes = []
        if self.pythonpath:
            shutil.rmtree(self.pythonpath, ignore_errors=True)
            self.pythonpath = None
