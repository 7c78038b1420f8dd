"""The fsync policy (evidence/_durability.py): deferred fsyncs, their drains, and what a
killed process (a real kernel among them) leaves when nothing was fsynced yet."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

from vl_jupyter import evidence
from vl_jupyter.errors import EvidenceError, VLWarning
from vl_jupyter.evidence import EvidenceStore, _durability, _files

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def policy():
    """The process policy, restored (and drained) after the test."""
    pol = _durability.policy()
    saved = (pol._mode, pol._delay)
    pol.flush()
    yield pol
    pol.flush()
    pol._mode, pol._delay = saved


@pytest.fixture
def fsyncs(monkeypatch):
    """Every os.fsync call: (thread name, path of the descriptor)."""
    calls: list[tuple[str, str]] = []
    real = os.fsync

    def spy(fd: int) -> None:
        calls.append((threading.current_thread().name, os.readlink(f"/proc/self/fd/{fd}")))
        real(fd)

    monkeypatch.setattr(os, "fsync", spy)
    return calls


def test_deferred_append_fsyncs_nothing_itself_and_flush_syncs_what_it_touched(
    evidence_dir, policy, fsyncs
):
    policy.configure("deferred", delay=60)
    store = EvidenceStore(evidence_dir)
    rec = store.append("telemetry", {"x": 1})
    assert fsyncs == []
    assert policy.pending() == 3  # the record file, records/, the index
    assert policy.flush() == 3 and policy.pending() == 0
    synced = [path for _, path in fsyncs]
    # the record, the folder naming it, then the index line that names both
    assert synced == [str(rec.path), str(store.records_dir), str(store.index_path)]
    assert {name for name, _ in fsyncs} == {threading.current_thread().name}


def test_sync_mode_fsyncs_inside_the_write_as_before(evidence_dir, policy, fsyncs):
    policy.configure("sync")
    store = EvidenceStore(evidence_dir)
    rec = store.append("telemetry", {"x": 1})
    assert policy.pending() == 0
    # the marker's data before its link, the folder after it, then the index line
    pending = str(store.records_dir / _files.PENDING)
    assert [path for _, path in fsyncs] == [pending, str(store.records_dir), str(store.index_path)]
    fsyncs.clear()
    store.write_json("trace_x.json", {"a": 1})  # side files: never fsynced in sync mode
    assert fsyncs == [] and rec.data == {"x": 1}


def test_the_flusher_thread_syncs_within_the_delay(evidence_dir, policy, fsyncs):
    policy.configure("deferred", delay=0.05)
    store = EvidenceStore(evidence_dir)
    t0 = time.monotonic()
    for i in range(5):
        store.append("telemetry", {"i": i})
    deadline = time.monotonic() + 5
    while policy.pending() and time.monotonic() < deadline:
        time.sleep(0.01)
    assert policy.pending() == 0
    while len(fsyncs) < 7 and time.monotonic() < deadline:  # the batch may still be running
        time.sleep(0.01)
    assert time.monotonic() - t0 < 5
    # five record files, the folder and the index, each once: queued paths are coalesced
    assert len(fsyncs) == 7 and {name for name, _ in fsyncs} == {"vl-evidence-fsync"}


def test_head_and_verify_drain_the_queue_first(evidence_dir, policy):
    policy.configure("deferred", delay=60)
    store = EvidenceStore(evidence_dir)
    store.append("enforce", {"x": 1})
    assert policy.pending() == 3
    assert store.head()[0] == 1 and policy.pending() == 0  # a sync anchor names disk state
    store.append("enforce", {"x": 2})
    assert store.verify().ok and policy.pending() == 0
    store.append("enforce", {"x": 3})
    assert evidence.flush() == 3
    store.append("enforce", {"x": 4})
    assert evidence.configure_durability("sync") == {"mode": "sync", "delay_s": 0.0}
    assert policy.pending() == 0  # switching to sync first drained what was queued


def test_side_files_are_swapped_in_atomically_and_queued(evidence_dir, policy, fsyncs):
    policy.configure("deferred", delay=60)
    store = EvidenceStore(evidence_dir)
    first = store.write_json("trace_a.json", {"v": 1}, copies=("runs/r1/trace_a.json",))
    inode = first.stat().st_ino
    store.write_json("trace_a.json", {"v": 2})
    assert json.loads(first.read_text()) == {"v": 2} and first.stat().st_ino != inode
    assert json.loads((evidence_dir / "runs/r1/trace_a.json").read_text()) == {"v": 1}
    assert not [n for n in os.listdir(evidence_dir) if n.startswith(_files.TMP_PREFIX)]
    if sys.platform.startswith("linux"):
        assert _files._EXCHANGE and _files._EXCHANGE[0] is not None  # renameat2 was used
    assert fsyncs == []
    policy.flush()
    assert str(first) in [path for _, path in fsyncs]


def test_a_folder_where_a_side_file_goes_is_an_error_and_stays_put(evidence_dir, policy):
    policy.configure("deferred", delay=60)
    store = EvidenceStore(evidence_dir)
    store.write_json("keep.json", {})
    (evidence_dir / "trace_x.json").mkdir()
    (evidence_dir / "trace_x.json" / "inside").write_text("mine")
    with pytest.raises(EvidenceError, match=r"cannot write trace_x.json under .*directory"):
        store.write_json("trace_x.json", {"v": 1})
    assert (evidence_dir / "trace_x.json" / "inside").read_text() == "mine"
    assert not [n for n in os.listdir(evidence_dir) if n.startswith(_files.TMP_PREFIX)]


def test_a_failing_background_fsync_is_a_warning_naming_the_file(evidence_dir, policy, monkeypatch):
    policy.configure("deferred", delay=60)
    store = EvidenceStore(evidence_dir)
    rec = store.append("enforce", {"x": 1})

    def broken(fd: int) -> None:
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(os, "fsync", broken)
    with pytest.warns(VLWarning) as caught:
        policy.flush()
    # one per file; a folder failing is not warned (folders cannot be synced everywhere)
    assert sorted(str(w.message) for w in caught) == [
        f"evidence may not survive a power cut: fsync of {path} failed: "
        "[Errno 5] Input/output error"
        for path in sorted([str(store.index_path), str(rec.path)])
    ]
    assert len(policy.errors) >= 2


def test_a_side_file_path_through_a_symlink_out_of_the_store_is_refused(evidence_dir, tmp_path):
    store = EvidenceStore(evidence_dir)
    store.write_json("runs/r1/ok.json", {})
    outside = tmp_path / "outside"
    outside.mkdir()
    (evidence_dir / "runs" / "r2").symlink_to(outside)
    with pytest.raises(EvidenceError, match=r"'runs/r2/x.json' leaves the store .*\(symlink\)"):
        store.write_json("runs/r2/x.json", {})
    (evidence_dir / "runs" / "r3").symlink_to(evidence_dir / "runs" / "r1")  # inside: fine
    assert store.write_json("runs/r3/y.json", {"y": 1}).read_text().strip().endswith("}")
    assert not list(outside.iterdir())


def test_bad_settings_are_errors_and_a_bad_variable_falls_back_to_sync(policy, monkeypatch):
    with pytest.raises(EvidenceError, match=r"mode='later' is not one of deferred, sync"):
        policy.configure("later")
    with pytest.raises(EvidenceError, match=r"fsync delay 0\.0 s is outside 0 < delay <= 60"):
        policy.configure("deferred", delay=0)
    monkeypatch.setenv("VL_EVIDENCE_FSYNC", "sometimes")
    policy._mode = None
    with pytest.warns(VLWarning, match=r"VL_EVIDENCE_FSYNC='sometimes' is not one of"):
        assert policy.mode == "sync"
    monkeypatch.setenv("VL_EVIDENCE_FSYNC", "deferred")
    monkeypatch.setenv("VL_EVIDENCE_FSYNC_DELAY", "0.25")
    policy._mode = None
    assert policy.describe() == {"mode": "deferred", "delay_s": 0.25}


CHILD = textwrap.dedent(
    """
    import atexit, os, sys, json
    root, how = sys.argv[1], sys.argv[2]
    if how == "exit":  # registered first, so it runs after vl_jupyter's own drain
        atexit.register(lambda: print(json.dumps({"pending": pol.pending(),
                                                  "synced": pol.synced}), flush=True))
    from vl_jupyter.evidence import EvidenceStore, _durability
    pol = _durability.policy()
    store = EvidenceStore(root)
    rec = store.append("telemetry", {"pid": os.getpid(), "pad": "x" * 5000})
    store.write_json("trace_latest.json", {"evidence_id": rec.id})
    print(json.dumps({"id": rec.id, "pending": pol.pending()}), flush=True)
    if how == "kill":
        os.kill(os.getpid(), 9)
    """
)


def _child(root: Path, how: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(REPO), "VL_EVIDENCE_FSYNC": "deferred"}
    env["VL_EVIDENCE_FSYNC_DELAY"] = "60"  # nothing is fsynced before the process ends
    return subprocess.run(
        [sys.executable, "-c", CHILD, str(root), how], env=env, capture_output=True, timeout=60
    )


def test_a_process_killed_before_any_fsync_loses_nothing(evidence_dir):
    EvidenceStore(evidence_dir).append("enforce", {"before": True})
    done = _child(evidence_dir, "kill")
    assert done.returncode == -signal.SIGKILL, done.stderr.decode()
    told = json.loads(done.stdout.decode().splitlines()[0])
    assert told["pending"] == 5  # record, records/, index, the side file and its folder
    store = EvidenceStore(evidence_dir)
    result = store.verify(full=True)
    assert result.ok and result.checked == 2 and not result.notes, str(result)
    rec = store.get(told["id"])
    assert rec.data["pad"] == "x" * 5000 and rec.seq == 2
    trace = json.loads((evidence_dir / "trace_latest.json").read_text())
    assert trace == {"evidence_id": told["id"]}
    assert store.append("enforce", {"after": True}).seq == 3


def test_a_normal_exit_drains_the_queue(evidence_dir):
    done = _child(evidence_dir, "exit")
    assert done.returncode == 0, done.stderr.decode()
    lines = [json.loads(line) for line in done.stdout.decode().splitlines()]
    assert lines[0]["pending"] == 5
    assert lines[1] == {"pending": 0, "synced": 5}  # atexit ran the flush


@pytest.mark.slow
def test_a_kernel_killed_right_after_a_monitored_cell_keeps_its_record(tmp_path):
    """A real IPython kernel, SIGKILLed (what a crashed or force-restarted kernel gets)
    right after a monitored cell, before the 60 s fsync delay: the record, its index line
    and the trace are all there and verify."""
    from jupyter_client.manager import start_new_kernel

    root = tmp_path / "ev"
    env = {**os.environ, "PYTHONPATH": str(REPO), "VL_EVIDENCE_DIR": str(root)}
    env.update(VL_EVIDENCE_FSYNC="deferred", VL_EVIDENCE_FSYNC_DELAY="60")
    km, kc = start_new_kernel(kernel_name="python3", env=env, cwd=str(tmp_path))
    try:
        out: list[str] = []

        def run(code: str) -> None:
            reply = kc.execute_interactive(
                code,
                timeout=60,
                output_hook=lambda m: (
                    out.append(m["content"]["text"]) if m["msg_type"] == "stream" else None
                ),
            )
            assert reply["content"]["status"] == "ok", reply["content"]

        run("%load_ext vl_jupyter")
        run("%%vl_monitor killed_cell -q\nx = sum(range(1000))")
        run(
            "import os, vl_jupyter.evidence._durability as d\n"
            "print(os.getpid(), d.policy().pending(), d.policy().synced)"
        )
        pid, pending, synced = map(int, out[-1].split())
        assert pending >= 3 and synced == 0  # nothing had reached the disk yet
        os.kill(pid, signal.SIGKILL)
        deadline = time.monotonic() + 30
        while km.is_alive() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not km.is_alive()
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)
    store = EvidenceStore(root)
    result = store.verify(full=True)
    assert result.ok and result.checked == 1 and not result.notes, str(result)
    (rec,) = store.records("telemetry")
    assert rec.data["name"] == "killed_cell" and rec.data["success"] is True
    trace = json.loads((root / "trace_killed_cell.json").read_text())
    assert trace["evidence_id"] == rec.id
    assert json.loads((root / "trace_latest.json").read_text())["evidence_id"] == rec.id


@pytest.mark.slow
def test_a_kernel_shut_down_from_jupyter_drains_its_queue(tmp_path):
    """A graceful kernel shutdown (what Jupyter's restart and shutdown send) runs the
    atexit drain: the fsyncs queued by a monitored cell are done before the process ends."""
    from jupyter_client.manager import start_new_kernel

    root, report = tmp_path / "ev", tmp_path / "at_exit.json"
    env = {**os.environ, "PYTHONPATH": str(REPO), "VL_EVIDENCE_DIR": str(root)}
    env.update(VL_EVIDENCE_FSYNC="deferred", VL_EVIDENCE_FSYNC_DELAY="60")
    km, kc = start_new_kernel(kernel_name="python3", env=env, cwd=str(tmp_path))
    try:
        for code in (
            # registered before vl_jupyter's own handler, so it runs after the drain
            "import atexit, json\n"
            "def _report():\n"
            "    from vl_jupyter.evidence import _durability as d\n"
            "    pol = d.policy()\n"
            f"    open({str(report)!r}, 'w').write(json.dumps([pol.pending(), pol.synced]))\n"
            "atexit.register(_report)",
            "%load_ext vl_jupyter",
            "%%vl_monitor shut_cell -q\nx = 1",
        ):
            reply = kc.execute_interactive(code, timeout=60)
            assert reply["content"]["status"] == "ok", reply["content"]
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=False)
    pending, synced = json.loads(report.read_text())
    assert pending == 0 and synced >= 3
    assert EvidenceStore(root).verify().ok


def test_what_a_power_cut_in_the_window_can_leave_is_reported_not_built_on(evidence_dir):
    """Simulated: the newest record file reached the disk empty and its index line not
    at all. verify() names it, append() refuses to chain after it, naming the file."""
    store = EvidenceStore(evidence_dir)
    store.append("enforce", {"x": 1})
    lost = store.append("enforce", {"x": 2})
    lines = store.index_path.read_bytes().splitlines(keepends=True)
    store.index_path.write_bytes(lines[0])  # the second line never reached the disk
    lost.path.chmod(0o644)
    lost.path.write_bytes(b"")  # nor the record's data
    result = store.verify(full=True)
    assert [(p.code, p.file, p.seq) for p in result.problems] == [
        ("truncated", f"records/{lost.file}", 2)
    ]
    with pytest.raises(EvidenceError, match=f"records/ holds {lost.file}"):
        store.append("enforce", {"x": 3})
