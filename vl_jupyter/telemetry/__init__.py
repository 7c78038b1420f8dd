"""Resource telemetry of notebook cells and code blocks (EU AI Act Art. 15 evidence).

Public verbs::

    with vl_jupyter.monitor("train_v1", country="DEU") as m:
        model.fit(X, y)
    m.result                      # Telemetry: wall, CPU, peak memory, GPU, kWh, g CO2e

    @vl_jupyter.monitor()         # every call is one monitored block
    def train(): ...

    with vl_jupyter.tracecollector("audit"):   # Venturalítica SDK grouping, counters only
        vl_jupyter.enforce(...)

    vl_jupyter.telemetry.configure(country="DEU", pue=1.2)   # session defaults

Each block appends one ``telemetry`` record to the evidence store and writes
``trace_<name>.json``. In notebooks, ``%load_ext vl_jupyter`` then ``%%vl_monitor``.
Figures, methods and their known errors: docs/telemetry.md.
"""

from __future__ import annotations

from ._context import notebook_path
from ._fake_nvml import FakeGpu, FakeNvml
from ._monitor import monitor, safe_name, tracecollector
from ._nvml import use_backend as use_gpu_backend
from ._record import trace_document
from ._result import Telemetry
from ._settings import WORLD_AVERAGE_G_PER_KWH, configure, country_intensity

__all__ = [
    "WORLD_AVERAGE_G_PER_KWH",
    "FakeGpu",
    "FakeNvml",
    "Telemetry",
    "configure",
    "country_intensity",
    "monitor",
    "notebook_path",
    "safe_name",
    "trace_document",
    "tracecollector",
    "use_gpu_backend",
]
