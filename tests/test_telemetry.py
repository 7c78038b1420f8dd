"""monitor(), tracecollector(), the energy and carbon model, and the exact counters."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

import vl_jupyter
from vl_jupyter import evidence
from vl_jupyter.telemetry import _energy, _settings, configure, monitor, tracecollector

REQUIRED = [
    "name",
    "success",
    "error",
    "wall_s",
    "cpu_user_s",
    "cpu_system_s",
    "peak_rss_bytes",
    "peak_delta_bytes",
    "children_peak_rss_bytes",
    "energy_kwh",
    "co2e_g",
    "carbon_intensity_g_per_kwh",
    "gpus",
    "methods",
]


@pytest.fixture(autouse=True)
def _clean_settings(monkeypatch):
    for var in ("VL_COUNTRY", "VL_CARBON_INTENSITY", "VL_PUE"):
        monkeypatch.delenv(var, raising=False)
    configure(reset=True)
    yield
    configure(reset=True)


def _busy(seconds: float) -> None:
    end = time.process_time() + seconds
    while time.process_time() < end:
        pass


def test_record_has_every_required_field_and_a_trace(evidence_dir):
    with monitor("train v1/final", evidence_dir=evidence_dir) as m:
        sum(range(1000))
    data = m.result.data
    assert [k for k in REQUIRED if k not in data] == []
    assert data["success"] is True and data["error"] is None and data["gpus"] == []
    assert data["carbon_intensity_source"] == "world_average"
    assert data["carbon_intensity_g_per_kwh"] == 475.0
    rec = next(evidence.records("telemetry", root=evidence_dir))
    assert rec.id == m.result.evidence_id and rec.data["name"] == "train v1/final"
    trace = json.loads((evidence_dir / "trace_train_v1_final.json").read_text())
    for key in ("name", "label", "timestamp", "duration_seconds", "success", "code_context"):
        assert key in trace
    assert trace["evidence_id"] == rec.id and trace["code_context"]["line"] > 0
    assert (evidence_dir / "runs" / rec.session / "trace_train_v1_final.json").exists()
    assert evidence.verify(evidence_dir).ok


def test_failure_is_recorded_and_propagates_unchanged(evidence_dir):
    mon = monitor("boom", evidence_dir=evidence_dir)
    with pytest.raises(ZeroDivisionError), mon:
        1 / 0  # noqa: B018
    assert mon.result.data["success"] is False
    assert mon.result.data["error"] == "ZeroDivisionError"
    assert "division by zero" in mon.result.data["error_message"]
    assert "FAILED (ZeroDivisionError)" in mon.result._repr_html_()


def test_peak_memory_is_exact_per_block(evidence_dir):
    with monitor("big", evidence_dir=evidence_dir, sample=False) as m:
        block = np.ones(50_000_000)  # 400 MB, every page touched
    assert abs(m.result["peak_delta_bytes"] - 400e6) < 0.05 * 400e6
    assert m.result["peak_rss_method"] == "vmhwm"
    with monitor("small", evidence_dir=evidence_dir, sample=False) as m:
        other = np.ones(12_500_000)  # 100 MB, while the 400 MB block is still held
    assert abs(m.result["peak_delta_bytes"] - 100e6) < 0.05 * 100e6
    del block, other


def test_nested_block_does_not_hide_the_outer_peak(evidence_dir):
    with monitor("outer", evidence_dir=evidence_dir, sample=False) as outer:
        spike = np.ones(25_000_000)  # 200 MB, freed before the inner block
        del spike
        with monitor("inner", evidence_dir=evidence_dir, sample=False) as inner:
            pass
    assert outer.result["peak_delta_bytes"] > 0.95 * 200e6
    assert inner.result["peak_delta_bytes"] < 50e6
    assert outer.result.session == inner.result.session


def test_cpu_time_of_a_busy_loop_is_within_ten_percent(evidence_dir):
    with monitor("busy", evidence_dir=evidence_dir) as m:
        _busy(0.5)
    cpu = m.result["cpu_user_s"] + m.result["cpu_system_s"]
    assert 0.45 <= cpu <= 0.55 + m.result["sampling"]["sampler_cpu_s"]


def test_children_are_sampled(evidence_dir):
    # The child list is refreshed once a second (scanning /proc costs ~3 ms), so the child
    # lives long enough to be seen by at least two refreshes even on a loaded machine.
    code = "x = bytearray(150_000_000); import time; time.sleep(2.5)"
    with monitor("kids", evidence_dir=evidence_dir, interval=0.05) as m:
        subprocess.run([sys.executable, "-c", code], check=True)
    assert m.result["children_peak_rss_bytes"] > 140e6
    assert m.result["children_seen"] >= 1


def test_no_thread_is_left_behind(evidence_dir):
    """Blocks start no thread each: one parked sampler thread (and the evidence fsync
    flusher) serve every block of the process, and nothing is left armed after one."""
    from vl_jupyter.telemetry import _sampler

    with monitor("first", evidence_dir=evidence_dir, interval=0.01):
        time.sleep(0.05)
    before = set(threading.enumerate())
    worker = _sampler.worker_thread()
    assert worker is not None and worker.is_alive() and worker in before
    for i in range(5):
        with monitor(f"t{i}", evidence_dir=evidence_dir, interval=0.01) as m:
            time.sleep(0.05)
        assert m.result["sampling"]["samples"] >= 2 and m.result["sampling"]["error"] is None
    assert set(threading.enumerate()) == before
    assert _sampler.worker_thread() is worker and _sampler._WORKER.armed == []


def test_decorator_records_every_call(evidence_dir):
    @monitor(evidence_dir=evidence_dir)
    def train(n):
        return n * 2

    assert train(2) == 4 and train(3) == 6
    names = [r.data["name"] for r in evidence.records("telemetry", root=evidence_dir)]
    assert names == [train.__qualname__] * 2
    assert train.monitor.result["code"]["function"] == train.__qualname__


def test_enforce_inside_a_block_shares_its_session(evidence_dir, german):
    policy = vl_jupyter.datasets.policy_path("german_credit_data")
    with monitor("audit", evidence_dir=evidence_dir) as m:
        vl_jupyter.enforce(german, policy, target="class", ci=False, evidence_dir=evidence_dir)
    enforce_rec = next(evidence.records("enforce", root=evidence_dir))
    assert enforce_rec.session == m.result.session


def test_tracecollector_records_the_trace_without_sampling(evidence_dir):
    with tracecollector("audit", evidence_dir=evidence_dir) as t:
        pass
    assert t.result["sampling"]["enabled"] is False
    assert t.result["gpu_status"]["available"] is False
    trace = json.loads((evidence_dir / "trace_audit.json").read_text())
    assert trace["label"] == "trace" and trace["success"] is True


def test_recording_failure_warns_and_never_breaks_the_block(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    with (
        pytest.warns(vl_jupyter.VLWarning, match="not recorded"),
        monitor("x", evidence_dir=blocker) as m,
    ):
        pass
    assert m.result.evidence_id is None and m.result.recording_error


# -- carbon intensity and PUE ----------------------------------------------------------
def test_country_sets_the_intensity_and_names_its_source(evidence_dir):
    with monitor("c", country="deu", pue=1.5, evidence_dir=evidence_dir) as m:
        _busy(0.05)
    d = m.result.data
    assert d["carbon_intensity_source"] == "country:DEU" and d["country"] == "DEU"
    assert d["carbon_intensity_g_per_kwh"] == pytest.approx(380.95)
    assert d["energy_kwh"] == pytest.approx(d["energy"]["it_kwh"] * 1.5)
    assert d["co2e_g"] == pytest.approx(d["energy_kwh"] * 380.95)


def test_unknown_country_names_close_matches():
    with pytest.raises(ValueError, match=r"unknown country code 'DEX'.*DEU \(Germany\)"):
        monitor("x", country="DEX")


def test_resolution_order_argument_session_env_default(monkeypatch):
    assert _settings.resolve_carbon().source == "world_average"
    monkeypatch.setenv("VL_COUNTRY", "FRA")
    assert _settings.resolve_carbon().source == "country:FRA"
    monkeypatch.setenv("VL_CARBON_INTENSITY", "123")
    assert _settings.resolve_carbon() == _settings.Carbon(123.0, "env", None, "env")
    configure(country="NOR")
    assert _settings.resolve_carbon().country == "NOR"
    assert _settings.resolve_carbon(carbon_intensity=50).source == "explicit"
    monkeypatch.setenv("VL_PUE", "1.4")
    assert _settings.resolve_pue() == 1.4 and _settings.resolve_pue(1.1) == 1.1
    with pytest.raises(ValueError, match=r"PUE must be at least 1\.0"):
        configure(pue=0.9)


def test_tdp_lookup_matches_whole_model_names_only():
    assert _energy.cpu_tdp("Intel(R) Xeon(R) Platinum 8352Y CPU @ 2.20GHz")[0] == 205.0
    assert _energy.cpu_tdp("AMD EPYC 7B12 64-Core Processor")[0] == 240.0
    assert _energy.cpu_tdp("AMD EPYC") == (None, None)


def test_energy_methods_are_labelled():
    base = dict(wall_s=10.0, cpu_s=5.0, logical_cores=2, mem_bytes=int(1e9))
    tdp = _energy.estimate(_energy.EnergyInputs(cpu_model="AMD EPYC 7B12", **base), 1.0, 100)
    assert tdp["cpu_method"] == "tdp_x_utilisation"
    assert tdp["cpu_kwh"] == pytest.approx(240 * 5 / 2 / 3.6e6)
    assert tdp["ram_kwh"] == pytest.approx(0.375 * 10 / 3.6e6)
    const = _energy.estimate(_energy.EnergyInputs(cpu_model="", **base), 1.0, 100)
    assert const["cpu_method"] == "constant"
    rapl = _energy.EnergyInputs(cpu_model="", rapl_j=100.0, system_busy_s=10.0, **base)
    assert _energy.estimate(rapl, 1.0, 100)["cpu_kwh"] == pytest.approx(50 / 3.6e6)


def test_import_stays_light():
    code = "import sys, vl_jupyter.telemetry; print([m for m in ('pynvml', 'IPython') if m in sys.modules])"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


def test_shipped_data_keeps_its_attribution():
    readme = Path(vl_jupyter.__file__).parent / "data" / "README.md"
    assert "CC BY 4.0" in readme.read_text() and "codecarbon" in readme.read_text()
    assert len(_settings.intensity_table()) == 213


def test_cheap_counter_reads_are_psutils_figures():
    # os.times() and VmRSS are the kernel figures psutil reads from /proc/self/stat and
    # /proc/self/statm: the same clock ticks, the same pages.
    import psutil

    from vl_jupyter.telemetry import _counters

    if not sys.platform.startswith("linux"):
        pytest.skip("Linux counters")
    proc = psutil.Process()
    ours, theirs = _counters.cpu_times(), proc.cpu_times()
    tick = 1 / os.sysconf("SC_CLK_TCK")
    for field in ("user", "system", "children_user", "children_system"):
        assert abs(getattr(ours, field) - getattr(theirs, field)) <= 2 * tick
    rss, hwm = _counters.read_status()
    assert abs(rss - proc.memory_info().rss) <= 64 * 4096 and hwm >= rss
    assert _counters.process() is _counters.process()  # one handle per process


def test_sampler_takes_its_first_and_last_samples_itself_and_disarms():
    from vl_jupyter.telemetry import _sampler

    sampler = _sampler.Sampler(1.0, gpu=False)
    sampler.start()
    assert sampler.samples == 1 and sampler.system_total > 0 and sampler.own_peak > 0
    assert sampler.armed and sampler in _sampler._WORKER.armed
    assert _sampler.worker_thread().is_alive()
    sampler.stop()  # well inside the 1 s interval: the thread never sampled it
    assert not sampler.armed and sampler not in _sampler._WORKER.armed
    assert sampler.samples == 2 and sampler.error is None and sampler.cpu_s > 0
    before = sampler.samples
    time.sleep(0.05)
    sampler.tick()  # a late turn of the thread after stop() samples nothing
    assert sampler.samples == before


@pytest.mark.slow
def test_sampler_thread_samples_nested_blocks_separately(evidence_dir):
    code = "import time; time.sleep(1.5)"
    with monitor("outer", evidence_dir=evidence_dir, interval=0.05) as outer:
        time.sleep(0.2)
        with monitor("inner", evidence_dir=evidence_dir, interval=0.02) as inner:
            subprocess.run([sys.executable, "-c", code], check=True)
    assert inner.result["children_seen"] >= 1 and outer.result["children_seen"] >= 1
    # each block sampled at its own interval while the child lived (about 1.5 s)
    assert inner.result["sampling"]["samples"] > outer.result["sampling"]["samples"] > 5


def test_a_block_forked_mid_way_also_ends_in_the_child(evidence_dir):
    """A child forked inside a block (no sampler thread there) finishes the block
    without waiting on the parent's thread, and the parent's block is unaffected."""
    pid = -1
    try:
        with monitor("forked", evidence_dir=evidence_dir, interval=0.01) as m:
            time.sleep(0.05)
            pid = os.fork()
    finally:
        if pid == 0:  # the child: report whether its block ended with a result
            os._exit(0 if m.result is not None and m.result.evidence_id else 3)
    deadline = time.monotonic() + 30
    while (done := os.waitpid(pid, os.WNOHANG))[0] == 0:
        if time.monotonic() > deadline:
            os.kill(pid, 9)
            pytest.fail("the forked child hung ending its block")
        time.sleep(0.01)
    assert os.WIFEXITED(done[1]) and os.WEXITSTATUS(done[1]) == 0
    assert m.result.evidence_id and m.result["sampling"]["error"] is None
    names = [r.data["name"] for r in evidence.records("telemetry", root=evidence_dir)]
    assert names == ["forked", "forked"]  # one record from each process


def test_own_rss_is_sampled_only_where_the_high_water_mark_does_not_work(evidence_dir, monkeypatch):
    from vl_jupyter.telemetry import _counters, _sampler

    made = []
    real = _sampler.Sampler

    def spy(*a, **k):
        made.append(real(*a, **k))
        return made[-1]

    monkeypatch.setattr(_monitor_module(), "Sampler", spy)
    with monitor("warm", evidence_dir=evidence_dir):
        pass
    with monitor("kernel-mark", evidence_dir=evidence_dir) as m:
        pass
    assert m.result["peak_rss_method"] == "vmhwm" and made[-1].own_peak == 0
    monkeypatch.setattr(_counters, "reset_hwm", lambda: False)
    monkeypatch.setattr(_counters, "_hwm_ok", False)  # a machine where it never works
    with monitor("sampled", evidence_dir=evidence_dir) as m:
        pass
    assert m.result["peak_rss_method"] == "sampled" and made[-1].own_peak > 0
    assert m.result["peak_rss_bytes"] >= made[-1].own_peak


def test_system_memory_is_memtotal_minus_memavailable_as_psutil_reports_it():
    import psutil

    from vl_jupyter.telemetry import _counters

    used, total = _counters.read_meminfo()
    vm = psutil.virtual_memory()
    assert total == vm.total and abs(used - vm.used) < 64 * 2**20  # memory moves meanwhile


def test_a_failing_first_sample_is_recorded_and_starts_no_thread(monkeypatch):
    from vl_jupyter.telemetry import _sampler

    def broken(root, skip_tids=frozenset()):
        raise RuntimeError("no /proc")

    monkeypatch.setattr(_sampler, "child_pids", broken)
    monkeypatch.setattr(_sampler, "has_children", lambda: True)  # (so it is listed)
    sampler = _sampler.Sampler(gpu=False)
    sampler.start()
    sampler.stop()
    assert sampler.error == "RuntimeError: no /proc" and not sampler.armed
    assert sampler not in _sampler._WORKER.armed


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="waitid peek is Linux's")
def test_the_children_peek_says_none_only_when_there_are_none():
    from vl_jupyter.telemetry import _sampler

    pid = os.fork()
    if pid == 0:  # a fresh child process: it has no children of its own yet
        try:
            alone = _sampler.has_children()
            kid = subprocess.Popen([sys.executable, "-c", "import sys; sys.exit(3)"])
            running = _sampler.has_children()
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:  # until it has exited, unreaped (a zombie)
                with open(f"/proc/{kid.pid}/stat") as fh:
                    if fh.read().rsplit(")", 1)[1].split()[0] == "Z":
                        break
                time.sleep(0.01)
            finished = _sampler.has_children()  # peeked at, never reaped
            code = kid.wait()
            ok = (alone, running, finished, code, _sampler.has_children()) == (
                False, True, True, 3, False,
            )  # fmt: skip
        except BaseException:
            ok = False
        os._exit(0 if ok else 1)
    _, status = os.waitpid(pid, 0)
    assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0


def test_a_missing_nvml_package_is_remembered_for_the_process(monkeypatch):
    from vl_jupyter.telemetry import _nvml

    monkeypatch.setitem(sys.modules, "pynvml", None)  # import pynvml -> ImportError
    monkeypatch.setattr(_nvml, "_unavailable", None)
    assert _nvml._load()[0] is None and "not installed" in _nvml._unavailable
    monkeypatch.delitem(sys.modules, "pynvml")
    assert _nvml._load() == (None, _nvml._unavailable)  # not retried
    _nvml.use_backend(None)  # forgets it (tests, or a deliberate re-check)
    assert _nvml._unavailable is None


def _monitor_module():
    import sys as _sys

    return _sys.modules["vl_jupyter.telemetry._monitor"]


def test_a_cell_that_changes_directory_records_where_its_run_folder_is(tmp_path, monkeypatch):
    monkeypatch.delenv("VL_EVIDENCE_DIR", raising=False)
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    monkeypatch.chdir(tmp_path / "a")
    with monitor("moves") as m:
        os.chdir(tmp_path / "b")
    store = tmp_path / "a" / ".venturalitica"
    assert (store / "runs" / m.result.session / "trace_moves.json").is_file()
    assert [r.data["name"] for r in evidence.records("telemetry", root=store)] == ["moves"]
    assert not (tmp_path / "b" / ".venturalitica").exists()
