"""Helpers the enforcement magics share: splitting a magic line, ``--help``, finding the
DataFrame, resolving a policy name, and deciding who displays a result.
"""

from __future__ import annotations

import argparse
import copy
import dis
import shlex
import sys
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Any

from IPython.core.error import UsageError

from ..errors import close_matches, did_you_mean

_OPEN, _CLOSE = "([{", ")]}"


class HelpShown(Exception):
    """Raised after ``--help`` printed the usage: the magic returns without running."""


class HelpAction(argparse.Action):
    """``-h/--help`` for magic_arguments parsers (they are built with ``add_help=False``)."""

    def __init__(self, option_strings: list[str], dest: str, **kwargs: Any) -> None:
        super().__init__(option_strings, dest, nargs=0, default=argparse.SUPPRESS, **kwargs)

    def __call__(self, parser: argparse.ArgumentParser, *args: Any, **kwargs: Any) -> None:
        print(parser.format_help())
        raise HelpShown


def split_line(line: str) -> list[str]:
    """Split a magic line on blanks outside brackets and quotes.

    A Python expression keeps its spaces, brackets and quotes as long as its blanks are
    inside brackets (``df.assign(prediction = model.predict(X))`` is one token); other
    tokens are split like a shell would (``--name "after reweighing"``).
    """
    tokens: list[str] = []
    current: list[str] = []
    depth, quote = 0, ""
    for ch in line.strip():
        if quote:
            quote = "" if ch == quote else quote
        elif ch in "'\"":
            quote = ch
        elif ch in _OPEN:
            depth += 1
        elif ch in _CLOSE:
            depth = max(0, depth - 1)
        elif ch.isspace() and depth == 0:
            if current:
                tokens.append("".join(current))
                current = []
            continue
        current.append(ch)
    if quote or depth:
        raise UsageError(f"unbalanced {'quote' if quote else 'bracket'} in: {line.strip()}")
    if current:
        tokens.append("".join(current))
    return [_unquote(t) if _quoted(t) or not any(c in t for c in _OPEN) else t for t in tokens]


def _quoted(token: str) -> bool:
    """A token that is one quoted string (``"v2 (reweighed)"``), brackets or not."""
    return len(token) >= 2 and token[0] in "'\"" and token[-1] == token[0]


def _unquote(token: str) -> str:
    try:
        parts = shlex.split(token)
    except ValueError:
        return token
    return parts[0] if len(parts) == 1 else token


def parse(magic: Any, line: str) -> argparse.Namespace | None:
    """Parse ``line`` with ``magic``'s magic_arguments parser; None after ``--help``.

    An option the magic does not have (``--polcy``) is refused with the closest
    options it does have, before argparse would report it as a stray argument.
    """
    tokens = split_line(line)
    check_options(magic.parser, tokens)
    try:
        return magic.parser.parse_intermixed_args(tokens)
    except HelpShown:
        return None


@dataclass(frozen=True)
class MagicLine:
    """A parsed magic line: the options, and whether a trailing ``;`` asks to hide the
    result (IPython passes the ``;`` to the magic as part of the line)."""

    args: argparse.Namespace
    hidden: bool


# (magic function, line) -> its parsed options. Parsing is a pure function of the line
# (argparse re-formats the usage on every intermixed parse, ~0.3 ms) and a notebook re-runs
# the same few lines; --help and errors are never remembered. Module-level: the Magics
# objects keep no state between calls.
_PARSED: dict[tuple[Any, str], argparse.Namespace] = {}
_PARSED_MAX = 64


def parse_line(magic: Any, line: str) -> MagicLine | None:
    """Parse a line of any vl magic: strip one trailing ``;`` (so ``%vl_sync mlflow;``
    syncs MLflow, quietly), then parse with ``magic``'s magic_arguments parser. None
    after ``--help`` was shown; a bad line raises ``UsageError``."""
    text, hidden = strip_semicolon(line)
    key = (getattr(magic, "__func__", magic), text)
    known = _PARSED.get(key)
    if known is None:
        known = parse(magic, text)
        if known is None:  # --help was shown
            return None
        if len(_PARSED) >= _PARSED_MAX:
            _PARSED.clear()
        _PARSED[key] = known
    # a deep copy: a caller may edit the options, lists (VAR=COLUMN bindings) included
    return MagicLine(argparse.Namespace(**copy.deepcopy(vars(known))), hidden)


def check_options(parser: argparse.ArgumentParser, tokens: list[str]) -> None:
    """Raise a UsageError naming the closest known options for an unknown ``--option``."""
    known = [s for action in parser._actions for s in action.option_strings]
    long_ = [s for s in known if s.startswith("--")]
    for token in tokens:
        if not token.startswith("--") or token == "--":
            continue
        option = token.split("=", 1)[0]
        if option in known:
            continue
        close = close_matches(option, long_, n=2, cutoff=0.75)
        hint = (
            did_you_mean(close, joiner=" or ") if close else "options: " + ", ".join(sorted(long_))
        )
        raise UsageError(f"unknown option {option} ({hint})")


def find_frame(shell: Any, expression: str) -> Any:
    """Evaluate ``expression`` in the notebook's namespace; it must give data ``enforce``
    reads: a DataFrame of any engine, SQL text or a data file path."""
    import pandas as pd

    namespace = shell.user_ns
    try:
        value = eval(expression, namespace)
    except NameError as exc:
        name = getattr(exc, "name", None) or expression
        frames = [k for k, v in namespace.items() if isinstance(v, pd.DataFrame) and k[0] != "_"]
        close = close_matches(name, frames, n=3, cutoff=0.6)
        if close:
            hint = "did you mean " + " or ".join(repr(c) for c in close) + "?"
        elif frames:
            hint = "DataFrames defined here: " + ", ".join(frames[:8])
        else:
            hint = "no DataFrame is defined yet: load or build one first"
        raise UsageError(f"no DataFrame named '{name}' in the notebook ({hint})") from None
    except SyntaxError as exc:
        raise UsageError(
            f"'{expression}' is not a Python expression ({exc.msg}); put an expression "
            "with spaces in parentheses"
        ) from None
    except Exception as exc:
        raise UsageError(
            f"could not evaluate '{expression}': {type(exc).__name__}: {exc}"
        ) from None
    from ..metrics import is_data

    if not is_data(value):  # pandas, or a frame an engine holds (polars, DuckDB, Spark...)
        raise UsageError(
            f"'{expression}' is a {type(value).__name__}, not a pandas DataFrame (nor a "
            "polars, PyArrow, DuckDB or Spark frame, SQL text or a .parquet/.csv path)"
        )
    return value


def shipped_policies() -> list[str]:
    """Names of the example policies shipped in ``vl_jupyter/policies``."""
    from importlib import resources

    root = Path(str(resources.files("vl_jupyter") / "policies"))
    return sorted(p.stem for p in root.glob("*.yaml"))


def policy_source(value: str) -> str | Path:
    """An existing file, else a shipped example policy by name, else ``value`` as is
    (``load_policy`` then says it was not found).

    A bare name (no folder, no suffix) that is neither a file nor a shipped policy is
    refused here with the closest shipped names and the list of all of them: a
    misspelled ``german_credit_dta`` deserves better than "file not found".
    """
    from .. import datasets

    path = Path(value).expanduser()
    if path.is_file():
        return path
    if value in shipped_policies():  # a name may hold a dot (loan.oscal)
        return datasets.policy_path(value)
    if value and all(sep not in value for sep in "/\\.") and not path.suffix:
        try:
            return datasets.policy_path(value)
        except FileNotFoundError:
            shipped = shipped_policies()
            close = close_matches(value, shipped, n=2, cutoff=0.6)
            hint = f"did you mean {' or '.join(repr(c) for c in close)}? " if close else ""
            raise UsageError(
                f"no policy file or shipped policy named '{value}' ({hint}shipped policies: "
                f"{', '.join(shipped)}; or give the path of a policy file)"
            ) from None
    return value


def displayed_by_ipython(shell: Any) -> bool:
    """Whether IPython's displayhook will show what the running magic returns.

    True when the magic is a cell's bare last expression (``%vl_enforce df ...``): its
    value goes to ``PRINT_EXPR`` (``CALL_INTRINSIC_1 INTRINSIC_PRINT`` from Python 3.12).
    False when it is assigned (``report = %vl_enforce ...``), used in a larger
    expression, or not the last statement. The magic then displays the result itself,
    so it is shown exactly once either way.
    """
    frame: FrameType | None = sys._getframe(1)
    while frame is not None and frame.f_globals is not shell.user_global_ns:
        frame = frame.f_back
    if frame is None:
        return False
    after = [i for i in dis.get_instructions(frame.f_code) if i.offset > frame.f_lasti]
    following = next((i for i in after if i.opname != "CACHE"), None)
    if following is None:
        return False
    return following.opname == "PRINT_EXPR" or (
        following.opname == "CALL_INTRINSIC_1" and following.argrepr == "INTRINSIC_PRINT"
    )


def strip_semicolon(line: str) -> tuple[str, bool]:
    """The line without a trailing ``;``, and whether there was one (it hides output)."""
    text = line.rstrip()
    return (text[:-1].rstrip(), True) if text.endswith(";") else (line, False)
