"""``%%vl_monitor`` and ``%vl_monitor_config``: thin IPython magics over ``monitor()``.

The cell body runs the way IPython's own ``%%time`` runs it: compiled, every statement
but the last executed, the last expression evaluated and returned. So the last value is
displayed as usual (a trailing ``;`` still hides it), an exception propagates once (one
traceback; nbclient, papermill and Run-All stop), and the telemetry is recorded first.
"""

from __future__ import annotations

import ast
from typing import Any

from IPython.core.displayhook import DisplayHook
from IPython.core.error import UsageError
from IPython.core.magic import Magics, cell_magic, line_magic, magics_class
from IPython.core.magic_arguments import argument, magic_arguments

from .. import evidence
from ..telemetry import configure, monitor
from ._shared_magic import HelpAction, parse_line


def drain_run_files(*_info: Any) -> None:
    """``pre_run_cell`` hook: a monitored cell's trace and run files are written on a
    background thread after it; every cell waits for them first, so it reads them as if
    they had been written inside the monitored cell (and a failure is warned here)."""
    evidence.drain_run_files()


def release_run_files(*_result: Any) -> None:
    """``post_run_cell`` hook: the monitored cell is over, start writing its files."""
    evidence.deferred_writer().release()


_HOOKS = (("pre_run_cell", drain_run_files), ("post_run_cell", release_run_files))


def remove_hooks(shell: Any) -> None:
    """Unregister what :class:`MonitorMagics` registered (``%unload_ext``)."""
    for event, hook in _HOOKS:
        if hook in shell.events.callbacks[event]:
            shell.events.unregister(event, hook)


@magics_class
class MonitorMagics(Magics):
    """The telemetry magics; registered by ``%load_ext vl_jupyter``.

    Registering them also registers :func:`drain_run_files` on the shell's
    ``pre_run_cell`` event and :func:`release_run_files` on ``post_run_cell``: the magic
    defers its files only because those hooks exist.
    """

    def __init__(self, shell: Any = None, **kwargs: Any) -> None:
        super().__init__(shell, **kwargs)
        events = getattr(shell, "events", None)
        for event, hook in _HOOKS:
            if events is not None and hook not in events.callbacks[event]:
                events.register(event, hook)

    @magic_arguments()
    @argument("-h", "--help", action=HelpAction, help="show this help and return")
    @argument("name", nargs="?", default=None, help="record name (default: notebook_cellN)")
    @argument("--country", help="ISO 3166-1 alpha-3 code of the electricity grid, e.g. DEU")
    @argument("--carbon-intensity", type=float, help="grid carbon intensity in g CO2e/kWh")
    @argument("--pue", type=float, help="data-centre power usage effectiveness (>= 1.0)")
    @argument("--interval", type=float, default=0.1, help="sampler period in seconds")
    @argument("--quiet", "-q", action="store_true", help="record without displaying")
    @cell_magic
    def vl_monitor(self, line: str, cell: str) -> Any:
        """Run the cell and record its time, CPU, memory, GPU, energy and CO2e as evidence.

        One ``telemetry`` record is appended to the evidence store (``$VL_EVIDENCE_DIR``
        or ``./.venturalitica``) and ``trace_<name>.json`` is written; a one-line summary
        is shown under the cell unless ``--quiet``. The cell behaves as without the magic.

        Examples::

            %%vl_monitor train_v1 --country DEU
            model.fit(X_train, y_train)

            %%vl_monitor --carbon-intensity 120 --pue 1.3 -q
            grid.fit(X, y)
        """
        __tracebackhide__ = True
        parsed = parse_line(self.vl_monitor, line)
        if parsed is None:  # --help was shown
            return None
        args = parsed.args
        try:
            mon = monitor(
                args.name,
                country=args.country,
                carbon_intensity=args.carbon_intensity,
                pue=args.pue,
                interval=args.interval,
                quiet=args.quiet,
                source=cell,
                defer_files=True,  # drain_run_files runs before the next cell
            )
        except ValueError as exc:
            raise UsageError(str(exc)) from None
        body, last, hide = self._compile(cell)
        assert self.shell is not None  # registered magics always run in a shell
        glob = self.shell.user_ns
        evidence.deferred_writer().hold()  # until release_run_files, after the cell
        with mon:
            exec(body, glob)
            value = eval(last, glob) if last is not None else None
        return None if hide or parsed.hidden else value

    def _compile(self, cell: str) -> tuple[Any, Any, bool]:
        """Code for all but the last statement, for the last expression, and whether a
        trailing ``;`` hides the value (IPython only looks at the magic line itself)."""
        shell = self.shell
        assert shell is not None  # registered magics always run in a shell
        source = shell.transform_cell(cell)
        tree = shell.transform_ast(shell.compile.ast_parse(source))
        filename = shell.compile.cache(source, shell.execution_count, raw_code=cell)
        last = None
        if tree.body and isinstance(tree.body[-1], ast.Expr):
            # CachingCompiler.__call__ is typed for source text; like compile() it takes an
            # AST too (IPython's own run_ast_nodes passes one)
            expression = ast.Expression(tree.body.pop().value)
            last = shell.compile(expression, filename, "eval")  # type: ignore[arg-type]
        module = ast.Module(tree.body, type_ignores=[])
        body = shell.compile(module, filename, "exec")  # type: ignore[arg-type]
        try:
            hide = DisplayHook.semicolon_at_end_of_expression(source)
        except (SyntaxError, ValueError):  # tokenize errors on odd input: show the value
            hide = False
        return body, last, hide

    @magic_arguments()
    @argument("-h", "--help", action=HelpAction, help="show this help and return")
    @argument("--country", help="ISO 3166-1 alpha-3 code for every later monitored cell")
    @argument("--carbon-intensity", type=float, help="g CO2e/kWh for every later cell")
    @argument("--pue", type=float, help="PUE for every later monitored cell")
    @argument("--reset", action="store_true", help="forget earlier settings first")
    @line_magic
    def vl_monitor_config(self, line: str) -> None:
        """Set session-wide telemetry defaults (like ``vl_jupyter.telemetry.configure``).

        Example::

            %vl_monitor_config --country FRA --pue 1.2
        """
        parsed = parse_line(self.vl_monitor_config, line)
        if parsed is None:  # --help was shown
            return None
        args = parsed.args
        try:
            settings = configure(
                country=args.country,
                carbon_intensity=args.carbon_intensity,
                pue=args.pue,
                reset=args.reset,
            )
        except ValueError as exc:
            raise UsageError(str(exc)) from None
        print("vl_monitor settings:", settings or "none (world average, PUE 1.0)")
