"""The tracker registry: what the sync engine needs from a tracker, and where each is found.

Every place that names trackers (the sync engine, :func:`vl_jupyter.trackers.targets`,
``verify --against``, the CLI's ``--to``, ``%vl_sync``, the server's target and settings
checks, the tracker settings resolution) reads this registry, so a tracker is one module
implementing :class:`Tracker` plus one :func:`register_tracker` call (docs/trackers.md,
"How to add a tracker"). MLflow and W&B are registered by ``vl_jupyter.trackers`` itself.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from ..errors import UnknownTargetError

if TYPE_CHECKING:  # names only: the registry imports no tracker client
    from ..evidence import EvidenceRecord, EvidenceStore
    from ._anchor import AnchorCheck
    from ._bundle import Bundle
    from ._ledger import Ledger
    from ._result import TargetInfo
    from ._target import Group


@runtime_checkable
class Tracker(Protocol):
    """One sync into one tracker (made per sync by the registered factory).

    The engine calls, in order: ``env()`` (a context for the whole sync: quiet loggers,
    short timeouts), ``prepare()`` (connect; raise ``Unavailable`` or any exception when
    the tracker cannot be used), ``intent_run`` and ``close_run`` for what a killed sync
    left, ``group()`` (which records go to which run), ``log()`` per group, and
    ``messages()`` at the end. ``location`` is what the ledger stores and the user sees
    (never a password).
    """

    name: str
    location: str

    def env(self) -> AbstractContextManager[None]: ...

    def prepare(self) -> None: ...

    def group(self, records: list[EvidenceRecord], ledger: Ledger, force: bool) -> list[Group]: ...

    def log(
        self, group: Group, bundle: Bundle, on_created: Callable[[str], None]
    ) -> tuple[str, str]:
        """Log ``bundle`` into ``group.run_id`` (None: a new run, announced to
        ``on_created`` as soon as it exists); return ``(run_id, url)``."""
        ...

    def intent_run(self, intent: str, run_id: str | None) -> str | None:
        """The run holding intent ``intent`` completely logged, or None (cannot tell:
        the records are logged again)."""
        ...

    def run_url(self, run_id: str) -> str: ...

    def close_run(self, run_id: str) -> None: ...

    def messages(self) -> list[str]: ...


@dataclass(frozen=True)
class TrackerSpec:
    """A registered tracker (see :func:`register_tracker` for the fields)."""

    name: str
    factory: Callable[[dict[str, Any], Any], Tracker]
    info: Callable[[dict[str, Any]], TargetInfo]
    settings: Mapping[str, str | None]
    defaults: Callable[[Path, str, Mapping[str, str]], dict[str, Any]]
    label: str
    request_settings: tuple[str, ...] = ()
    anchors: Callable[[EvidenceStore, dict[str, Any]], AnchorCheck] | None = None
    owns_run: Callable[[Any], bool] = field(default=lambda run: False)
    endpoint_key: str | None = None
    validate: Callable[[dict[str, Any], Path], None] | None = None


_REGISTRY: dict[str, TrackerSpec] = {}


def register_tracker(
    name: str,
    factory: Callable[[dict[str, Any], Any], Tracker],
    *,
    info: Callable[[dict[str, Any]], TargetInfo],
    settings: Mapping[str, str | None],
    defaults: Callable[[Path, str, Mapping[str, str]], dict[str, Any]],
    label: str | None = None,
    request_settings: Iterable[str] | None = None,
    anchors: Callable[[EvidenceStore, dict[str, Any]], AnchorCheck] | None = None,
    owns_run: Callable[[Any], bool] | None = None,
    endpoint_key: str | None = None,
    validate: Callable[[dict[str, Any], Path], None] | None = None,
) -> TrackerSpec:
    """Make tracker ``name`` a sync target everywhere (engine, CLI, magic, server).

    ``factory(settings, run)`` makes a :class:`Tracker` for one sync (``run`` is the
    user's run when ``owns_run(run)`` says it is one of this tracker's, else None).
    ``info(settings)`` says where the tracker is and whether it answers, fast and without
    importing its client. ``settings`` maps each setting key (``<name>_...``) to the
    environment variable that sets it (or None); ``defaults(project_folder, name,
    environment)`` gives every key's default (``name`` is the notebook's stem).
    ``request_settings``: the keys a web request may set (default all but none that name
    a local folder: choose them explicitly). ``anchors(store, settings)`` reads back the
    head hashes for ``verify --against``. ``endpoint_key``: the setting naming where the
    tracker is, for which credentials are withheld when a request chose it.
    ``validate(resolved, project_folder)`` checks (raising
    :class:`~vl_jupyter.errors.TrackerSettingsError`) and normalises the resolved
    settings in place.
    """
    key = name.strip().lower()
    if not key.isidentifier() or key != name:
        raise ValueError(f"a tracker name is a lower-case identifier, got {name!r}")
    keys = dict(settings)
    foreign = [k for k in keys if not k.startswith(key + "_")]
    if foreign:
        raise ValueError(f"tracker {name!r}: setting keys must start with '{key}_': {foreign}")
    spec = TrackerSpec(
        name=key,
        factory=factory,
        info=info,
        settings=keys,
        defaults=defaults,
        label=label or name,
        request_settings=tuple(request_settings if request_settings is not None else ()),
        anchors=anchors,
        owns_run=owns_run or (lambda run: False),
        endpoint_key=endpoint_key,
        validate=validate,
    )
    _REGISTRY[key] = spec
    return spec


def unregister_tracker(name: str) -> None:
    """Remove tracker ``name`` (for tests and plugins that registered one)."""
    _REGISTRY.pop(name, None)


def tracker_names() -> tuple[str, ...]:
    """The registered trackers, in registration order (``mlflow``, ``wandb`` first)."""
    return tuple(_REGISTRY)


def tracker_spec(name: str) -> TrackerSpec:
    """The registration of ``name``; :class:`UnknownTargetError` naming the registered
    ones otherwise."""
    try:
        return _REGISTRY[name]
    except KeyError:
        raise UnknownTargetError(
            f"unknown tracker {name!r}: use {' or '.join(_REGISTRY)}", target=str(name)
        ) from None


def specs() -> Iterator[TrackerSpec]:
    return iter(tuple(_REGISTRY.values()))


def setting_keys() -> tuple[str, ...]:
    """Every registered tracker's setting keys."""
    return tuple(k for s in _REGISTRY.values() for k in s.settings)


def request_setting_keys() -> tuple[str, ...]:
    """The setting keys a web request (the sidebar) may set."""
    return tuple(k for s in _REGISTRY.values() for k in s.request_settings)


def targets_hint() -> str:
    """``mlflow, wandb or mlflow,wandb``: how a target list is written."""
    names = list(_REGISTRY)
    if len(names) == 1:
        return names[0]
    return f"{', '.join(names)} or {','.join(names[:2])}"


def parse_targets(target: str | Iterable[str]) -> list[str]:
    """``"mlflow,wandb"`` (or a list) -> registered names, in order, once each."""
    names = target.split(",") if isinstance(target, str) else list(target)
    names = [n.strip().lower() for n in names if n and n.strip()]
    unknown = [n for n in names if n not in _REGISTRY]
    if unknown or not names:
        raise UnknownTargetError(
            f"unknown sync target {', '.join(unknown) or repr(target)}; use {targets_hint()}",
            target=",".join(unknown) or str(target),
        )
    return list(dict.fromkeys(names))
