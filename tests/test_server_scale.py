"""The server's listing at scale: a big store's first page from the index's end, the rest
listed in the background, and polls of an unchanged project served without a pass over
its records."""

from __future__ import annotations

import threading
from pathlib import Path
from unittest import mock

import pytest

from vl_jupyter.evidence import EvidenceStore
from vl_jupyter.server import _stores


def build(root: Path, n: int) -> EvidenceStore:
    store = EvidenceStore(root)
    with mock.patch("os.fsync"):
        for i in range(n):
            status = "fail" if i % 5 == 0 else "pass"
            store.append("enforce", {"i": i}, summary={"status": status, "name": f"r{i}"})
    return store


@pytest.fixture
def big(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> EvidenceStore:
    """60 records, and a 'big store' threshold every index passes, with a 20-line tail."""
    monkeypatch.setattr(_stores, "TAIL_MIN_BYTES", 0)
    monkeypatch.setattr(_stores, "TAIL_ENTRIES", 20)
    monkeypatch.setattr(_stores, "DISCOVERY_TTL_S", 0.0)
    return build(tmp_path / "nb" / ".venturalitica", 60)


@pytest.fixture
def no_background(monkeypatch: pytest.MonkeyPatch) -> list[threading.Thread]:
    """Background listings are created but not started (the test decides when)."""
    made: list[threading.Thread] = []

    class Held(threading.Thread):
        def start(self) -> None:
            made.append(self)

    monkeypatch.setattr(_stores.threading, "Thread", Held)
    return made


def seqs(page: dict) -> list[int]:
    return [r["seq"] for r in page["records"]]


def test_first_page_of_a_big_store_comes_from_the_tail(big, tmp_path, no_background) -> None:
    catalogue = _stores.Catalogue(tmp_path)
    page = catalogue.page(limit=10)
    assert seqs(page) == list(range(60, 50, -1))
    assert (page["total"], page["total_exact"]) == (20, False)
    assert page["stores"][0]["partial"] is True and page["stores"][0]["records"] == 20
    assert {r["integrity"] for r in page["records"]} == {"verified"}
    assert len(no_background) == 1
    no_background[0].run()  # the background listing finishes
    page = catalogue.page(limit=10)
    assert seqs(page) == list(range(60, 50, -1))
    assert (page["total"], page["total_exact"], page["stores"][0]["partial"]) == (60, True, False)


def test_a_page_beyond_the_tail_waits_for_the_full_listing(big, tmp_path, no_background) -> None:
    catalogue = _stores.Catalogue(tmp_path)
    assert catalogue.page(limit=5)["total_exact"] is False
    deep = catalogue.page(offset=15, limit=10)
    assert seqs(deep) == list(range(45, 35, -1))
    assert (deep["total"], deep["total_exact"]) == (60, True)
    fails = _stores.Catalogue(tmp_path).page(status="fail", limit=10)  # 4 in the tail
    assert seqs(fails) == [56, 51, 46, 41, 36, 31, 26, 21, 16, 11] and fails["total"] == 12
    no_background[0].run()  # a background read finishing after a full one changes nothing
    assert catalogue.page(offset=15, limit=10) == deep


def test_appends_while_partial_are_listed_once(big, tmp_path, no_background) -> None:
    catalogue = _stores.Catalogue(tmp_path)
    catalogue.page(limit=5)
    new = big.append("enforce", {}, summary={"status": "warn"})
    page = catalogue.page(limit=3)
    assert page["records"][0]["id"] == new.id and page["total"] == 21
    no_background[0].run()
    page = catalogue.page(limit=3)
    assert seqs(page) == [61, 60, 59] and (page["total"], page["total_exact"]) == (61, True)
    newer = big.append("enforce", {}, summary={"status": "pass"})
    page = catalogue.page(limit=500)
    assert page["records"][0]["id"] == newer.id
    assert seqs(page) == list(range(62, 0, -1))


def test_the_background_listing_really_runs(big, tmp_path) -> None:
    catalogue = _stores.Catalogue(tmp_path)
    assert catalogue.page(limit=5)["total_exact"] is False
    for thread in threading.enumerate():
        if thread.name == "vl-listing":
            thread.join(10)
    assert catalogue.page(limit=5)["total"] == 60


def test_an_unchanged_project_is_polled_without_a_pass_over_its_records(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_stores, "DISCOVERY_TTL_S", 0.0)
    store = build(tmp_path / ".venturalitica", 30)
    catalogue = _stores.Catalogue(tmp_path)
    passes = []
    real = _stores.Catalogue._rows
    monkeypatch.setattr(
        _stores.Catalogue, "_rows", lambda self, *a: passes.append(a) or real(self, *a)
    )
    first = catalogue.page(exclude_kind="sync", limit=10)
    assert catalogue.page(exclude_kind="sync", limit=10) == first and len(passes) == 1
    assert catalogue.page(status="fail")["total"] == 6 and len(passes) == 2
    store.append("enforce", {}, summary={"status": "fail"})
    again = catalogue.page(exclude_kind="sync", limit=10)
    assert len(passes) == 3 and again["total"] == 31 and again["version"] != first["version"]
    assert catalogue.page(status="fail")["total"] == 7
    catalogue.invalidate()
    catalogue.page(status="fail")
    assert len(passes) == 5


def test_a_poll_after_an_append_filters_only_the_new_records(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_stores, "DISCOVERY_TTL_S", 0.0)
    store = build(tmp_path / ".venturalitica", 30)
    catalogue = _stores.Catalogue(tmp_path)
    matched: list[int] = []
    real = _stores.Catalogue._match
    monkeypatch.setattr(
        _stores.Catalogue,
        "_match",
        staticmethod(lambda records, *a: matched.append(len(records)) or real(records, *a)),
    )
    assert catalogue.page(status="fail")["total"] == 6 and matched == [30]
    store.append("enforce", {}, summary={"status": "fail"})
    store.append("enforce", {}, summary={"status": "pass"})
    page = catalogue.page(status="fail", limit=3)
    assert matched == [30, 2] and page["total"] == 7
    assert seqs(page) == [31, 26, 21]
    catalogue.invalidate()  # the sync state is asked again: a full pass
    assert catalogue.page(status="fail")["total"] == 7 and matched[-1] == 32
