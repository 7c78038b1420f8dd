"""``monitor()``: measure a block or a function and record it as evidence.

>>> import vl_jupyter as vl
>>> with vl.monitor("train_v1", country="DEU") as m:
...     total = sum(range(100_000))          # model.fit(X, y) in a notebook
>>> m.result.data["name"], m.result.data["success"], m.result.data["country"]
('train_v1', True, 'DEU')

The block runs inside an evidence session (``vl_jupyter.evidence.session``), so every
``enforce()`` inside it, and nested monitors, share the telemetry record's session id.
An exception in the block is recorded (``success: false``, the error type) and then
propagates unchanged: the monitor never swallows or alters it.
"""

from __future__ import annotations

import functools
import re
import sys
import warnings
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path
from typing import Any, Literal, TypeVar

from .. import evidence
from ..environment import origin as record_origin
from ..errors import EvidenceError, TelemetryError, VLWarning
from . import _artifacts, _code, _context, _counters, _energy, _settings
from ._counters import Counters
from ._record import build_data, trace_document
from ._result import Telemetry
from ._sampler import Sampler

F = TypeVar("F", bound=Callable[..., Any])


_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def safe_name(name: str) -> str:
    """``name`` as a filename part: letters, digits, ``.``, ``_``, ``-`` (at most 100)."""
    cleaned = _UNSAFE.sub("_", str(name)).strip("._-")[:100]
    return cleaned or "block"


class monitor:  # a verb, used as ``with monitor(...)`` and ``@monitor()``
    """Measure time, CPU, memory, GPU, energy and CO2e of a block; record one evidence record.

    Parameters: ``name`` (default: the notebook and cell, the function, or the file and
    line); ``country`` (ISO alpha-3) or ``carbon_intensity`` (g CO2e/kWh); ``pue``;
    ``interval`` of the background sampler in seconds; ``quiet`` (False displays the
    one-line summary); ``evidence_dir`` (default ``$VL_EVIDENCE_DIR`` or
    ``./.venturalitica``); ``sample=False`` skips the sampler thread (no children, no
    GPU); ``gpu=False`` skips NVML only; ``label`` a free-text label (the SDK's);
    ``inputs`` / ``outputs``: paths hashed (sha256, size) when the block starts / stops, a
    missing one recorded as missing. ``defer_files``: write the trace and the run files
    just after the block, on the evidence store's background thread
    (:mod:`vl_jupyter.evidence._deferred`; the record itself is always written inside
    the block) -- ``%%vl_monitor`` does, whose next cell waits for them; code that reads
    ``trace_latest.json`` right after the block must leave it False. After the block, ``.result`` is a
    :class:`Telemetry`. Invalid options raise TelemetryError (a ValueError) here, before anything runs.

    The block's run folder ``runs/<run_id>/`` (the evidence session id) is created when it
    starts and ``runs/latest`` points at it; when it stops, ``trace_<name>.json`` (with
    the code that ran) is written there and the run writers registered with
    :func:`vl_jupyter.evidence.register_run_writer` are called.
    """

    def __init__(
        self,
        name: str | None = None,
        *,
        country: str | None = None,
        carbon_intensity: float | None = None,
        pue: float | None = None,
        interval: float = 0.1,
        quiet: bool = True,
        evidence_dir: str | Path | None = None,
        sample: bool = True,
        gpu: bool = True,
        source: str | None = None,
        label: str | None = None,
        inputs: Any = None,
        outputs: Any = None,
        defer_files: bool = False,
    ) -> None:
        _settings.resolve_carbon(country, carbon_intensity)  # fail now on a bad code
        if pue is not None:
            _settings.check_pue(pue)
        if not interval > 0:
            raise TelemetryError(f"sampling interval must be positive, got {interval!r}")
        self.name, self.label, self.source = name, label, source
        self.country, self.carbon_intensity, self.pue = country, carbon_intensity, pue
        self.interval, self.quiet, self.evidence_dir = float(interval), quiet, evidence_dir
        self.sample, self.gpu, self.defer_files = sample, gpu, defer_files
        self.inputs = _artifacts.check_paths(inputs, "inputs")
        self.outputs = _artifacts.check_paths(outputs, "outputs")
        self.result: Telemetry | None = None
        self._runs: list[_Run] = []

    def __enter__(self) -> monitor:
        frame = sys._getframe(1)
        file, line = frame.f_code.co_filename, frame.f_lineno
        where: dict[str, Any] = {"file": file, "line": line}
        if _code.is_internal(file):  # %%vl_monitor: the code is the cell
            where["magic"] = True
        fallback = f"{Path(file).stem}_L{line}"
        run = _Run(self, self.name or _context.default_name(fallback), where)
        self._runs.append(run)
        run.start()
        return self

    def __exit__(self, exc_type: Any, exc: BaseException | None, tb: Any) -> Literal[False]:
        self.result = self._runs.pop().finish(exc)
        return False  # never swallow the block's exception

    def __call__(self, func: F) -> F:
        """Use as a decorator: every call of ``func`` is one monitored block."""
        code = func.__code__
        where = {"file": code.co_filename, "line": code.co_firstlineno}
        where["function"] = func.__qualname__

        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            run = _Run(self, self.name or func.__qualname__, where)
            self._runs.append(run)
            run.start()
            try:
                value = func(*args, **kwargs)
            except BaseException as exc:
                self.result = self._runs.pop().finish(exc)
                raise
            self.result = self._runs.pop().finish(None)
            return value

        wrapper.monitor = self  # type: ignore[attr-defined]
        return wrapper  # type: ignore[return-value]


def tracecollector(name: str, *, evidence_dir: str | Path | None = None) -> monitor:
    """The Venturalítica SDK's ``with vl.tracecollector("audit"):`` grouping block.

    Groups the ``enforce()`` calls inside into one evidence session and writes the same
    ``trace_<name>.json`` and ``telemetry`` record as :func:`monitor`, from the counters
    only: no sampler thread, hence no child-process or GPU figures (``sampling.enabled``
    is false and ``gpu_status`` says so). Timing, CPU and peak memory are still exact.
    """
    return monitor(name, evidence_dir=evidence_dir, sample=False, gpu=False, label="trace")


class _Run:
    """One execution of a monitored block (a decorator may run many, even nested)."""

    def __init__(self, owner: monitor, name: str, where: dict[str, Any]) -> None:
        self.owner, self.name, self.where = owner, name, where

    def start(self) -> None:
        owner = self.owner
        self.carbon = _settings.resolve_carbon(owner.country, owner.carbon_intensity)
        self.pue = _settings.resolve_pue(owner.pue)
        self.stack = ExitStack()
        # a nested block joins the outer run: only the block that opened the run points
        # runs/latest at it and calls the run writers when it closes
        self.owns_run = evidence.current_session() is None
        self.session = self.stack.enter_context(evidence.session())
        # decided once for the block: its folder and its files are both deferred or not
        self.defer_files = owner.defer_files and evidence.deferred_writer().enabled()
        self.run_folder: Path | None = None
        self.index_offset: int | None = None
        # one store for the whole block: the record goes where its run folder is, even
        # if the cell changes the working directory (the default store is ./.venturalitica)
        self.store: evidence.EvidenceStore | None = None
        try:
            self.store = store = evidence.EvidenceStore(owner.evidence_dir)
            if self.owns_run and self.defer_files:
                # created (and checked) with the other run files after the block: a file
                # written into it meanwhile creates it; evidence.latest_run drains first
                self.run_folder = store.root / "runs" / self.session
                opening = functools.partial(evidence.open_run, store, self.session)
                evidence.deferred_writer().submit(f"the run folder of {self.name!r}", opening)
            else:
                self.run_folder = evidence.open_run(store, self.session)
            # where the run's records start in the index: the run writers read from here
            # instead of scanning the whole store (O(store) per monitored cell)
            self.index_offset = _index_size(store) if self.owns_run else None
        except (EvidenceError, OSError) as err:  # the block runs even if the folder cannot
            warnings.warn(f"run folder not created: {err}", VLWarning, stacklevel=4)
        self.inputs = _artifacts.fingerprints(owner.inputs)
        # with the kernel's high-water mark the sampler need not sample our own RSS
        own_rss = not _counters.hwm_works()
        self.sampler = (
            Sampler(owner.interval, gpu=owner.gpu, own_rss=own_rss) if owner.sample else None
        )
        if self.sampler is not None:
            self.sampler.start()
        self.counters = Counters()
        self.counters.start()

    def finish(self, exc: BaseException | None) -> Telemetry | None:
        result: Telemetry | None = None
        try:
            figures = self.counters.stop()
            if self.sampler is not None:
                self.sampler.stop()
                if figures["peak_rss_method"] == "sampled":
                    peak = max(figures["peak_rss_bytes"], self.sampler.own_peak)
                    figures["peak_rss_bytes"] = peak
                    figures["peak_delta_bytes"] = peak - figures["rss_start_bytes"]
            result = self._record(figures, exc)
        except Exception as err:  # a telemetry bug must never break the user's code
            warnings.warn(f"telemetry failed: {type(err).__name__}: {err}", VLWarning, stacklevel=3)
        finally:
            self.stack.close()
        if result is not None and not self.owner.quiet:
            show(result)
        return result

    def _record(self, figures: dict[str, Any], exc: BaseException | None) -> Telemetry:
        owner, sampler = self.owner, self.sampler
        notebook, count = _context.notebook_path(), _context.execution_count()
        code_context, source = _code.describe(self.where, owner.source, notebook, count)
        code = {
            **{k: v for k, v in self.where.items() if k != "magic"},
            "file": code_context["file"],
            "source_sha256": _context.source_hash(source),
            "notebook": notebook,
            "execution_count": count,
            "kind": code_context["kind"],
            "line_start": code_context.get("line_start"),
            "line_end": code_context.get("line_end"),
        }
        outputs = _artifacts.fingerprints(owner.outputs)
        data = build_data(
            name=self.name,
            label=owner.label,
            exc=exc,
            figures=figures,
            sampler=sampler,
            interval=owner.interval,
            carbon=self.carbon,
            pue=self.pue,
            code=code,
            estimate=_energy.estimate,
        )
        data["artifacts"] = {"inputs": self.inputs, "outputs": outputs}
        result = Telemetry(data, session=self.session)
        try:
            store = self.store or evidence.EvidenceStore(owner.evidence_dir)
            keys = ("name", "success", "wall_s", "peak_rss_bytes", "energy_kwh", "co2e_g")
            summary = {k: data[k] for k in keys}
            # which notebook and cell: the sidebar's heading and its jump to the cell
            summary.update(record_origin())
            # the record first, always inside the block: it is the evidence; the files
            # below are derived from it
            record = store.append("telemetry", data, session=self.session, summary=summary)
            result.evidence_id = record.id
            filename = f"trace_{safe_name(self.name)}.json"
            result.trace_path = store.side_file(filename)
        except (EvidenceError, OSError, TypeError) as err:  # measuring must not break the cell
            result.recording_error = f"{type(err).__name__}: {err}"
            warnings.warn(f"telemetry was not recorded: {err}", VLWarning, stacklevel=4)
            return result

        def write_files(report: Callable[[str], None] | None = None) -> None:
            try:
                trace = trace_document(data, record.id, self.session, source)
                trace["code_context"].update(code_context)
                trace["artifacts"] = data["artifacts"]
                # trace_latest.json: the SDK tutorials read it
                copies = (f"runs/{self.session}/{filename}", "trace_latest.json")
                store.write_json(filename, trace, copies=copies)
                self._close(store, data, record.id, report)
            except (EvidenceError, OSError, TypeError) as err:
                result.recording_error = f"{type(err).__name__}: {err}"
                raise

        if self.defer_files:
            deferred = evidence.deferred_writer()
            files = functools.partial(write_files, deferred.report)
            deferred.submit(f"the trace and run files of {self.name!r}", files)
            return result
        try:
            write_files()
        except (EvidenceError, OSError, TypeError) as err:
            warnings.warn(f"trace {filename} was not written: {err}", VLWarning, stacklevel=4)
        return result

    def _close(
        self,
        store: evidence.EvidenceStore,
        data: dict[str, Any],
        record_id: str,
        report: Callable[[str], None] | None = None,
    ) -> None:
        """Call the registered run writers (bom.json, OSCAL files, ...) for this run;
        ``report`` takes their failures (None: each is a warning)."""
        folder = store.root / "runs" / self.session
        if not evidence.has_run_writers() or not self.owns_run or self.run_folder is None:
            return  # (reading the run's results costs time only when someone wants them)
        if not folder.is_dir():
            return
        context = {
            "run_id": self.session,
            "name": self.name,
            "store": store.root,
            "telemetry": data,
            "telemetry_id": record_id,
            "results": store.read_json(f"runs/{self.session}/results.json", default=[]),
            "inputs": data["artifacts"]["inputs"],
            "outputs": data["artifacts"]["outputs"],
            "index_offset": self.index_offset,
        }
        evidence.close_run(folder, context, report)


def _index_size(store: evidence.EvidenceStore) -> int:
    """The index's size in bytes (0 before the first record)."""
    try:
        return store.index_path.stat().st_size
    except OSError:
        return 0


def show(result: Telemetry) -> None:
    """Display the one-line summary: rich HTML in IPython, a plain line elsewhere."""
    if _context._shell() is not None:
        from IPython.display import display

        display(result)
    else:
        print(result.summary_line())
