"""Reading a policy source safely, remembering the line of every mapping, key and item.

Every error the policy reader raises names the file and the line, so the YAML loader
here is a safe loader (libyaml's when installed; no Python objects are ever constructed,
``!!python/object`` is an error) whose mappings and sequences are :class:`LineDict` and
:class:`LineList`: ordinary ``dict``/``list`` that also know where they were written.

A policy is untrusted input (a cloned repository, a download), so reading it is bounded
(:data:`LIMITS`): file size, YAML nesting depth and the size of the document once every
alias is expanded (a 1.3 KB "billion laughs" file would otherwise grow to gigabytes) are
checked on the parsed node graph *before* any Python object is built. A key written twice
in one mapping is kept as YAML 1.1 loaders do (the later value wins) and reported as a
warning naming both lines, because the SDK's own files contain such keys.
"""

from __future__ import annotations

import hashlib
import json
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from yaml.constructor import ConstructorError

from ..errors import PolicyError

_MERGE_TAG = "tag:yaml.org,2002:merge"
# libyaml parses ~10x faster; both loaders build the same nodes and carry the same marks
_BaseLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@dataclass(frozen=True)
class Limits:
    """What a policy may cost to read. Real policies are a few KB with a few hundred YAML
    nodes; every limit is orders of magnitude above that and far below what hurts."""

    max_bytes: int = 4 * 1024 * 1024  # 4 MiB of text
    max_depth: int = 64  # nested mappings/sequences
    max_nodes: int = 500_000  # YAML nodes once every alias is expanded
    max_controls: int = 10_000
    max_bins: int = 1_000  # equal-frequency bins or cut points of one control


LIMITS = Limits()


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


class _LineLoader(_BaseLoader):  # type: ignore[misc,valid-type]
    """Safe loader whose mappings and sequences carry line numbers (1-based), whose
    duplicate keys become warnings, and which checks the node graph before building it."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self.duplicate_notes: list[tuple[int, str]] = []

    def get_single_data(self) -> Any:
        node = self.get_single_node()
        if node is None:
            return None
        check_graph(node)
        return self.construct_document(node)


class _GraphError(Exception):
    def __init__(self, message: str, line: int | None, hint: str) -> None:
        super().__init__(message)
        self.message, self.line, self.hint = message, line, hint


def check_graph(root: yaml.Node, limits: Limits | None = None) -> None:
    """Refuse a node graph that is cyclic, too deep, or too large once aliases expand.

    One cheap pass walks the graph as a tree, checking depth; only when it meets a node
    twice (an alias) does :func:`_check_expansion` compute the expanded size bottom-up,
    with one memo entry per distinct node, so a billion-laughs file costs microseconds
    here instead of gigabytes later.
    """
    lim = limits or LIMITS
    seen: set[int] = set()
    shared = False
    stack: list[tuple[yaml.Node, int]] = [(root, 1)]
    while stack:
        node, depth = stack.pop()
        if id(node) in seen:
            shared = True
            continue
        seen.add(id(node))
        if depth > lim.max_depth:
            raise _too_deep(node, lim)
        stack.extend((kid, depth + 1) for kid in _children(node))
    if shared:
        _check_expansion(root, lim)


def _too_deep(node: yaml.Node, lim: Limits) -> _GraphError:
    return _GraphError(
        f"the policy is nested more than {lim.max_depth} levels deep",
        node.start_mark.line + 1,
        "a policy needs a handful of levels; this looks like a generated or hostile file",
    )


def _check_expansion(root: yaml.Node, lim: Limits) -> None:
    size: dict[int, int] = {}
    depth: dict[int, int] = {}
    on_path: set[int] = set()
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, done = stack.pop()
        key = id(node)
        if done:
            on_path.discard(key)
            kids = _children(node)
            size[key] = total = 1 + sum(size[id(k)] for k in kids)
            depth[key] = 1 + max((depth[id(k)] for k in kids), default=0)
            if depth[key] > lim.max_depth:
                raise _too_deep(node, lim)
            if total > lim.max_nodes:
                raise _GraphError(
                    f"the policy expands to more than {lim.max_nodes:,} YAML nodes "
                    "(aliases such as *a repeat the anchored data)",
                    node.start_mark.line + 1,
                    "write the controls out without anchor/alias chains; this is the "
                    '"billion laughs" shape',
                )
            continue
        if key in size:
            continue
        if key in on_path:
            raise _GraphError(
                "an alias refers to a mapping or list that contains it (a cycle)",
                node.start_mark.line + 1,
                "a policy is a tree: remove the alias",
            )
        on_path.add(key)
        stack.append((node, True))
        stack.extend((k, False) for k in _children(node) if id(k) not in size)


def check_data(root: Any, limits: Limits | None = None) -> None:
    """:func:`check_graph` for data passed in already parsed (a ``dict`` or ``list``):
    the same depth and expansion limits, since a structure that shares a list ten times
    at each of nine levels is the billion laughs without any YAML."""
    lim = limits or LIMITS
    size: dict[int, int] = {}
    height: dict[int, int] = {}
    on_path: set[int] = set()
    stack: list[tuple[Any, int, bool]] = [(root, 1, False)]
    while stack:
        node, depth, done = stack.pop()
        key = id(node)
        kids = list(node.values()) if isinstance(node, dict) else node
        if done:
            on_path.discard(key)
            inner = [k for k in kids if isinstance(k, (dict, list))]
            size[key] = total = 1 + sum(size[id(k)] for k in inner) + len(kids) - len(inner)
            # the height, not the depth this node was first met at: a shared part can sit
            # deeper on another path than where the walk first found it
            height[key] = 1 + max((height[id(k)] for k in inner), default=0)
            if height[key] > lim.max_depth:
                raise _GraphError(
                    f"the policy data is nested more than {lim.max_depth} levels deep",
                    None,
                    "a policy needs a handful of levels",
                )
            if total > lim.max_nodes:
                raise _GraphError(
                    f"the policy data expands to more than {lim.max_nodes:,} items "
                    "(the same list or mapping is included many times)",
                    None,
                    "pass plain data in which each part appears once",
                )
            continue
        if key in size:
            continue
        if key in on_path:
            raise _GraphError(
                "the policy data contains itself (a cycle)", None, "a policy is a tree"
            )
        if depth > lim.max_depth:
            raise _GraphError(
                f"the policy data is nested more than {lim.max_depth} levels deep",
                None,
                "a policy needs a handful of levels",
            )
        on_path.add(key)
        stack.append((node, depth, True))
        stack.extend(
            (k, depth + 1, False) for k in kids if isinstance(k, (dict, list)) and id(k) not in size
        )


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.MappingNode):
        return [n for pair in node.value for n in pair]
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    return []


def _construct_mapping(loader: _LineLoader, node: yaml.MappingNode) -> LineDict:
    first_line: dict[Any, int] = {}
    first_value: dict[Any, yaml.Node] = {}
    for key_node, value_node in node.value:
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
            loader.duplicate_notes.append(
                (
                    line,
                    f"key {key!r} is written twice in one mapping (lines {first_line[key]} and "
                    f"{line}); the later value is used, as YAML 1.1 loaders do"
                    f"{_discarded(first_value[key])}: remove one",
                )
            )
        first_line[key] = line
        first_value[key] = value_node
    loader.flatten_mapping(node)
    data = LineDict(line=node.start_mark.line + 1)
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        data[key] = loader.construct_object(value_node, deep=True)
        data.key_lines[key] = key_node.start_mark.line + 1
    return data


def _discarded(node: yaml.Node) -> str:
    """What a duplicate key throws away, when that is more than one value (a list of
    controls written twice must not vanish without the count being said)."""
    if isinstance(node, yaml.SequenceNode):
        return f", and the earlier list of {len(node.value)} item(s) is discarded"
    if isinstance(node, yaml.MappingNode):
        return f", and the earlier mapping of {len(node.value)} key(s) is discarded"
    return ""


def _construct_sequence(loader: _LineLoader, node: yaml.SequenceNode) -> LineList:
    data = LineList(line=node.start_mark.line + 1)
    for item in node.value:
        data.append(loader.construct_object(item, deep=True))
        data.item_lines.append(item.start_mark.line + 1)
    return data


_LineLoader.add_constructor("tag:yaml.org,2002:map", _construct_mapping)
_LineLoader.add_constructor("tag:yaml.org,2002:seq", _construct_sequence)


def parse_yaml(text: str, file: str) -> tuple[Any, list[str]]:
    """Parse YAML (or JSON) text into LineDict/LineList, with the duplicate-key warnings;
    any problem, including the limits of :data:`LIMITS`, is a PolicyError."""
    if len(text) > LIMITS.max_bytes:
        raise _too_big(file, len(text.encode("utf-8", "surrogatepass")))
    loader = _LineLoader(text)
    try:
        data = loader.get_single_data()  # a safe loader: no Python objects
    except _GraphError as exc:
        raise PolicyError(exc.message, file=file, line=exc.line, hint=exc.hint) from None
    except yaml.YAMLError as exc:
        if "\t" in text and _is_json(text):
            # valid JSON holds tabs only as whitespace, which YAML's block context refuses
            return parse_yaml(text.replace("\t", " "), file)
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        line = mark.line + 1 if mark is not None else None
        problem = getattr(exc, "problem", None) or str(exc)
        if "could not determine a constructor" in problem:
            hint = "policies are plain YAML: tags such as !!python/object are not allowed"
        elif "maximum nesting depth" in problem:
            hint = "a policy needs a handful of levels; this looks like a generated or hostile file"
        else:
            hint = "fix the YAML at that line: indentation, a missing colon, an unclosed quote or bracket"
        raise PolicyError(
            f"cannot read the policy: {problem.strip()}", file=file, line=line, hint=hint
        ) from None
    except RecursionError:
        raise PolicyError(
            "the policy is nested too deeply to read",
            file=file,
            hint="a policy needs a handful of levels; this looks like a generated or hostile file",
        ) from None
    except (ValueError, OverflowError, TypeError) as exc:
        # e.g. an integer of more digits than Python converts, or a malformed timestamp
        raise PolicyError(
            f"cannot read a value of the policy: {str(exc)[:200]}",
            file=file,
            line=_last_line(loader),
            hint="write numbers as ordinary decimals and dates in quotes",
        ) from None
    finally:
        loader.dispose()
    return data, [f"{file}:{line}: {note}" for line, note in loader.duplicate_notes]


def _last_line(loader: Any) -> int | None:
    mark = getattr(loader, "get_mark", None)
    try:
        return mark().line + 1 if mark else None
    except Exception:  # the C parser has no mark once it stopped; the line is a nicety
        return None


def _too_big(file: str, size: int) -> PolicyError:
    return PolicyError(
        f"the policy is {size:,} bytes, more than the {LIMITS.max_bytes:,} bytes a policy may have",
        file=file,
        hint="a policy is a few KB of controls; split a generated file or check that this is a policy",
    )


def _is_json(text: str) -> bool:
    try:
        json.loads(text)
    except (ValueError, RecursionError):
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
    warnings: tuple[str, ...] = field(default=())


def read_source(source: Any) -> Source:
    """Read a path, YAML text or already-parsed data (see :func:`load_policy`)."""
    if isinstance(source, (dict, list)):
        try:
            check_data(source)
        except _GraphError as exc:
            raise PolicyError(exc.message, file="<dict>", hint=exc.hint) from None
        try:
            text = json.dumps(source, sort_keys=True, default=str)
        except (ValueError, TypeError, RecursionError) as exc:
            raise PolicyError(
                f"cannot read the policy data: {str(exc)[:200]}",
                file="<dict>",
                hint="pass plain data: mappings with text keys, lists, strings and numbers",
            ) from None
        return Source(source, text, _sha(text.encode()), "<dict>", "policy")
    if isinstance(source, Path) or (isinstance(source, str) and _looks_like_path(source)):
        return _read_file(Path(source), str(source))
    if isinstance(source, str):
        data, notes = parse_yaml(source, "<string>")
        if isinstance(data, str) and "\n" not in source.strip():
            raise PolicyError(
                f"policy file not found: {source}",
                hint="pass the path of an existing file, or YAML text with controls",
            )
        return Source(
            data,
            source,
            _sha(source.encode("utf-8", "surrogatepass")),
            "<string>",
            "policy",
            tuple(notes),
        )
    raise PolicyError(
        f"cannot load a policy from a {type(source).__name__}",
        hint="pass a path, YAML text, a dict or list, or a Policy",
    )


def _looks_like_path(text: str) -> bool:
    if "\n" in text or len(text) > 4096:
        return False
    if text.strip().lower().endswith((".yaml", ".yml", ".json")):
        return True
    try:
        return Path(text).is_file()
    except (OSError, ValueError):
        return False


def _read_file(path: Path, name: str) -> Source:
    try:
        info = path.stat()
        if not stat.S_ISREG(info.st_mode):  # a FIFO or /dev/zero would hang or never end
            raise PolicyError(
                "the policy is not a regular file", file=name, hint="pass a YAML or JSON file"
            )
        if info.st_size > LIMITS.max_bytes:  # refused before a byte is read
            raise _too_big(name, info.st_size)
        with path.open("rb") as fh:  # never more than the limit, even if the file grows
            raw = fh.read(LIMITS.max_bytes + 1)
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
    if len(raw) > LIMITS.max_bytes:  # a file that grew between stat and read
        raise _too_big(name, len(raw))
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise PolicyError(
            f"the policy file is not UTF-8 text (byte {exc.start})",
            file=name,
            hint="save it as UTF-8",
        ) from None
    data, notes = parse_yaml(text, name)
    return Source(data, text, _sha(raw), name, path.stem, tuple(notes))


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
