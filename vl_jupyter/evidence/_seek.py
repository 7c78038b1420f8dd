"""Find one record's index line by its id without reading the whole index.

A record id starts with its creation time (``YYYYMMDDTHHMMSSffffffZ``, fixed width, so
text order is time order), and index lines are in seq order, which is time order as long
as the writer's clock never went backwards. So :func:`find_entry` bisects the index by
byte offset on the time in each probed line's id (about 17 probes of a few KB for
100,000 records) and then reads forward from where the time is reached. A hit is always
right (the line found is parsed and its id compared). A miss is only trusted where the
index is known to be in time order: the first miss of a process checks that with one
pass over the index (remembered per index file and extended as it grows); where it does
not hold (a clock stepped back, a hand-edited index), every miss falls back to the
byte search of the whole index that ``get()`` always made.
"""

from __future__ import annotations

import json
import os
import re
import threading
from pathlib import Path
from typing import Any

from . import _files

#: An index line as the store writes it: ``{"seq":N,"id":"<time>-<random>",...``.
_LINE_ID = re.compile(rb'\{"seq":\d+,"id":"(\d{8}T\d{12}Z)-[0-9a-f]{8}"')
#: The same after a newline: a literal prefix the regex engine scans for quickly (a
#: multi-line ``^`` is 4x slower).
_EVERY_ID = re.compile(rb'\n\{"seq":\d+,"id":"(\d{8}T\d{12}Z)-[0-9a-f]{8}"')
#: Stop bisecting when this many bytes are left, then read them forward.
_WINDOW = 1 << 15
#: Read at most this much forward from the bisect point before giving up on it.
_SCAN_MAX = 1 << 22
_FLAGS = os.O_RDONLY | os.O_CLOEXEC | _files._NOFOLLOW
#: index path -> (inode, bytes known to be in time order, mtime then, the last time, the
#: 64 bytes before that end)
_ORDERED: dict[str, tuple[int, int, int, bytes, bytes]] = {}
_guard = threading.Lock()


def find_entry(path: Path, record_id: str) -> dict[str, Any] | None:
    """The index entry of ``record_id`` (which must have the shape of an id), or None."""
    try:
        fd = os.open(path, _FLAGS)
    except OSError:
        return None
    try:
        st = os.fstat(fd)
        found = _bisect(fd, st.st_size, record_id)
        if found is not None:
            return found
        if _in_time_order(fd, str(path), st):
            return None  # the index is sorted by time, so the bisect's miss is exact
    finally:
        os.close(fd)
    return _files.find_entry(path, record_id)


def _line_at(fd: int, pos: int, size: int) -> tuple[int, int, bytes] | None:
    """``(start, end, line)`` of the first complete line starting at or after ``pos``."""
    at = max(0, pos - 1)
    want = 1 << 13
    while True:
        buf = os.pread(fd, want, at)
        if pos == 0:
            start = 0
        else:
            nl = buf.find(b"\n")
            if nl < 0:
                if at + len(buf) >= size or want >= _SCAN_MAX:
                    return None
                want *= 4
                continue
            start = nl + 1
        end = buf.find(b"\n", start)
        if end >= 0:
            return at + start, at + end + 1, buf[start:end]
        if at + len(buf) >= size or want >= _SCAN_MAX:
            return None
        want *= 4


def _bisect(fd: int, size: int, record_id: str) -> dict[str, Any] | None:
    """The entry of ``record_id`` if the lines around its time hold it, else None."""
    target = record_id[:22].encode()
    lo, hi = 0, size  # every line starting before lo is older; every one from hi not older
    for _ in range(200):
        if hi - lo <= _WINDOW:
            break
        mid = (lo + hi) // 2
        probe = _line_at(fd, mid, size)
        if probe is None or probe[0] >= hi:
            hi = mid
            continue
        start, end, line = probe
        match = _LINE_ID.match(line)
        if match is None:
            return None  # not a line the store wrote: leave it to the full search
        if match[1] < target:
            lo = end
        else:
            hi = start
    needle = f'"id":"{record_id}"'.encode()
    read = 0
    while read < _SCAN_MAX and lo < size:
        buf = os.pread(fd, min(1 << 16, size - lo), lo)
        cut = buf.rfind(b"\n") + 1
        if cut == 0:
            return None  # a line longer than a block, or a partial last line
        for line in buf[:cut].split(b"\n")[:-1]:
            match = _LINE_ID.match(line)
            if match is None:
                return None
            if needle in line[: 40 + len(needle)]:
                try:
                    entry = json.loads(line)
                except ValueError:
                    return None
                if type(entry) is dict and entry.get("id") == record_id:
                    return entry
            if match[1] > target:
                return None  # past its time
        lo += cut
        read += cut
    return None


def _in_time_order(fd: int, key: str, st: os.stat_result) -> bool:
    """Whether every line of the index is a store-written line, in time order. Checked
    once per index file with one pass, then only for the bytes appended since: an index
    that grew (same inode, the 64 bytes before the checked end unchanged) is checked from
    there; one rewritten in place (same size, another mtime) is checked again in full."""
    with _guard:
        known = _ORDERED.get(key)
    start, last = 0, b""
    if known is not None and known[0] == st.st_ino:
        _ino, checked, mtime, last_time, before = known
        if (checked, mtime) == (st.st_size, st.st_mtime_ns):
            return True
        if checked < st.st_size and os.pread(fd, 64, max(0, checked - 64)) == before:
            start, last = checked, last_time
    raw = os.pread(fd, st.st_size - start, start)
    raw = raw[: raw.rfind(b"\n") + 1]  # a partial last line is not indexed yet
    first = _LINE_ID.match(raw)
    times = ([first[1]] if first else []) + _EVERY_ID.findall(raw)
    if len(times) != raw.count(b"\n") or any(
        b < a for a, b in zip([last, *times], times, strict=False)
    ):
        return False
    end = start + len(raw)
    tail = os.pread(fd, 64, max(0, end - 64))
    with _guard:
        _ORDERED[key] = (st.st_ino, end, st.st_mtime_ns, times[-1] if times else last, tail)
    return True
