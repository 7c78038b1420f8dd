"""Turn Python values into plain JSON values, and JSON into the bytes a hash is taken of.

Evidence must hold metric values at full precision and must not silently drop anything:
floats are written with ``repr`` (they round-trip exactly), NaN and +/-inf become ``null``
(JSON has no spelling for them), and a value of a type we do not know is an error that
names the type and where it sits, never a ``str()`` that would look plausible and lose
information.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import hashlib
import json
import math
from collections.abc import Mapping
from pathlib import PurePath
from typing import Any

_EXACT = frozenset((str, int, bool, type(None)))
# A key path is built only when an error needs it: (parent_path, key) pairs, root a str.
_Path = Any


def to_jsonable(obj: Any, name: str = "data") -> Any:
    """Return ``obj`` as nested dicts/lists of str, int, float, bool and None.

    Conversions: numpy scalars -> Python scalars, numpy arrays -> (nested) lists, pandas
    ``Timestamp`` and ``datetime`` -> ISO-8601 (aware values in UTC with ``Z``; naive
    values as written), ``date``/``time`` -> ISO-8601, ``timedelta`` -> seconds (float),
    ``Path`` -> str, tuple -> list, set/frozenset -> sorted list, dataclass -> dict of its
    fields, Enum -> its value, NaN/+inf/-inf/NaT -> None. Mapping keys must be strings
    (ints and other scalars are converted with ``str``, as ``json`` would do anyway).
    Anything else raises ``TypeError`` naming the type and the key path, e.g.
    ``data['metrics'][2]`` (``name`` is the root of that path).
    """
    return _conv(obj, name)


def _from_mapping(obj: Mapping[Any, Any], path: _Path) -> dict[str, Any]:
    return {
        k if type(k) is str else _key(k, path): v if type(v) in _EXACT else _conv(v, (path, k))
        for k, v in obj.items()
    }


def _from_sequence(obj: list[Any] | tuple[Any, ...], path: _Path) -> list[Any]:
    return [v if type(v) in _EXACT else _conv(v, (path, i)) for i, v in enumerate(obj)]


def _conv(obj: Any, path: _Path) -> Any:
    kind = type(obj)
    if kind in _EXACT:
        return obj
    # plain dict and list before the isinstance ladder: they hold nearly every value of a
    # record or side file, and reaching them through it (an ABC check for Mapping) cost a
    # third of a monitored cell's side-file writes
    if kind is dict:
        return _from_mapping(obj, path)
    if kind is list:
        return _from_sequence(obj, path)
    if isinstance(obj, float):  # includes numpy.float64, a float subclass
        return float(obj) if math.isfinite(obj) else None
    if isinstance(obj, enum.Enum):
        return _conv(obj.value, path)
    if isinstance(obj, int):  # bool was caught above; this is an int subclass
        return int(obj)
    if isinstance(obj, str):  # e.g. numpy.str_
        return str(obj)
    if isinstance(obj, Mapping):
        return _from_mapping(obj, path)
    if isinstance(obj, (list, tuple)):
        return _from_sequence(obj, path)
    if isinstance(obj, (set, frozenset)):
        items = [_conv(v, (path, i)) for i, v in enumerate(obj)]
        try:
            return sorted(items)
        except TypeError:  # mixed types: order by canonical text so output is stable
            return sorted(items, key=lambda v: json.dumps(v, sort_keys=True))
    if isinstance(obj, dt.datetime):
        if kind.__name__ == "NaTType":  # pandas.NaT is a datetime subclass
            return None
        if obj.tzinfo is not None and obj.utcoffset() is not None:
            text = obj.astimezone(dt.timezone.utc).isoformat()
            return text.replace("+00:00", "Z")
        return obj.isoformat()
    if isinstance(obj, (dt.date, dt.time)):
        return obj.isoformat()
    if isinstance(obj, dt.timedelta):
        return obj.total_seconds()
    if isinstance(obj, PurePath):
        return str(obj)
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {
            f.name: _conv(getattr(obj, f.name), (path, f.name)) for f in dataclasses.fields(obj)
        }
    converted = _numpy(obj, path)
    if converted is not _UNKNOWN:
        return converted
    raise TypeError(
        f"cannot store a value of type {kind.__module__}.{kind.__qualname__} at "
        f"{_render(path)} in evidence: convert it to a number, string, list or dict first"
    )


def _render(path: _Path) -> str:
    """``data['metrics'][2]`` from the lazy (parent, key) chain."""
    keys = []
    while isinstance(path, tuple):
        path, key = path
        keys.append(f"[{key!r}]")
    return str(path) + "".join(reversed(keys))


_UNKNOWN = object()


def _numpy(obj: Any, path: _Path) -> Any:
    """Convert numpy values without importing numpy when it is unused."""
    module = type(obj).__module__
    if module.startswith("numpy"):
        import numpy as np

        if isinstance(obj, np.ndarray):
            if obj.dtype.kind in "biuf":
                return _conv(obj.tolist(), path)
            return [_conv(v, (path, i)) for i, v in enumerate(obj)]
        if isinstance(obj, np.datetime64):
            return None if np.isnat(obj) else str(obj)
        if isinstance(obj, np.timedelta64):
            return None if np.isnat(obj) else float(obj / np.timedelta64(1, "s"))
        if isinstance(obj, (np.bool_, np.integer, np.floating, np.str_)):
            return _conv(obj.item(), path)
    return _UNKNOWN


def _key(key: Any, path: _Path) -> str:
    if isinstance(key, (int, float, bool)) or type(key).__module__.startswith("numpy"):
        return str(key.item() if hasattr(key, "item") else key)
    if isinstance(key, str):
        return str(key)
    kind = type(key)
    raise TypeError(
        f"cannot store a mapping key of type {kind.__module__}.{kind.__qualname__} "
        f"({key!r}) in {_render(path)}: keys of evidence data must be strings"
    )


def dumps_canonical(obj: Any) -> bytes:
    """The canonical bytes of a JSON value: sorted keys, no spaces, UTF-8, no NaN."""
    return json.dumps(
        obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode("utf-8")


def record_hash(doc: Mapping[str, Any]) -> str:
    """sha256 (hex) of the canonical JSON of every field of a record except ``hash``."""
    body = {k: v for k, v in doc.items() if k != "hash"}
    return hashlib.sha256(dumps_canonical(body)).hexdigest()
