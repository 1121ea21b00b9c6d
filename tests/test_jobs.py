"""The dock's jobs: an ``ls4:`` algorithm as a task of QGIS's task manager, in real QGIS."""

import json
import threading
import time

import pytest
from dock_support import wait_until
from osgeo import gdal
from qgis.core import QgsApplication, QgsTask

from ls4.ls4_plugin.gui import jobs


@pytest.fixture
def one_thread(monkeypatch):
    """The task manager's pool with one thread, held by a task of the test's own; the jobs look
    at their queued task ten times as often as in QGIS, so the tests wait less."""
    monkeypatch.setattr(jobs, "WATCH_MS", 100)
    pool = jobs.task_pool()
    before = pool.maxThreadCount()
    pool.setMaxThreadCount(1)
    release = threading.Event()
    holder = QgsTask.fromFunction("hold the pool's one thread", lambda task: release.wait(60))
    QgsApplication.taskManager().addTask(holder)
    wait_until(lambda: holder.status() == QgsTask.TaskStatus.Running, "the holder to run")
    try:
        yield pool, release
    finally:
        release.set()
        wait_until(lambda: QgsApplication.taskManager().count() == 0, "the tasks to end")
        pool.setMaxThreadCount(before)


def inspect_job(frame):
    job = jobs.AlgorithmJob(
        "ls4:inspectraster", {"INPUT": str(frame)}, f"LS4: inspect {frame.name}"
    )
    job.start()
    return job


def assert_inspected(job, frame):
    wait_until(lambda: not job.running, f"{job.title} to end", timeout=30)
    assert job.ok, job.error_text()
    dataset = gdal.Open(str(frame))
    report = json.loads(job.results["REPORT"])
    assert (report["width"], report["height"]) == (dataset.RasterXSize, dataset.RasterYSize)
    assert QgsApplication.taskManager().tasks() == []


def test_a_task_the_task_manager_lost_is_submitted_again(ls4_provider, sample, one_thread):
    # QGIS issue #53806: the task manager can drop a queued task's runnable from its pool (seen
    # in this suite on 3.40); the task then stays queued for ever beside an idle thread.
    # Clearing the pool's queue drops it the same way.
    pool, release = one_thread
    frame = sample("hro_colorado_rgb.tif")
    job = inspect_job(frame)
    pool.clear()
    release.set()
    assert_inspected(job, frame)
    assert job.resubmitted == 1


def test_a_lost_task_of_a_canceled_job_ends_canceled(ls4_provider, sample, one_thread):
    pool, release = one_thread
    job = inspect_job(sample("hro_colorado_rgb.tif"))
    pool.clear()
    job.cancel()
    release.set()
    wait_until(lambda: not job.running, f"{job.title} to end", timeout=30)
    assert (job.ok, job.canceled, job.resubmitted) == (False, True, 0)
    assert job.error_text() == "Canceled."


def test_a_task_waiting_for_a_busy_thread_is_left_alone(ls4_provider, sample, one_thread):
    pool, release = one_thread
    frame = sample("hro_colorado_rgb.tif")
    job = inspect_job(frame)
    wait = (jobs.LOST_AFTER + 1) * jobs.WATCH_MS / 1000
    deadline = time.monotonic() + wait
    wait_until(lambda: time.monotonic() > deadline, f"{wait} s")
    assert job.task.status() == QgsTask.TaskStatus.Queued
    release.set()
    assert_inspected(job, frame)
    assert job.resubmitted == 0
