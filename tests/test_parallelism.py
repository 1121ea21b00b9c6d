"""How a collection's frames share the machine: COGs computed a few at once (cores, memory),
each computing frame with one beside it doing its I/O, WORKERS frames in flight at most."""

import os
import threading
import time

from ls4.ls4_plugin.core import cog, publish


def test_slots_follow_the_cores_and_stay_under_workers():
    sources = [f"frame{i}.tif" for i in range(10)]
    cores = os.cpu_count() or 1
    for workers in (1, 2, 16):
        threads, slots = publish.parallelism(workers, sources)
        assert 1 <= slots <= min(workers, max(1, cores // publish.CORES_PER_COG))
        assert threads == min(workers, 2 * slots)
    assert publish.parallelism(4, ["one.tif"])[0] == 1
    assert publish.parallelism(1, sources) == (1, 1)  # WORKERS=1: one frame after the other


def test_slots_shrink_when_memory_is_short(monkeypatch):
    monkeypatch.setattr(publish.os, "cpu_count", lambda: 64)
    monkeypatch.setattr(cog, "memory_needed", lambda source: 1000)
    monkeypatch.setattr(publish, "_available_memory", lambda: 10_000)
    assert publish.parallelism(16, ["a.tif"] * 20) == (10, 5)  # half of 10 000 bytes: 5 frames
    monkeypatch.setattr(publish, "_available_memory", lambda: 100)
    assert publish.parallelism(16, ["a.tif"] * 20) == (2, 1)


def test_a_frames_io_overlaps_the_next_frames_cog(monkeypatch, tmp_path):
    """One slot: never two COGs at once, yet a frame uploads while the next computes."""
    events, lock = [], threading.Lock()

    def fake_frame(target, collection, source, work_dir, feedback, run=None):
        with run.computing():
            with lock:
                events.append(("start", source, time.monotonic()))
            time.sleep(0.3)
            with lock:
                events.append(("end", source, time.monotonic()))
        time.sleep(0.3)  # uploads and index
        with lock:
            events.append(("io", source, time.monotonic()))
        return publish.FrameResult(source=source, status="published")

    monkeypatch.setattr(publish, "publish_frame", fake_frame)
    monkeypatch.setattr(cog, "memory_needed", lambda source: 1)
    monkeypatch.setattr(publish.os, "cpu_count", lambda: 2)
    run = publish.Run(conn=None)
    sources = [f"f{i}.tif" for i in range(4)]
    frames = publish.LocalExecutor(workers=4).run_frames(None, None, sources, None, run)
    assert [frame.source for frame in frames] == sources
    computing = 0
    for kind, _, _ in sorted(events, key=lambda event: event[2]):
        computing += {"start": 1, "end": -1}.get(kind, 0)
        assert computing <= 1
    ends = {source: when for kind, source, when in events if kind == "end"}
    io = {source: when for kind, source, when in events if kind == "io"}
    starts = {source: when for kind, source, when in events if kind == "start"}
    # frame 1's I/O finished after frame 2's COG had started: they overlapped
    assert starts["f1.tif"] < io["f0.tif"] and ends["f0.tif"] <= starts["f1.tif"] + 0.05
