"""Reading a policy source safely, remembering the line of every mapping, key and item.

Every error the policy reader raises names the file and the line, so the YAML loader
here is a :class:`yaml.SafeLoader` subclass (no Python objects are ever constructed;
``!!python/object`` is an error) whose mappings and sequences are :class:`LineDict` and
:class:`LineList`: ordinary ``dict``/``list`` that also know where they were written.
Duplicate keys, which plain YAML loaders silently collapse, are an error here.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from yaml.constructor import ConstructorError

from ..errors import PolicyError

_MERGE_TAG = "tag:yaml.org,2002:merge"


class LineDict(dict):
    """A YAML mapping; ``line`` is where it starts, ``key_lines[key]`` where each key is."""

    def __init__(self, *args: Any, line: int | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.line = line
        self.key_lines: dict[Any, int] = {}


class LineList(list):
    """A YAML sequence; ``line`` is where it starts, ``item_lines[i]`` where item i is."""

    def __init__(self, *args: Any, line: int | None = None) -> None:
        super().__init__(*args)
        self.line = line
        self.item_lines: list[int] = []


def line_of(obj: Any, key: Any = None) -> int | None:
    """Line of ``obj`` (or of its key / item ``key``); None for data that was not YAML."""
    if key is not None:
        if isinstance(obj, LineDict) and key in obj.key_lines:
            return obj.key_lines[key]
        if isinstance(obj, LineList) and isinstance(key, int) and key < len(obj.item_lines):
            return obj.item_lines[key]
    return getattr(obj, "line", None)


class _LineLoader(yaml.SafeLoader):
    """SafeLoader whose mappings and sequences carry line numbers (1-based)."""


def _construct_mapping(loader: _LineLoader, node: yaml.MappingNode) -> LineDict:
    first_line: dict[Any, int] = {}
    for key_node, _ in node.value:
        if key_node.tag == _MERGE_TAG:
            continue  # keys merged in with `<<:` may be overridden, as YAML intends
        key = loader.construct_object(key_node, deep=True)
        line = key_node.start_mark.line + 1
        try:
            hash(key)
        except TypeError:
            raise ConstructorError(
                None, None, "a mapping key must be plain text", key_node.start_mark
            ) from None
        if key in first_line:
            raise ConstructorError(
                None,
                None,
                f"duplicate key {key!r} (first written at line {first_line[key]})",
                key_node.start_mark,
            )
        first_line[key] = line
    loader.flatten_mapping(node)
    data = LineDict(line=node.start_mark.line + 1)
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        data[key] = loader.construct_object(value_node, deep=True)
        data.key_lines[key] = key_node.start_mark.line + 1
    return data


def _construct_sequence(loader: _LineLoader, node: yaml.SequenceNode) -> LineList:
    data = LineList(line=node.start_mark.line + 1)
    for item in node.value:
        data.append(loader.construct_object(item, deep=True))
        data.item_lines.append(item.start_mark.line + 1)
    return data


_LineLoader.add_constructor("tag:yaml.org,2002:map", _construct_mapping)
_LineLoader.add_constructor("tag:yaml.org,2002:seq", _construct_sequence)


def parse_yaml(text: str, file: str) -> Any:
    """Parse YAML (or JSON) text into LineDict/LineList; any problem is a PolicyError."""
    try:
        return yaml.load(text, Loader=_LineLoader)  # a SafeLoader subclass: safe
    except yaml.YAMLError as exc:
        if "\t" in text and _is_json(text):
            # valid JSON holds tabs only as whitespace, which YAML's block context refuses
            return parse_yaml(text.replace("\t", " "), file)
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        line = mark.line + 1 if mark is not None else None
        problem = getattr(exc, "problem", None) or str(exc)
        if "duplicate key" in problem:
            hint = "a key may appear once per mapping; remove or rename one of them"
        elif "could not determine a constructor" in problem:
            hint = "policies are plain YAML: tags such as !!python/object are not allowed"
        else:
            hint = "fix the YAML at that line: indentation, a missing colon, an unclosed quote or bracket"
        raise PolicyError(
            f"cannot read the policy: {problem.strip()}", file=file, line=line, hint=hint
        ) from None


def _is_json(text: str) -> bool:
    try:
        json.loads(text)
    except ValueError:
        return False
    return True


@dataclass(frozen=True)
class Source:
    """What was read: parsed data, the exact text, its hash, and names for messages."""

    data: Any
    text: str
    sha256: str
    name: str  # the path as given, or "<string>" / "<dict>"
    stem: str  # the default title


def read_source(source: Any) -> Source:
    """Read a path, YAML text or already-parsed data (see :func:`load_policy`)."""
    if isinstance(source, (dict, list)):
        text = json.dumps(source, sort_keys=True, default=str)
        return Source(source, text, _sha(text.encode()), "<dict>", "policy")
    if isinstance(source, Path) or (isinstance(source, str) and _looks_like_path(source)):
        return _read_file(Path(source), str(source))
    if isinstance(source, str):
        data = parse_yaml(source, "<string>")
        if isinstance(data, str) and "\n" not in source.strip():
            raise PolicyError(
                f"policy file not found: {source}",
                hint="pass the path of an existing file, or YAML text with controls",
            )
        return Source(data, source, _sha(source.encode()), "<string>", "policy")
    raise PolicyError(
        f"cannot load a policy from a {type(source).__name__}",
        hint="pass a path, YAML text, a dict or list, or a Policy",
    )


def _looks_like_path(text: str) -> bool:
    if "\n" in text:
        return False
    if text.strip().lower().endswith((".yaml", ".yml", ".json")):
        return True
    try:
        return Path(text).is_file()
    except (OSError, ValueError):
        return False


def _read_file(path: Path, name: str) -> Source:
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise PolicyError(
            f"policy file not found: {name}",
            file=name,
            hint=f"check the path; relative paths start from {Path.cwd()}",
        ) from None
    except OSError as exc:
        raise PolicyError(
            f"cannot read the policy file: {exc.strerror or exc}", file=name
        ) from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise PolicyError(
            f"the policy file is not UTF-8 text (byte {exc.start})",
            file=name,
            hint="save it as UTF-8",
        ) from None
    return Source(parse_yaml(text, name), text, _sha(raw), name, path.stem)


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
