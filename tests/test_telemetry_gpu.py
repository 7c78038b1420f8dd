"""GPU telemetry through a fake NVML: devices, energy counter present or absent, errors."""

from __future__ import annotations

import pytest

from vl_jupyter.telemetry import FakeGpu, FakeNvml, monitor, use_gpu_backend
from vl_jupyter.telemetry._fake_nvml import nvml_error


@pytest.fixture
def fake():
    backend = FakeNvml()
    use_gpu_backend(backend)
    yield backend
    use_gpu_backend(None)


def _run(evidence_dir, **kw):
    with monitor("gpu", evidence_dir=evidence_dir, interval=0.01, **kw) as m:
        for _ in range(200_000):
            pass
    return m.result


def test_two_devices_with_and_without_energy_counter(fake, evidence_dir):
    fake.gpus = [
        FakeGpu("NVIDIA H100", energy_counter=True, power_w=300, utilisation_pct=80),
        FakeGpu("Tesla P4", energy_counter=False, power_w=50, utilisation_pct=20),
    ]
    result = _run(evidence_dir)
    h100, p4 = result["gpus"]
    assert h100["name"] == "NVIDIA H100" and h100["energy_method"] == "nvml_energy"
    assert h100["energy_kwh"] == pytest.approx(300 * 0.1 / 3.6e6)  # one fake step
    assert p4["energy_method"] == "nvml_power" and p4["energy_kwh"] > 0
    assert h100["utilisation_mean_pct"] == 80 and h100["utilisation_max_pct"] == 80
    assert h100["process_memory_peak_bytes"] == 1024**3
    assert h100["power_mean_w"] == 300 and h100["driver"] == "550.54.15"
    assert result["gpu_status"]["available"] is True
    assert result["energy"]["gpu_method"] == "nvml_energy+nvml_power"
    assert result["energy"]["gpu_kwh"] == pytest.approx(h100["energy_kwh"] + p4["energy_kwh"])
    assert [g["name"] for g in result["context"]["hardware"]["gpus"]] == ["NVIDIA H100", "Tesla P4"]
    assert "GPU0 NVIDIA H100 80%" in result.summary_line()
    assert fake.open_sessions == 0  # NVML shut down after the block


def test_no_driver_is_reported_not_raised(fake, evidence_dir):
    fake.init_error = nvml_error("NVMLError_LibraryNotFound")()
    result = _run(evidence_dir)
    assert result["gpus"] == [] and result["gpu_status"]["available"] is False
    assert "LibraryNotFound" in result["gpu_status"]["reason"]
    assert result["energy"]["gpu_method"] is None


def test_permission_errors_leave_that_figure_empty(fake, evidence_dir):
    denied = {"nvmlDeviceGetPowerUsage", "nvmlDeviceGetTotalEnergyConsumption"}
    fake.gpus = [FakeGpu("A100", fail_calls=denied)]
    (gpu,) = _run(evidence_dir)["gpus"]
    assert gpu["power_mean_w"] is None and gpu["energy_kwh"] is None
    assert gpu["energy_method"] is None and gpu["utilisation_mean_pct"] == 50
    assert fake.open_sessions == 0


def test_enumeration_failure_closes_nvml(fake, evidence_dir):
    fake.gpus = [FakeGpu("A100", fail_calls={"nvmlDeviceGetHandleByIndex"})]
    result = _run(evidence_dir)
    assert result["gpu_status"]["available"] is False
    assert "NoPermission" in result["gpu_status"]["reason"]
    assert fake.open_sessions == 0


def test_no_device(fake, evidence_dir):
    result = _run(evidence_dir)
    assert result["gpu_status"] == {
        "available": False,
        "reason": "NVML found no GPU",
        "driver": "550.54.15",
    }


def test_gpu_can_be_switched_off(fake, evidence_dir):
    fake.gpus = [FakeGpu()]
    result = _run(evidence_dir, gpu=False)
    assert result["gpus"] == [] and fake.inits == 0
    assert result["gpu_status"]["reason"] == "GPU sampling disabled"


def test_real_pynvml_without_driver_is_not_available(evidence_dir):
    pytest.importorskip("pynvml")
    status = _run(evidence_dir)["gpu_status"]
    if status["available"]:  # pragma: no cover - only on a GPU machine
        pytest.skip("a GPU is present")
    assert status["reason"]
