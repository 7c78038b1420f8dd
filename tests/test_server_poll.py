"""A sidebar poll right after an append costs what was appended: the listing, the
filtered rows and the by-seq map of the chain check grow in place instead of being
rebuilt, and the page is the one a fresh server would serve."""

from __future__ import annotations

import random
from pathlib import Path
from unittest import mock

import pytest

from vl_jupyter.evidence import EvidenceStore
from vl_jupyter.server import _stores
from vl_jupyter.server._stores import NewestFirst


def test_newest_first_is_a_reversed_list_that_later_growth_never_changes() -> None:
    rng = random.Random(4)
    base = list(range(37))
    view = NewestFirst(list(base))
    expected = base[::-1]
    for _ in range(400):
        start, stop = rng.randint(-45, 45), rng.randint(-45, 45)
        i = rng.randint(-37, 36)
        assert view[start:stop] == expected[start:stop]
        assert view[start:] == expected[start:] and view[:stop] == expected[:stop]
        assert view[i] == expected[i]
    assert view[::2] == expected[::2] and view[::-1] == base
    assert list(view) == expected and list(reversed(view)) == base and len(view) == 37
    for bad in (37, -38):
        with pytest.raises(IndexError):
            view[bad]
    bigger = view.grown([39, 38, 37])  # newest first, as an incremental read gives them
    assert list(bigger) == [39, 38, 37, *expected] and bigger._items is view._items  # in place
    assert list(view) == expected and len(view) == 37  # the older view is unchanged
    forked = view.grown([100])  # an older view grows on a copy, never over the newer one
    assert list(forked) == [100, *expected] and list(bigger) == [39, 38, 37, *expected]
    assert NewestFirst.of([3, 2, 1])._items == [1, 2, 3] and not NewestFirst([])


@pytest.fixture
def store(tmp_path: Path) -> EvidenceStore:
    store = EvidenceStore(tmp_path / "nb" / ".venturalitica")
    with mock.patch("os.fsync"):
        for i in range(300):
            store.append("enforce", {"i": i}, summary={"status": ("pass", "fail")[i % 2]})
    return store


def test_a_poll_after_an_append_touches_only_the_appended_records(
    store: EvidenceStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    catalogue = _stores.Catalogue(tmp_path)
    first = catalogue.page(status="fail", limit=20)
    assert first["total"] == 150
    held = catalogue.stores()[0]
    by_seq = _stores._by_seq(held)
    filtered: list[int] = []
    real = _stores.Catalogue._match
    monkeypatch.setattr(
        _stores.Catalogue,
        "_match",
        staticmethod(lambda records, *a: filtered.append(len(records)) or real(records, *a)),
    )
    for i in range(3):
        store.append("enforce", {"late": i}, summary={"status": "fail"})
    page = catalogue.page(status="fail", limit=20)
    assert filtered == [3]  # the three appended records, not 303
    assert _stores._by_seq(held) is by_seq and {301, 302, 303} <= by_seq.keys()
    assert len(by_seq) == 303
    fresh = _stores.Catalogue(tmp_path).page(status="fail", limit=20)
    assert page["records"] == fresh["records"] and page["total"] == fresh["total"] == 153
    assert [r["seq"] for r in page["records"][:4]] == [303, 302, 301, 300]
    assert {r["integrity"] for r in page["records"]} == {"verified"}
    deep = catalogue.page(status="fail", offset=140, limit=20)
    assert deep["records"] == _stores.Catalogue(tmp_path).page(status="fail", offset=140,
                                                                limit=20)["records"]  # fmt: skip


def test_a_rebuilt_index_rebuilds_the_map(store: EvidenceStore, tmp_path: Path) -> None:
    catalogue = _stores.Catalogue(tmp_path)
    catalogue.page(limit=5)
    held = catalogue.stores()[0]
    before = _stores._by_seq(held)
    store.index_path.write_bytes(store.index_path.read_bytes())  # same content, new read
    store.index_path.write_bytes(b"".join(store.index_path.read_bytes().splitlines(True)[:-1]))
    page = catalogue.page(limit=5)
    assert [r["seq"] for r in page["records"]] == [299, 298, 297, 296, 295]
    after = _stores._by_seq(held)
    assert after is not before and 300 not in after and len(after) == 299
