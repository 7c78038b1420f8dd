"""Real processes: concurrent writers, and writers killed with SIGKILL at any point."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from vl_jupyter.evidence import EvidenceStore, _durability, _files

REPO = Path(__file__).resolve().parents[1]
BENIGN = {"unindexed_tail", "partial_index_line", "temp_file"}

WRITER = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from vl_jupyter.evidence import EvidenceStore
    root, count, start = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
    store = EvidenceStore(root)
    while time.time() < start:  # start together, to collide on the lock
        time.sleep(0.001)
    i = 0
    while count < 0 or i < count:
        store.append("telemetry", {"pid": __import__("os").getpid(), "i": i, "pad": "x" * 3000})
        i += 1
    """
)


def spawn(root: Path, count: int, start: float) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    cmd = [sys.executable, "-c", WRITER, str(root), str(count), str(start)]
    return subprocess.Popen(cmd, env=env, stderr=subprocess.PIPE)


def assert_contiguous(store: EvidenceStore, n: int) -> None:
    assert sorted(r.seq for r in store.records()) == list(range(1, n + 1))
    names = sorted(p.name for p in store.records_dir.iterdir() if not p.name.startswith("."))
    assert [int(name[:8]) for name in names] == list(range(1, n + 1))


def test_four_processes_append_concurrently(evidence_dir: Path) -> None:
    start = time.time() + 1.5
    procs = [spawn(evidence_dir, 50, start) for _ in range(4)]
    for proc in procs:
        _, err = proc.communicate(timeout=60)
        assert proc.returncode == 0, err.decode()
    store = EvidenceStore(evidence_dir)
    assert_contiguous(store, 200)
    pids = {r.data["pid"] for r in store.records()}
    assert len(pids) == 4
    result = store.verify()
    assert result.ok and result.checked == 200 and not result.notes, str(result)


def test_writer_killed_repeatedly_loses_nothing(evidence_dir: Path) -> None:
    store = EvidenceStore(evidence_dir)
    rng = random.Random(12)
    for _ in range(4):
        before = (store.head() or (0, ""))[0]
        proc = spawn(evidence_dir, -1, 0)
        deadline = time.monotonic() + 30
        while (store.head() or (0, ""))[0] < before + 5:
            assert proc.poll() is None, proc.communicate()[1].decode()
            assert time.monotonic() < deadline, "the writer made no progress"
            time.sleep(0.005)
        time.sleep(rng.uniform(0, 0.05))
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
        assert proc.returncode == -signal.SIGKILL
        result = store.verify()
        assert result.ok, str(result)
        assert {n.code for n in result.notes} <= BENIGN
    n = store.append("review", {"after": "kills"}).seq
    assert n > 20
    assert_contiguous(store, n)
    result = store.verify()
    assert result.ok and not result.notes, str(result)


def _crash_at(point: str):  # returns a patcher for the child process
    real_append, real_place, real_fsync = _files.append_line, _files.place_record, os.fsync

    def die() -> None:
        os.kill(os.getpid(), signal.SIGKILL)

    def place(pending: Path, final: Path, payload: bytes) -> None:
        if point == "before_link":  # the step is the marker's fsync: only sync mode has it
            _durability.configure("sync")  # (deferred: tests/test_evidence_durability.py)
            os.fsync = lambda fd: die()  # dies once the marker's bytes are written
        real_place(pending, final, payload)

    def append(path: Path, entry: dict) -> None:
        if point == "before_index":
            die()
        if point == "mid_index":
            with open(path, "ab") as fh:
                fh.write(b'{"seq":' + str(entry["seq"]).encode())
            die()
        real_append(path, entry)
        if point == "after_index":
            die()

    _files.place_record, _files.append_line = place, append
    return real_fsync


@pytest.mark.parametrize("point", ["before_link", "before_index", "mid_index", "after_index"])
def test_kill_at_each_step_of_a_write(evidence_dir: Path, point: str) -> None:
    """SIGKILL a forked writer at a chosen step; the store stays valid and usable."""
    store = EvidenceStore(evidence_dir)
    for i in range(3):
        store.append("enforce", {"i": i})
    pid = os.fork()
    if pid == 0:  # child: crash inside the fourth append
        try:
            _crash_at(point)
            store.append("enforce", {"i": 3})
        finally:
            os._exit(3)  # not reached when the kill lands
    _, status = os.waitpid(pid, 0)
    assert os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL
    result = store.verify()
    assert result.ok, str(result)
    notes = {n.code for n in result.notes}
    assert notes <= BENIGN
    listed = [r.seq for r in store.records()]
    placed = point in ("before_index", "mid_index", "after_index")
    assert listed == ([4, 3, 2, 1] if point == "after_index" else [3, 2, 1])
    if point == "before_index":
        assert "unindexed_tail" in notes
    nxt = store.append("enforce", {"i": 4})
    assert nxt.seq == (5 if placed else 4)
    assert_contiguous(store, nxt.seq)
    final = store.verify()
    assert final.ok and not final.notes, str(final)
    assert not (store.records_dir / _files.PENDING).exists()
