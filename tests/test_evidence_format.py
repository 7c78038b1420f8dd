"""Record formats: /2 files are their canonical bytes (hashed as stored), /1 files still
verify, a store may mix both, and every kind of tampering is reported the same way
whichever format a record has and whether verify() took the fast path or not."""

from __future__ import annotations

import hashlib
import json
import os
import random
from pathlib import Path

import pytest

from vl_jupyter import evidence, signing
from vl_jupyter.evidence import EvidenceRecord, EvidenceStore, _store, _verify
from vl_jupyter.evidence._jsonable import dumps_canonical, record_hash
from vl_jupyter.evidence._record import SCHEMA, SCHEMA_V1, encode_record, stored_hash


def encode_v1(doc: dict) -> bytes:
    """A /1 record file exactly as append() wrote it before /2 (frozen here)."""
    text = json.dumps(doc, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    return text.encode("utf-8") + b"\n"


def seal_v1(doc: dict) -> bytes:
    """What append() did before /2: hash the record, then write it as /1."""
    doc["hash"] = record_hash(doc)
    return encode_v1(doc)


def append_v1(store: EvidenceStore, monkeypatch: pytest.MonkeyPatch, n: int, at: int) -> None:
    with monkeypatch.context() as m:
        m.setattr(_store, "SCHEMA", SCHEMA_V1)
        m.setattr(_store, "_record_bytes", seal_v1)
        for i in range(at, at + n):
            store.append("enforce", {"i": i, "value": i / 7, "text": "ok"}, summary={"i": i})


def append_v2(store: EvidenceStore, n: int, at: int) -> None:
    for i in range(at, at + n):
        store.append("enforce", {"i": i, "value": i / 7, "text": "ok"}, summary={"i": i})


@pytest.fixture(params=["v1", "v2", "mixed"])
def store(request, evidence_dir: Path, monkeypatch: pytest.MonkeyPatch) -> EvidenceStore:
    """Six records: all /1, all /2, or seq 1-3 in /1 and 4-6 in /2."""
    store = EvidenceStore(evidence_dir)
    if request.param == "v1":
        append_v1(store, monkeypatch, 6, 0)
    elif request.param == "v2":
        append_v2(store, 6, 0)
    else:
        append_v1(store, monkeypatch, 3, 0)
        append_v2(store, 3, 3)
    return store


def recs(store: EvidenceStore) -> list[EvidenceRecord]:
    return sorted(store.records(), key=lambda r: r.seq)


def writable(path: Path) -> Path:
    os.chmod(path, 0o644)
    return path


def both_paths(store: EvidenceStore, monkeypatch: pytest.MonkeyPatch) -> list[dict]:
    """verify(full=True) with the /2 fast path, and with every file checked in full (the
    pre-/2 path); the two must agree to the letter."""
    fast = store.verify(full=True)
    with monkeypatch.context() as m:
        m.setattr(_verify, "_matches", lambda raw, entry, seq: None)
        slow = store.verify(full=True)
    assert fast.to_dict() == slow.to_dict()
    return [p.to_dict() for p in fast.problems]


def test_a_v2_file_is_the_canonical_json_it_is_hashed_over(evidence_dir: Path) -> None:
    rec = evidence.append("enforce", {"v": 0.1, "t": "Venturalítica ✓"}, root=evidence_dir)
    raw = rec.path.read_bytes()
    doc = json.loads(raw)
    body = dumps_canonical({k: v for k, v in doc.items() if k != "hash"})
    assert raw == body[:-1] + b',"hash":"' + rec.hash.encode() + b'"}\n'
    assert hashlib.sha256(body).hexdigest() == rec.hash == stored_hash(raw)
    assert record_hash(doc) == rec.hash  # the /1 rule gives the same hash: old tools agree
    assert doc["schema"] == SCHEMA == "vl_jupyter.evidence/2"
    assert encode_record(doc) == raw


def test_stored_hash_refuses_what_is_not_the_v2_layout(evidence_dir: Path, monkeypatch) -> None:
    store = EvidenceStore(evidence_dir)
    append_v1(store, monkeypatch, 1, 0)
    raw = recs(store)[0].path.read_bytes()
    assert raw.startswith(b'{"schema":"vl_jupyter.evidence/1"') and stored_hash(raw) is None
    assert stored_hash(b'{"created":"x","data":{},"hash":"' + b"0" * 63 + b'"}\n') is None
    assert stored_hash(b'{"created":"x","data":{}}\n') is None
    assert stored_hash(b"") is None


def test_a_clean_store_of_either_format_verifies(
    store: EvidenceStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert both_paths(store, monkeypatch) == []
    result = store.verify(full=True)
    assert result.ok and result.checked == 6 and result.head == store.head()
    for rec in recs(store):  # data access re-checks each record's hash, either format
        assert rec.data["i"] == rec.seq - 1
    assert signing.verify_offline(str(store.root))["ok"]  # the stand-alone verifier too


def test_a_clean_v2_store_is_verified_without_parsing_a_record(
    evidence_dir: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("VL_CONFIG_DIR", str(tmp_path / "config"))
    signing.init_key("Ana Ruiz <ana@example.eu>")
    store = EvidenceStore(evidence_dir)
    append_v2(store, 3, 0)  # signed: the signer sits between session and summary
    store.append("enforce", {}, summary={"nested": {"b": [1.5, None], "a": "é"}}, signer=False)
    assert "signer" in json.loads(recs(store)[0].path.read_bytes())
    full_checks: list[int] = []
    real = _verify._check_file
    monkeypatch.setattr(
        _verify,
        "_check_file",
        lambda st, seq, *a, **k: full_checks.append(seq) or real(st, seq, *a, **k),
    )
    assert store.verify(full=True).ok and full_checks == []
    signed = signing.verify_offline(str(store.root))
    assert signed["ok"] and len(signed["signed"]) == 3, signed["problems"]


def flip(path: Path, needle: bytes, new: bytes) -> None:
    raw = path.read_bytes()
    at = raw.index(needle)
    writable(path).write_bytes(raw[:at] + new + raw[at + len(needle) :])


def codes(problems: list[dict]) -> list[str]:
    return sorted({p["code"] for p in problems})


@pytest.mark.parametrize("pos", [1, 4], ids=["seq2", "seq5"])
def test_a_flipped_data_byte_is_edited(store, monkeypatch, pos: int) -> None:
    rec = recs(store)[pos]
    flip(rec.path, b'"text":"ok"', b'"text":"no"')  # same length, layout intact
    problems = both_paths(store, monkeypatch)
    assert codes(problems) == ["edited"]
    assert (problems[0]["record_id"], problems[0]["seq"]) == (rec.id, pos + 1)
    assert "does not match its hash" in problems[0]["message"]
    assert signing.verify_offline(str(store.root))["problems"][0]["code"] == "edited"


def test_a_flipped_hash_byte_is_edited_and_breaks_both_links(store, monkeypatch) -> None:
    rec = recs(store)[3]
    flip(
        rec.path,
        rec.hash.encode(),
        rec.hash[:-1].encode() + (b"0" if rec.hash[-1] != "0" else b"1"),
    )
    problems = both_paths(store, monkeypatch)
    assert codes(problems) == ["broken_link", "edited", "index_mismatch"]
    assert {p["seq"] for p in problems} == {4, 5}


@pytest.mark.parametrize("pos", [1, 4], ids=["seq2", "seq5"])
def test_a_careful_forger_breaks_the_next_link(store, monkeypatch, pos: int) -> None:
    rec = recs(store)[pos]
    doc = json.loads(rec.path.read_bytes())
    doc["data"]["value"] = 0.5
    doc["hash"] = record_hash(doc)  # re-hashed and written back in the file's own format
    raw = encode_record(doc) if doc["schema"] == SCHEMA else encode_v1(doc)
    writable(rec.path).write_bytes(raw)
    problems = both_paths(store, monkeypatch)
    assert codes(problems) == ["broken_link", "index_mismatch"]
    assert [p["seq"] for p in problems if p["code"] == "broken_link"] == [pos + 2]


def test_swapped_files_are_reordered(store, monkeypatch) -> None:
    a, b = recs(store)[2], recs(store)[3]  # in the mixed store: a /1 and a /2 record
    a.path.rename(a.path.with_name(f"00000004_{a.id}.json"))
    b.path.rename(b.path.with_name(f"00000003_{b.id}.json"))
    assert "reordered" in codes(both_paths(store, monkeypatch))


@pytest.mark.parametrize("pos", [2, 5], ids=["seq3", "seq6"])
def test_deleted_and_truncated_files(store, monkeypatch, pos: int) -> None:
    first, second = recs(store)[pos], recs(store)[pos - 1]
    first.path.unlink()
    raw = second.path.read_bytes()
    writable(second.path).write_bytes(raw[: len(raw) // 2])
    problems = both_paths(store, monkeypatch)
    assert [(p["code"], p["seq"]) for p in problems] == [("truncated", pos), ("deleted", pos + 1)]


def test_a_forged_index_line_is_named(store, monkeypatch) -> None:
    for i in (1, 4):  # a /1 record and a /2 record in the mixed store
        text = store.index_path.read_text()
        store.index_path.write_text(text.replace(f'"summary":{{"i":{i}}}', '"summary":{"i":99}'))
    problems = both_paths(store, monkeypatch)
    assert [(p["code"], p["seq"]) for p in problems] == [
        ("index_mismatch", 2),
        ("index_mismatch", 5),
    ]
    assert all("disagrees with the file on summary" in p["message"] for p in problems)


def test_a_reserialised_v2_file_is_checked_by_its_content(store, monkeypatch) -> None:
    """Re-indenting a /2 file leaves its layout: it is checked by the /1 rule (its parsed
    content), as a /1 file is; a changed value is still an edit."""
    rec = recs(store)[5]
    doc = json.loads(rec.path.read_bytes())
    writable(rec.path).write_text(json.dumps(doc, indent=2))
    assert both_paths(store, monkeypatch) == []
    doc["data"]["i"] = 50
    rec.path.write_text(json.dumps(doc, indent=2))
    assert codes(both_paths(store, monkeypatch)) == ["edited"]


def test_fuzzed_record_files_fast_path_equals_full_check(
    evidence_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Random byte flips, insertions and deletions in /1 and /2 files: the fast path and
    the full check report the same, and any change to what a file says is found."""
    store = EvidenceStore(evidence_dir)
    append_v1(store, monkeypatch, 2, 0)
    append_v2(store, 3, 2)
    rng = random.Random(12)
    originals = {r.path: r.path.read_bytes() for r in recs(store)}
    for _ in range(200):
        path = rng.choice(sorted(originals))
        raw = originals[path]
        at = rng.randrange(len(raw))
        byte = bytes([rng.randrange(32, 127)])
        mutated = rng.choice(
            [raw[:at] + byte + raw[at + 1 :], raw[:at] + byte + raw[at:], raw[:at] + raw[at + 1 :]]
        )
        writable(path).write_bytes(mutated)
        problems = both_paths(store, monkeypatch)
        try:
            same = json.loads(mutated) == json.loads(raw)
        except ValueError:
            same = False
        if not same:
            assert problems, (path.name, at, mutated[max(0, at - 20) : at + 20])
        path.write_bytes(raw)
    assert store.verify(full=True).ok


def test_the_bundle_verifier_hashes_both_formats_as_the_store_does(store) -> None:
    from vl_jupyter.evidence._record import content_hash
    from vl_jupyter.signing import _standalone

    for rec in recs(store):
        raw = rec.path.read_bytes()
        doc = json.loads(raw)
        assert _standalone.content_hash(raw, doc) == content_hash(raw, doc) == rec.hash
        flipped = raw.replace(b'"text":"ok"', b'"text":"no"')
        changed = json.loads(flipped)
        assert _standalone.content_hash(flipped, changed) == content_hash(flipped, changed)
        assert content_hash(flipped, changed) != rec.hash


def test_a_signed_v2_record_with_an_edited_signer_is_edited(
    evidence_dir: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("VL_CONFIG_DIR", str(tmp_path / "config"))
    signing.init_key("Ana Ruiz <ana@example.eu>")
    store = EvidenceStore(evidence_dir)
    append_v2(store, 3, 0)
    rec = recs(store)[1]
    flip(rec.path, b'"name":"Ana Ruiz', b'"name":"Ana Ruis')  # the signer, not the data
    problems = both_paths(store, monkeypatch)
    assert [(p["code"], p["seq"]) for p in problems] == [("edited", 2)]
    offline = signing.verify_offline(str(store.root))
    assert "edited" in {p["code"] for p in offline["problems"]}
