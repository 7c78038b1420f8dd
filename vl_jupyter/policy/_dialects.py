"""Finding the controls in every policy shape users bring (see docs/policy-format.md).

Each shape hides the same thing, a list of controls, in a different place. A *reader*
knows one shape: a ``detect`` predicate on the parsed data and a ``read`` function that
locates the controls and reports the policy's title and version. Readers are registered
in :data:`READERS` (first match wins), so supporting a new dialect is one reader and its
test, never another branch of an if-ladder. Reading a control's fields is
:mod:`._normalise`'s job. A control found here is never dropped later: if it cannot be
understood it loads carrying its problem (the SDK's silent drop is the trap).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from ..errors import PolicyError, close_matches
from ..errors import did_you_mean as _did_you_mean
from ._yaml import LIMITS, line_of

OSCAL_ROOTS = (
    "assessment-plan",
    "component-definition",
    "system-security-plan",
    "catalog",
    "profile",
)
#: Keys that only our native format uses; any of them makes a `{controls: ...}` file native.
NATIVE_MARKERS = ("vl-policy", "defaults")
NATIVE_CONTROL_KEYS = ("inputs", "params", "phases")
METRIC_PROPS = ("metric_key", "metric")
NATIVE_ROOT_KEYS = ("vl-policy", "title", "version", "description", "defaults", "controls")
DEFAULT_KEYS = ("severity", "mode", "enforcement_mode", "phases", "inputs", "params")


@dataclass
class Found:
    """One control as written: the mapping, where it is, and its props in layers.

    ``layers`` are lists of ``{name, value}`` props read in order, a later layer overriding
    an earlier one (an inventory item's props, then the requirement's own). ``style`` is
    ``props`` (OSCAL-like), ``flat`` (editor shape, bare list) or ``native``.
    """

    node: Mapping[str, Any]
    style: str
    where: str
    layers: list[list[Any]] = field(default_factory=list)
    cid: Any = None  # an id given from outside the node (a profile's with-ids)
    line: int | None = None
    description: str | None = None  # lent by another entry of the same control (_join)
    #: why the control cannot be evaluated, found while locating it (a dangling link)
    problems: list[PolicyError] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # warnings found while locating it

    def __post_init__(self) -> None:
        if self.line is None:
            self.line = line_of(self.node)
        if self.cid is None:
            self.cid = control_id_of(self.node)


@dataclass
class Located:
    dialect: str
    title: str
    version: str
    controls: list[Found]
    defaults: Mapping[str, Any] | None = None
    hint: str = ""  # where controls were expected, for the "no controls" error


def control_id_of(node: Mapping[str, Any]) -> Any:
    for key in ("control-id", "id", "uuid"):
        if node.get(key) not in (None, ""):
            return node[key]
    return None


def has_metric(props: Any) -> bool:
    return isinstance(props, list) and any(
        isinstance(p, Mapping) and p.get("name") in METRIC_PROPS for p in props
    )


@dataclass(frozen=True)
class Reader:
    """One policy dialect: how to recognise it and where its controls are."""

    name: str  # the Policy.dialect of what it reads
    detect: Callable[[Any], bool]
    read: Callable[[Any, str, str], Located]
    shape: str  # the shape in a few words, for the "unrecognised shape" error


#: Every dialect reader, in detection order (the first whose ``detect`` is true reads).
READERS: list[Reader] = []


def reader(name: str, shape: str, detect: Callable[[Any], bool]):
    """Register the decorated ``read(data, file, stem) -> Located`` as dialect ``name``."""

    def register(read: Callable[[Any, str, str], Located]) -> Callable[[Any, str, str], Located]:
        if any(r.name == name for r in READERS):
            raise ValueError(f"dialect {name!r} is registered twice")
        READERS.append(Reader(name, detect, read, shape))
        return read

    return register


def dialect_names() -> tuple[str, ...]:
    return tuple(r.name for r in READERS)


def find_controls(data: Any, file: str, stem: str) -> Located:
    """Detect the dialect of parsed policy ``data`` and locate its controls."""
    if data is None or data == {} or data == []:
        raise PolicyError("the policy is empty: no controls found", file=file, hint=_expected())
    if not isinstance(data, (Mapping, list)):
        raise PolicyError(
            f"a policy is a mapping or a list, not {type(data).__name__}",
            file=file,
            line=line_of(data),
            hint=_expected(),
        )
    if isinstance(data, Mapping):
        roots = [k for k in OSCAL_ROOTS if k in data]
        if len(roots) > 1:
            raise PolicyError(
                f"one policy per file: found roots {', '.join(roots)}",
                file=file,
                line=line_of(data, roots[1]),
            )
    for r in READERS:
        if r.detect(data):
            located = r.read(data, file, stem)
            if len(located.controls) > LIMITS.max_controls:
                raise PolicyError(
                    f"the policy has {len(located.controls):,} controls, more than the "
                    f"{LIMITS.max_controls:,} a policy may have",
                    file=file,
                    hint="split it into several policies",
                )
            return located
    keys = ", ".join(f"{k!s:.40}" for k in list(data)[:10]) or "none"
    close = [m for k in list(data)[:50] for m in close_matches(k, [*OSCAL_ROOTS, "controls"], n=1)]
    hint = _did_you_mean(close) + " " if close else ""
    raise PolicyError(
        f"unrecognised policy shape (top-level keys: {keys})",
        file=file,
        line=line_of(data, next(iter(data))),
        hint=hint + _expected(),
    )


def _expected() -> str:
    shapes = ", ".join(r.shape for r in READERS)
    return f"recognised shapes: {shapes}; see docs/policy-format.md"


def _mapping(obj: Any, parent: Any, key: Any, file: str, where: str) -> Mapping[str, Any]:
    if not isinstance(obj, Mapping):
        raise PolicyError(
            f"{where} should be a mapping, found {type(obj).__name__}: {obj!r:.60}",
            file=file,
            line=line_of(parent, key),
            hint="write each control as `key: value` pairs",
        )
    return obj


def _items(node: Any, key: str, file: str, where: str) -> Iterator[tuple[Mapping[str, Any], str]]:
    """The mappings listed under ``node[key]``, each with a path for messages."""
    if not isinstance(node, Mapping) or node.get(key) is None:
        return
    value = node[key]
    if not isinstance(value, list):
        raise PolicyError(
            f"`{key}` should be a list",
            file=file,
            line=line_of(node, key),
            hint=f"write `{key}:` followed by `- ` items",
        )
    for i, item in enumerate(value):
        path = f"{where}{key}[{i}]"
        yield _mapping(item, value, i, file, path), path


def _requirements(node: Any, file: str, where: str) -> list[Found]:
    """``control-implementations[].implemented-requirements[]`` under ``node`` (and the
    singular ``control-implementation`` of a system security plan)."""
    found: list[Found] = []
    for impl, w in _items(node, "control-implementations", file, where):
        found += _implemented(impl, file, w + ".")
    single = node.get("control-implementation") if isinstance(node, Mapping) else None
    if single is not None:
        if not isinstance(single, Mapping):
            raise PolicyError(
                "`control-implementation` should be a mapping",
                file=file,
                line=line_of(node, "control-implementation"),
                hint="write control-implementation: {implemented-requirements: [...]}",
            )
        found += _implemented(single, file, where + "control-implementation.")
    return found


def _implemented(node: Any, file: str, where: str, parent: Any = None) -> list[Found]:
    """``implemented-requirements[]``, and the requirements nested inside a requirement
    (the SDK's enhanced catalogs group several checks of one control that way). A nested
    requirement without a ``control-id`` of its own belongs to its parent's control, so
    :func:`_join` reports it as ``<parent id>/<its uuid>``."""
    found: list[Found] = []
    for req, path in _items(node, "implemented-requirements", file, where):
        own = next((req[k] for k in ("control-id", "id") if req.get(k) not in (None, "")), None)
        cid = own if own is not None else parent
        found.append(Found(req, "props", path, cid=cid))
        found += _implemented(req, file, path + ".", cid if cid is not None else parent)
    return found


def _oscal_root(root: str) -> Callable[[Any], bool]:
    return lambda data: isinstance(data, Mapping) and root in data


def _oscal(root: str, data: Mapping[str, Any], file: str, stem: str, locate, hint: str) -> Located:
    """The common frame of the OSCAL-like dialects: metadata, props, inventory links and
    the join of entries that describe the same control."""
    body = data[root]
    if not isinstance(body, Mapping):
        raise PolicyError(f"`{root}` should be a mapping", file=file, line=line_of(data, root))
    given = body.get("metadata")
    meta: Mapping[str, Any] = given if isinstance(given, Mapping) else {}
    title = str(meta.get("title") or body.get("title") or data.get("title") or stem)
    version = str(
        meta.get("version") or body.get("version") or data.get("version") or "unversioned"
    )
    found = _with_props(locate(body, file))
    _attach_inventory(found, data, file)
    return Located(root, title, version, _join(found), hint=hint)


@reader(
    "assessment-plan",
    "assessment-plan",
    _oscal_root("assessment-plan"),
)
def _assessment_plan(data: Any, file: str, stem: str) -> Located:
    def locate(body: Mapping[str, Any], file: str) -> list[Found]:
        found = _requirements(body, file, "")
        reviewed = body.get("reviewed-controls")
        # the SDK's tutorial and scenario files nest the implementations in reviewed-controls
        found += _requirements(reviewed, file, "reviewed-controls.")
        for sel, w in _items(reviewed, "control-selections", file, "reviewed-controls."):
            found += [
                Found(c, "props", p) for c, p in _items(sel, "include-controls", file, w + ".")
            ]
        return found

    return _oscal(
        "assessment-plan",
        data,
        file,
        stem,
        locate,
        "control-implementations[].implemented-requirements[], reviewed-controls."
        "control-implementations[].implemented-requirements[] or reviewed-controls."
        "control-selections[].include-controls[]",
    )


@reader(
    "component-definition",
    "component-definition",
    _oscal_root("component-definition"),
)
def _component_definition(data: Any, file: str, stem: str) -> Located:
    def locate(body: Mapping[str, Any], file: str) -> list[Found]:
        found: list[Found] = []
        for comp, w in _items(body, "components", file, ""):
            found += _requirements(comp, file, w + ".")
        return found

    return _oscal(
        "component-definition",
        data,
        file,
        stem,
        locate,
        "components[].control-implementations[].implemented-requirements[]",
    )


@reader(
    "system-security-plan",
    "system-security-plan",
    _oscal_root("system-security-plan"),
)
def _system_security_plan(data: Any, file: str, stem: str) -> Located:
    return _oscal(
        "system-security-plan",
        data,
        file,
        stem,
        lambda body, file: _requirements(body, file, ""),
        "control-implementation.implemented-requirements[]",
    )


@reader("catalog", "catalog", _oscal_root("catalog"))
def _catalog_reader(data: Any, file: str, stem: str) -> Located:
    def locate(body: Mapping[str, Any], file: str) -> list[Found]:
        # "hybrid" catalogs: controls[] as headings, the metric props on inventory items
        # that catalog.control-implementations[] link to; _join merges them by id
        return [*_catalog(body, file, ""), *_requirements(body, file, "")]

    return _oscal(
        "catalog",
        data,
        file,
        stem,
        locate,
        "controls[], groups[].controls[] or control-implementations[].implemented-requirements[]",
    )


@reader("profile", "profile", _oscal_root("profile"))
def _profile_reader(data: Any, file: str, stem: str) -> Located:
    return _oscal(
        "profile",
        data,
        file,
        stem,
        _profile,
        "modify.alters[] (with adds[].props), modify.controls[] or imports[].include-controls[]",
    )


def _with_props(found: list[Found]) -> list[Found]:
    for f in found:
        if not f.layers and isinstance(f.node.get("props"), list):
            f.layers = [f.node["props"]]
    return found


def _join(found: list[Found]) -> list[Found]:
    """Merge the entries that describe one control: a file may list a control as a heading
    or a bare selection (``include-controls: [{control-id: x}]``, a catalog control with a
    title only, a requirement that only groups nested ones) and give its metric elsewhere
    (an implemented requirement, an inventory item). The entries that name a metric are
    the controls; the others lend them a description and are no controls themselves.

    Several entries of one id that each name a metric (the SDK's enhanced catalogs give
    control ``B.1`` four checks) are all kept, each under the id ``<id>/<its uuid>`` (or
    ``<id>#<n>``), with a note; dropping any of them would be the SDK's silent drop.
    """
    by_id: dict[str, list[Found]] = {}
    for f in found:
        if f.cid is not None:
            by_id.setdefault(str(f.cid), []).append(f)
    out: list[Found] = []
    for f in found:
        group = by_id.get(str(f.cid)) if f.cid is not None else None
        if not group or len(group) == 1:
            out.append(f)
            continue
        with_metric = [g for g in group if any(has_metric(layer) for layer in g.layers)]
        keep = with_metric or [group[0]]
        if f not in keep:
            continue
        if not _text(f.node):
            lender = next((g for g in group if g not in keep and _text(g.node)), None)
            if lender is not None:
                f.description = _text(lender.node)
        if len(keep) > 1:
            n = keep.index(f) + 1
            suffix = str(f.node.get("uuid") or "").strip() or f"#{n}"
            base = str(f.cid)
            f.cid = f"{base}/{suffix}" if not suffix.startswith("#") else base + suffix
            lines = ", ".join(str(g.line) for g in keep)
            f.notes.append(
                f"control id '{base}' names {len(keep)} checks (lines {lines}); this one is "
                f"reported as '{f.cid}'"
            )
        out.append(f)
    return out


def _text(node: Mapping[str, Any]) -> str:
    return str(node.get("description") or node.get("title") or "").strip()


def _catalog(node: Mapping[str, Any], file: str, where: str) -> Iterator[Found]:
    for control, path in _items(node, "controls", file, where):
        ours = [
            p
            for p in control.get("props") or []
            if isinstance(p, Mapping) and _is_ours(p.get("name"))
        ]
        if ours or not control.get("controls"):  # a control holding only sub-controls is a heading
            yield Found(control, "props", path)
        yield from _catalog(control, file, path + ".")
    for group, path in _items(node, "groups", file, where):
        yield from _catalog(group, file, path + ".")


def _is_ours(name: Any) -> bool:
    text = str(name)
    return text in (*METRIC_PROPS, "threshold", "operator") or text.startswith(("input.", "input:"))


def _profile(body: Mapping[str, Any], file: str) -> list[Found]:
    """Profiles select controls in ``imports`` and give them props in ``modify``; entries
    for the same id are merged in file order, and a selected id without props stays a
    control (so that loading it fails loudly instead of dropping it)."""
    entries: list[Found] = []
    for imp, w in _items(body, "imports", file, ""):
        for inc, p in _items(imp, "include-controls", file, w + "."):
            ids = inc.get("with-ids") or []
            for i, cid in enumerate(ids if isinstance(ids, list) else [ids]):
                entries.append(Found({}, "props", f"{p}.with-ids[{i}]", [], cid, line_of(ids, i)))
            if control_id_of(inc) is not None:
                entries.append(Found(inc, "props", p))
        entries += [Found(c, "props", p) for c, p in _items(imp, "controls", file, w + ".")]
    modify = body.get("modify")
    entries += [Found(c, "props", p) for c, p in _items(modify, "controls", file, "modify.")]
    for alter, p in _items(modify, "alters", file, "modify."):
        adds = [a.get("props") or [] for a, _ in _items(alter, "adds", file, p + ".")]
        entries.append(Found(alter, "props", p, [alter.get("props") or [], *adds]))
    merged: dict[str, Found] = {}
    for entry in _with_props(entries):
        first = merged.setdefault(str(entry.cid), entry)
        if first is not entry:
            first.layers += entry.layers
            if not first.node.get("description") and entry.node.get("description"):
                first.node = entry.node
    return list(merged.values())


def _attach_inventory(found: list[Found], data: Any, file: str) -> None:
    """Give a requirement without a metric the props of the inventory items it links to."""
    items: dict[str, Mapping[str, Any]] = {}
    uuids: set[str] = set()
    for node, key in _walk(data):
        if key == "inventory-items" and isinstance(node, list):
            items.update(
                {str(i["uuid"]): i for i in node if isinstance(i, Mapping) and "uuid" in i}
            )
        if isinstance(node, Mapping) and "uuid" in node:
            uuids.add(str(node["uuid"]))
    for f in found:
        if any(has_metric(layer) for layer in f.layers):
            continue
        links = f.node.get("links") or []
        linked = []
        for i, link in enumerate(links if isinstance(links, list) else []):
            href = str(link.get("href", "")) if isinstance(link, Mapping) else ""
            if not href.startswith("#"):
                continue
            if href[1:] in items:
                linked.append(items[href[1:]])
            elif href[1:] not in uuids:
                known = ", ".join(sorted(items)[:10]) or "none"
                f.problems.append(
                    PolicyError(
                        f"link {href} points to nothing in this file",
                        file=file,
                        line=line_of(links, i),
                        control_id=str(f.cid) if f.cid is not None else None,
                        hint=f"add an inventory item with uuid {href[1:]} under local-definitions.inventory-items (inventory items here: {known})",
                    )
                )
        if sum(has_metric(i.get("props")) for i in linked) > 1:
            f.problems.append(
                PolicyError(
                    "links to several inventory items that each name a metric",
                    file=file,
                    line=f.line,
                    control_id=str(f.cid),
                    hint="one requirement checks one metric: split it into one requirement per item",
                )
            )
            continue
        f.layers = [i.get("props") or [] for i in linked] + f.layers


def _walk(node: Any, key: Any = None) -> Iterator[tuple[Any, Any]]:
    yield node, key
    if isinstance(node, Mapping):
        for k, v in node.items():
            yield from _walk(v, k)
    elif isinstance(node, list):
        for v in node:
            yield from _walk(v)


def _controls_list(data: Mapping[str, Any], file: str) -> list[tuple[Mapping[str, Any], str]]:
    controls = data.get("controls")
    if controls is None:
        return []  # refused by load_policy as "no controls found"
    if not isinstance(controls, list):
        raise PolicyError(
            "`controls` should be a list",
            file=file,
            line=line_of(data, "controls"),
            hint="write `controls:` followed by `- id: ...` items",
        )
    return [
        (_mapping(c, controls, i, file, f"controls[{i}]"), f"controls[{i}]")
        for i, c in enumerate(controls)
    ]


def _is_native(data: Any) -> bool:
    if not isinstance(data, Mapping):
        return False
    if "vl-policy" in data:  # the marker says so, with or without controls
        return True
    if "controls" not in data:
        return False
    if any(k in data for k in NATIVE_MARKERS):
        return True
    controls = data["controls"]
    return isinstance(controls, list) and any(
        isinstance(c, Mapping) and k in c for c in controls for k in NATIVE_CONTROL_KEYS
    )


@reader("native", "a mapping with `vl-policy: 1` and `controls:`", _is_native)
def _native(data: Any, file: str, stem: str) -> Located:
    nodes = _controls_list(data, file)
    check_native_root(data, file)
    return Located(
        "native",
        str(data.get("title") or stem),
        str(data.get("version") or "unversioned"),
        [Found(c, "native", w) for c, w in nodes],
        data.get("defaults"),
        "controls[]",
    )


@reader(
    "editor",
    "a mapping with `controls:`",
    lambda data: isinstance(data, Mapping) and "controls" in data,
)
def _editor(data: Any, file: str, stem: str) -> Located:
    nodes = _controls_list(data, file)
    return Located(
        "editor",
        str(data.get("title") or stem),
        str(data.get("version") or "unversioned"),
        _with_props([Found(c, "flat", w) for c, w in nodes]),
        None,
        "controls[]",
    )


@reader("list", "a list of controls", lambda data: isinstance(data, list))
def _bare_list(data: Any, file: str, stem: str) -> Located:
    found = [
        Found(_mapping(c, data, i, file, f"item {i + 1}"), "flat", f"item {i + 1}")
        for i, c in enumerate(data)
    ]
    return Located(
        "list", stem, "unversioned", _with_props(found), hint="items of the top-level list"
    )


def did_you_mean(word: Any, vocabulary: tuple[str, ...] | list[str]) -> str:
    close = close_matches(word, vocabulary, n=1)
    known = "known: " + ", ".join(vocabulary)
    return f"{_did_you_mean(close, quote=True)} {known}" if close else known


def check_native_root(data: Mapping[str, Any], file: str) -> None:
    """Our format is strict at the top too: a typo in a root key must not pass silently."""
    for key in data:
        if key not in NATIVE_ROOT_KEYS:
            raise PolicyError(
                f"unknown top-level key '{key}'",
                file=file,
                line=line_of(data, key),
                hint=did_you_mean(key, NATIVE_ROOT_KEYS),
            )
    if "vl-policy" in data and str(data["vl-policy"]).strip() != "1":
        raise PolicyError(
            f"unsupported vl-policy version {data['vl-policy']!r}",
            file=file,
            line=line_of(data, "vl-policy"),
            hint="this vl_jupyter reads `vl-policy: 1`; upgrade vl_jupyter for newer files",
        )
    defaults = data.get("defaults")
    if defaults is not None and not isinstance(defaults, Mapping):
        raise PolicyError(
            "`defaults` should be a mapping",
            file=file,
            line=line_of(data, "defaults"),
            hint="e.g. defaults: {mode: warn}",
        )
    for key in defaults or {}:
        if key not in DEFAULT_KEYS:
            raise PolicyError(
                f"'{key}' cannot have a default",
                file=file,
                line=line_of(defaults, key),
                hint=did_you_mean(key, DEFAULT_KEYS),
            )
