"""%%vl_monitor writes its trace and run files just after the cell, never losing the record.

The record is appended inside the cell; the files derived from it are written by the
evidence room's deferred writer once the cell is over, and every later cell (and every
reader in this process) waits for them. See vl_jupyter/evidence/_deferred.py.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pytest
from IPython.core.interactiveshell import InteractiveShell

from vl_jupyter import evidence
from vl_jupyter.errors import VLWarning
from vl_jupyter.notebook import load_ipython_extension, unload_ipython_extension
from vl_jupyter.notebook._monitor_magic import drain_run_files, release_run_files
from vl_jupyter.telemetry import configure, monitor

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def shell(evidence_dir, monkeypatch):
    monkeypatch.setenv("VL_EVIDENCE_DIR", str(evidence_dir))
    ip = InteractiveShell.instance()
    load_ipython_extension(ip)
    configure(reset=True)
    yield ip
    evidence.drain_run_files()
    unload_ipython_extension(ip)


def run_files(root: Path, session: str, name: str) -> list[Path]:
    return [
        root / f"trace_{name}.json",
        root / "trace_latest.json",
        root / "runs" / session / f"trace_{name}.json",
        root / "runs" / session / "bom.json",
    ]


def test_the_files_wait_for_the_end_of_the_cell_and_the_next_cell_waits_for_them(
    shell, evidence_dir
):
    # run_cell_magic alone is a cell that never ends (no post_run_cell): nothing is written
    shell.run_cell_magic("vl_monitor", "held -q", "x = 1")
    rec = next(evidence.EvidenceStore(evidence_dir).records("telemetry"))
    assert rec.data["name"] == "held"  # the record is in the store before anything else
    files = run_files(evidence_dir, rec.session, "held")
    assert evidence.deferred_writer().pending() >= 2  # the run folder, then the files
    assert not any(p.exists() for p in files)
    assert not (evidence_dir / "runs" / rec.session).exists()
    # the next cell's pre_run_cell hook writes them before its code runs
    shell.run_cell(f"import os\nfound = [os.path.exists(p) for p in {[str(p) for p in files]!r}]")
    assert shell.user_ns["found"] == [True, True, True, True]
    assert evidence.latest_run(evidence_dir) == rec.session
    trace = json.loads(files[0].read_text())
    assert trace["evidence_id"] == rec.id and trace["code_context"]["source"] == "x = 1"
    assert evidence.deferred_writer().pending() == 0


def test_a_whole_cell_starts_the_writes_when_it_ends(shell, evidence_dir):
    before = evidence.deferred_writer().done
    shell.run_cell("%%vl_monitor ended -q\npass")  # post_run_cell released the writer
    evidence.deferred_writer().drain()
    assert evidence.deferred_writer().done == before + 2
    assert (evidence_dir / "trace_ended.json").is_file()


def test_readers_in_the_cell_see_its_run(shell, evidence_dir):
    shell.run_cell(
        "%%vl_monitor inside -q\n"
        "from vl_jupyter import evidence\n"
        f"latest = evidence.latest_run({str(evidence_dir)!r})\n"
        "session = evidence.current_session()"
    )
    assert shell.user_ns["latest"] == shell.user_ns["session"]


def test_sync_mode_writes_everything_inside_the_cell(shell, evidence_dir):
    evidence.configure_durability("sync")
    try:
        shell.run_cell_magic("vl_monitor", "inline -q", "pass")
        assert evidence.deferred_writer().pending() == 0
        assert (evidence_dir / "trace_inline.json").is_file()
        assert (evidence_dir / "runs" / "latest").exists()
    finally:
        evidence.configure_durability("deferred")


def test_a_failed_deferred_write_is_warned_in_the_next_cell(shell, evidence_dir):
    shell.run_cell("%%vl_monitor first -q\npass")
    (evidence_dir / "trace_blocked.json").mkdir()  # the trace cannot be written there
    shell.run_cell("%%vl_monitor blocked -q\npass")
    with pytest.warns(VLWarning, match="trace and run files of 'blocked' was not written"):
        shell.run_cell("pass")
    names = [r.data["name"] for r in evidence.EvidenceStore(evidence_dir).records("telemetry")]
    assert names == ["blocked", "first"]  # the record itself was written


def test_a_failing_run_writer_is_warned_in_the_next_cell(shell, evidence_dir):
    def boom(folder, context):
        raise RuntimeError("disk on fire")

    evidence.register_run_writer("boom", boom)
    try:
        shell.run_cell("%%vl_monitor burnt -q\npass")
        with pytest.warns(VLWarning, match="run writer 'boom' failed .*disk on fire") as got:
            shell.run_cell("pass")
    finally:
        evidence.unregister_run_writer("boom")
    assert len([w for w in got if "disk on fire" in str(w.message)]) == 1
    assert (evidence_dir / "trace_burnt.json").is_file()  # the other files were written
    assert (evidence_dir / "runs" / "latest").exists()


def test_the_python_api_defers_only_when_asked(evidence_dir):
    with monitor("api", evidence_dir=evidence_dir) as m:
        pass
    assert (evidence_dir / "trace_latest.json").is_file()  # the SDK tutorials read it now
    (evidence_dir / "trace_late.json").mkdir()
    writer = evidence.deferred_writer()
    writer.hold()
    with monitor("late", evidence_dir=evidence_dir, defer_files=True) as m:
        pass
    assert m.result is not None and m.result.evidence_id and m.result.recording_error is None
    with pytest.warns(VLWarning, match="was not written"):
        assert evidence.drain_run_files()
    assert m.result.recording_error and "trace_late.json" in m.result.recording_error


def _drain_inside(holding, store) -> tuple[bool | None, bool, bool]:
    """In a thread of its own, holding ``holding()``: submit a job that needs ``store``'s
    lock to a writer of its own and drain it; then drain again outside. Returns what the
    first drain answered (None: it had not returned after 10 s, a deadlock), whether the
    job had run by then, and whether it ran after the second drain. A private writer and
    thread, so that a regression fails this test instead of hanging the session."""
    from vl_jupyter.evidence._deferred import DeferredWriter

    writer, ran, got = DeferredWriter(), threading.Event(), {}

    def needs_the_lock() -> None:
        with store.lock():
            ran.set()

    def scenario() -> None:
        with holding():
            writer.submit("a job that needs the lock", needs_the_lock)
            got["inside"] = writer.drain()
            got["ran_inside"] = ran.is_set()
        got["outside"] = writer.drain()

    thread = threading.Thread(target=scenario, daemon=True)
    thread.start()
    thread.join(10)
    return got.get("inside"), got.get("ran_inside", False), bool(got.get("outside"))


def test_drain_never_waits_inside_a_store_lock(evidence_dir):
    store = evidence.EvidenceStore(evidence_dir)
    inside, ran_inside, ran_after = _drain_inside(store.lock, store)
    assert inside is False  # it would deadlock: it returns at once instead
    assert not ran_inside and ran_after


def test_drain_never_waits_inside_a_shared_lock_either(evidence_dir):
    # verify() reads under the shared lock, which keeps this process's writers out too
    from vl_jupyter.evidence import _lock

    store = evidence.EvidenceStore(evidence_dir)
    store.append("enforce", {"i": 1})  # the lock file exists
    inside, ran_inside, ran_after = _drain_inside(lambda: _lock.shared(store.lock_path), store)
    assert inside is False
    assert not ran_inside and ran_after


def test_the_hooks_come_and_go_with_the_extension():
    ip = InteractiveShell.instance()
    load_ipython_extension(ip)
    load_ipython_extension(ip)  # twice: still one of each
    assert ip.events.callbacks["pre_run_cell"].count(drain_run_files) == 1
    assert ip.events.callbacks["post_run_cell"].count(release_run_files) == 1
    unload_ipython_extension(ip)
    assert drain_run_files not in ip.events.callbacks["pre_run_cell"]
    assert release_run_files not in ip.events.callbacks["post_run_cell"]


KILLED = textwrap.dedent(
    """
    import os, signal
    from IPython.core.interactiveshell import InteractiveShell
    from vl_jupyter.notebook import load_ipython_extension
    ip = InteractiveShell.instance()
    load_ipython_extension(ip)
    ip.run_cell("%%vl_monitor before -q\\npass")  # a whole cell: its files follow it
    ip.run_cell("pass")  # (and this cell waited for them)
    ip.run_cell_magic("vl_monitor", "killed -q", "pass")  # the cell's end never comes
    os.kill(os.getpid(), signal.SIGKILL)
    """
)


def test_a_kernel_killed_before_the_files_keeps_every_record(evidence_dir):
    env = {**os.environ, "PYTHONPATH": str(REPO), "VL_EVIDENCE_DIR": str(evidence_dir)}
    done = subprocess.run([sys.executable, "-c", KILLED], env=env, capture_output=True, timeout=120)
    assert done.returncode == -signal.SIGKILL, done.stderr.decode()
    store = evidence.EvidenceStore(evidence_dir)
    result = store.verify()
    assert result.ok and not result.notes, str(result)
    killed, before = list(store.records("telemetry"))
    assert (killed.data["name"], before.data["name"]) == ("killed", "before")
    # what the window costs: the killed cell's trace and run folder, nothing else
    assert all(p.exists() for p in run_files(evidence_dir, before.session, "before"))
    assert not (evidence_dir / "trace_killed.json").exists()
    assert not (evidence_dir / "runs" / killed.session).exists()
    assert evidence.latest_run(evidence_dir) == before.session
    # and the store goes on as before
    with monitor("after", evidence_dir=evidence_dir):
        pass
    assert store.verify().ok and (evidence_dir / "trace_after.json").is_file()


def test_a_forked_child_inherits_no_jobs_and_no_hold():
    writer = evidence.deferred_writer()
    ran = []
    writer.hold()  # as inside a monitored cell that forks (multiprocessing)
    writer.submit("the parent's job", lambda: ran.append(os.getpid()))
    pid = os.fork()
    if pid == 0:  # child: nothing queued, and its own jobs run at once
        ok = writer.pending() == 0
        writer.submit("the child's job", lambda: ran.append("child"))
        ok = ok and writer.drain() and ran == ["child"]
        os._exit(0 if ok else 1)
    _, status = os.waitpid(pid, 0)
    assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0
    assert writer.drain() and ran == [os.getpid()]  # the parent's job ran once, here


def test_a_job_that_exits_stops_neither_the_writer_nor_the_next_drain():
    writer = evidence.deferred_writer()
    ran = []
    writer.submit("a job calling sys.exit", lambda: sys.exit(3))
    writer.submit("the next job", lambda: ran.append("next"))
    with pytest.warns(VLWarning, match="a job calling sys.exit was not written: SystemExit"):
        assert writer.drain()
    assert ran == ["next"]


def test_a_dead_writer_thread_is_replaced_instead_of_hanging_every_drain():
    from vl_jupyter.evidence._deferred import DeferredWriter

    writer = DeferredWriter()
    dead = threading.Thread(target=lambda: None)
    dead.start()
    dead.join()
    ran = []
    with writer._lock:  # what a thread killed in the middle of a job would leave
        writer._thread, writer._running = dead, True
        writer._jobs.append(("a job left behind", lambda: ran.append("left")))
    assert writer.drain() and ran == ["left"]
    assert writer._thread is not dead and writer._thread.is_alive()
    writer.submit("a later job", lambda: ran.append("later"))
    assert writer.drain() and ran == ["left", "later"]


def test_without_threads_the_drain_writes_the_files_itself(monkeypatch):
    from vl_jupyter.evidence import _deferred

    class NoThreads(threading.Thread):
        def start(self):
            raise RuntimeError("can't create new thread at interpreter shutdown")

    monkeypatch.setattr(_deferred.threading, "Thread", NoThreads)
    writer = _deferred.DeferredWriter()
    ran = []
    writer.submit("a job", lambda: ran.append(threading.current_thread().name))
    assert ran == [] and writer.pending() == 1
    assert writer.drain() and ran == [threading.current_thread().name]
