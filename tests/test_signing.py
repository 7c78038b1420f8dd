"""Signed evidence: keys, DSSE envelopes over in-toto Statements, `vl-jupyter verify`."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import os
import stat
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

import vl_jupyter as vl
from vl_jupyter import evidence, signing
from vl_jupyter.cli import main
from vl_jupyter.errors import SigningError
from vl_jupyter.review import record_review

POLICY = vl.datasets.policy_path("german_credit_data")


@pytest.fixture
def key(monkeypatch, tmp_path):
    monkeypatch.setenv("VL_CONFIG_DIR", str(tmp_path / "config"))
    return signing.init_key("Ana Ruiz <ana@example.eu>")


def _enforce(german, root):
    return vl.enforce(german, POLICY, target="class", gender="gender", age="age", evidence_dir=root)


def _doc(rec):
    return json.loads(rec.path.read_bytes())


def _envelope(root: Path, rec) -> dict:
    return json.loads((root / "signatures" / f"{rec.file[:-5]}.dsse.json").read_bytes())


def _cli(*argv: str) -> tuple[int, str]:
    out = io.StringIO()
    return main(list(argv), out=out), out.getvalue()


def test_pae_matches_the_dsse_spec_example():
    # DSSE v1 protocol.md: PAE(type, body) = "DSSEv1" SP LEN(type) SP type SP LEN(body) SP body
    assert signing.pae("http://example.com/HelloWorld", b"hello world") == (
        b"DSSEv1 29 http://example.com/HelloWorld 11 hello world"
    )


def test_keys_init_writes_a_private_key_only_the_user_can_read(key, tmp_path):
    folder = tmp_path / "config" / "keys"
    assert key.path == folder / "signing.key"
    assert stat.S_IMODE(key.path.stat().st_mode) == 0o600
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    raw = base64.b64decode(key.public_key)
    assert len(raw) == 32 and key.keyid == hashlib.sha256(raw).hexdigest()
    meta = json.loads((folder / "signing.json").read_text())
    assert (meta["name"], meta["keyid"]) == ("Ana Ruiz <ana@example.eu>", key.keyid)
    with pytest.raises(SigningError, match="already exists"):
        signing.init_key("someone else")
    assert signing.init_key("Ana", force=True).keyid != key.keyid


def test_keys_init_refuses_a_folder_inside_the_project(tmp_path, monkeypatch):
    project = tmp_path / "proj"
    (project / "sub").mkdir(parents=True)
    (project / "pyproject.toml").write_text("")
    monkeypatch.chdir(project / "sub")
    monkeypatch.setenv("VL_CONFIG_DIR", str(project / "cfg"))
    with pytest.raises(SigningError, match=r"inside the current project .*proj"):
        signing.init_key("Ana")
    monkeypatch.setenv("VL_CONFIG_DIR", str(tmp_path / "elsewhere"))
    monkeypatch.setenv("VL_EVIDENCE_DIR", str(tmp_path / "elsewhere"))
    with pytest.raises(SigningError, match="inside the evidence folder"):
        signing.init_key("Ana")
    assert not (project / "cfg").exists()


def test_a_key_readable_by_others_is_refused(key):
    os.chmod(key.path, 0o644)
    with pytest.raises(SigningError, match=r"readable by others \(mode 644\).*chmod 600"):
        signing.load_key()


def test_cli_keys_init_and_show(tmp_path, monkeypatch):
    monkeypatch.setenv("VL_CONFIG_DIR", str(tmp_path / "cfg"))
    assert _cli("keys", "show")[0] == 1
    rc, text = _cli("keys", "init", "--name", "CI bot")
    key = signing.load_key()
    assert rc == 0 and f"key id {key.keyid}" in text and "are now signed" in text
    assert text.strip().endswith(f"{key.public_key} CI bot")
    rc, text = _cli("keys", "show")
    assert rc == 0 and text.splitlines()[0] == f"{key.public_key} CI bot"


def test_without_a_key_records_are_not_signed(german, evidence_dir):
    report = _enforce(german, evidence_dir)
    rec = evidence.get(report.evidence_id, root=evidence_dir)
    assert "signer" not in _doc(rec)
    assert not (evidence_dir / "signatures").exists()


def test_enforce_records_are_signed_over_the_record_file(key, german, evidence_dir):
    report = _enforce(german, evidence_dir)
    rec = evidence.get(report.evidence_id, root=evidence_dir)
    doc = _doc(rec)
    assert doc["signer"] == {
        "algorithm": "ed25519",
        "keyid": key.keyid,
        "public_key": key.public_key,
        "name": "Ana Ruiz <ana@example.eu>",
    }
    env = _envelope(evidence_dir, rec)
    assert env["payloadType"] == "application/vnd.in-toto+json"
    assert env["signatures"][0]["keyid"] == key.keyid
    statement = signing.verify_envelope(env, base64.b64decode(key.public_key))
    assert statement["_type"] == "https://in-toto.io/Statement/v1"
    assert statement["subject"] == [
        {
            "name": f"records/{rec.file}",
            "digest": {"sha256": hashlib.sha256(rec.path.read_bytes()).hexdigest()},
        }
    ]
    assert statement["predicateType"] == "https://in-toto.io/attestation/test-result/v0.1"
    pred = statement["predicate"]
    by_status = {s: [r.control_id for r in report if r.status == s] for s in ("pass", "warn")}
    failed = [r.control_id for r in report if r.status in ("fail", "error")]
    assert failed and pred["result"] == "FAILED"
    assert pred["passedTests"] == by_status["pass"]
    assert pred["warnedTests"] == by_status["warn"]
    assert pred["failedTests"] == failed
    assert pred["configuration"] == [
        {
            "name": report.policy["title"],
            "digest": {"sha256": report.policy["sha256"]},
            "uri": Path(report.policy["source"]).as_uri(),
        }
    ]
    assert evidence.verify(evidence_dir).ok  # the signatures folder is not a record problem


def test_monitor_and_review_are_signed_and_sync_records_are_not(
    key, german, evidence_dir, tmp_path
):
    with vl.monitor("train_v1", evidence_dir=evidence_dir, quiet=True) as m:
        sum(range(100))
    tele = evidence.get(m.result.evidence_id, root=evidence_dir)
    assert _doc(tele)["signer"]["keyid"] == key.keyid
    env = _envelope(evidence_dir, tele)
    statement = signing.verify_envelope(env, base64.b64decode(key.public_key))
    assert statement["predicate"]["result"] == "PASSED"
    assert statement["predicate"]["passedTests"] == ["train_v1"]
    sync = evidence.append("sync", {"target": "mlflow"}, root=evidence_dir)
    assert "signer" not in _doc(sync)

    # the reviewer signs with their own key, not the notebook owner's
    report = _enforce(german, evidence_dir)
    failing = next(r.control_id for r in report if r.status == "fail")
    os.environ["VL_CONFIG_DIR"] = str(tmp_path / "reviewer")
    reviewer_key = signing.init_key("Model Risk Reviewer <risk@example.eu>")
    os.environ["VL_CONFIG_DIR"] = str(tmp_path / "config")
    rec = record_review(
        report,
        failing,
        "accept risk",
        reviewer="Model Risk Reviewer",
        justification="documented mitigation",
        evidence_dir=evidence_dir,
        signing_key=reviewer_key.path,
    )
    doc = _doc(rec)
    assert doc["data"]["reviewer"] == "Model Risk Reviewer"
    assert doc["signer"]["keyid"] == reviewer_key.keyid != key.keyid
    pred = signing.verify_envelope(
        _envelope(evidence_dir, rec), base64.b64decode(reviewer_key.public_key)
    )["predicate"]
    assert (pred["result"], pred["warnedTests"]) == ("WARNED", [failing])


def test_vl_sign_0_turns_signing_off(key, german, evidence_dir, monkeypatch):
    monkeypatch.setenv("VL_SIGN", "0")
    report = _enforce(german, evidence_dir)
    assert "signer" not in _doc(evidence.get(report.evidence_id, root=evidence_dir))


def test_cli_verify_prints_who_signed_what_and_checks_trusted_keys(
    key, german, evidence_dir, tmp_path
):
    report = _enforce(german, evidence_dir)
    rc, text = _cli("verify", "--evidence-dir", str(evidence_dir))
    assert rc == 0, text
    assert (
        f"signed enforce {report.evidence_id} by Ana Ruiz <ana@example.eu> (key {key.keyid[:16]}, key not checked): FAILED"
        in text
    )
    trusted = tmp_path / "trusted.txt"
    trusted.write_text(f"# the model team\n{key.public_line()}\n")
    rc, text = _cli("verify", "--evidence-dir", str(evidence_dir), "--trusted-keys", str(trusted))
    assert (
        rc == 0
        and "(key " + key.keyid[:16] + ", trusted as Ana Ruiz <ana@example.eu>): FAILED" in text
    )
    other = Ed25519PrivateKey.generate().public_key().public_bytes_raw()
    trusted.write_text(base64.b64encode(other).decode() + " someone else\n")
    rc, text = _cli("verify", "--evidence-dir", str(evidence_dir), "--trusted-keys", str(trusted))
    assert rc == 1
    assert (
        f"problem [untrusted_key] records/{evidence.get(report.evidence_id, root=evidence_dir).file} is signed by key {key.keyid[:16]} (Ana Ruiz <ana@example.eu>), which is not in the trusted keys"
        in text
    )
    trusted.write_text("not-a-key\n")
    rc, _ = _cli("verify", "--evidence-dir", str(evidence_dir), "--trusted-keys", str(trusted))
    assert rc == 2


def test_verify_json_and_anchor(key, german, evidence_dir):
    _enforce(german, evidence_dir)
    head = evidence.EvidenceStore(evidence_dir).head()
    rc, text = _cli(
        "verify", "--evidence-dir", str(evidence_dir), "--json", "--anchor", f"{head[0]}:{head[1]}"
    )
    body = json.loads(text)
    assert rc == 0 and body["ok"] and body["signed"][0]["keyid"] == key.keyid
    rc, text = _cli(
        "verify", "--evidence-dir", str(evidence_dir), "--anchor", f"{head[0]}:{'0' * 64}"
    )
    assert rc == 1 and "problem [anchor_mismatch]" in text and "the chain was rewritten" in text


def test_a_removed_or_swapped_signature_is_named(key, german, evidence_dir):
    report = _enforce(german, evidence_dir)
    rec = evidence.get(report.evidence_id, root=evidence_dir)
    env_path = evidence_dir / "signatures" / f"{rec.file[:-5]}.dsse.json"
    original = env_path.read_bytes()
    os.chmod(env_path, 0o644)
    # an envelope signed by another key over the right statement
    env = json.loads(original)
    forger = Ed25519PrivateKey.generate()
    payload = base64.b64decode(env["payload"])
    env["signatures"][0]["sig"] = base64.b64encode(
        forger.sign(signing.pae(env["payloadType"], payload))
    ).decode()
    env_path.write_text(json.dumps(env))
    result = signing.verify_signatures(evidence_dir)
    assert [p["code"] for p in result["problems"]] == ["bad_signature"]
    assert "does not match the signed payload" in result["problems"][0]["message"]
    env_path.unlink()
    result = signing.verify_signatures(evidence_dir)
    assert [p["code"] for p in result["problems"]] == ["signature_missing"]
    assert result["problems"][0]["file"] == f"records/{rec.file}"
    rc, text = _cli("verify", "--evidence-dir", str(evidence_dir))
    assert rc == 1 and "signature file is missing" in text


def test_a_re_signed_forgery_passes_only_without_trusted_keys(
    key, german, evidence_dir, tmp_path, monkeypatch
):
    """What the trusted-keys file is for: someone who rewrites the store can make their
    own key and sign their own records; only a key list from elsewhere catches that."""
    _enforce(german, evidence_dir)
    monkeypatch.setenv("VL_CONFIG_DIR", str(tmp_path / "mallory"))
    mallory = signing.init_key("Ana Ruiz <ana@example.eu>")  # same name, other key
    forged = tmp_path / "forged"
    _enforce(german, forged)
    assert signing.verify_signatures(forged)["problems"] == []
    trusted = tmp_path / "trusted.txt"
    trusted.write_text(key.public_line() + "\n")
    problems = signing.verify_signatures(forged, trusted)["problems"]
    assert [p["code"] for p in problems] == ["untrusted_key"]
    assert mallory.keyid[:16] in problems[0]["message"]


def test_cli_prints_the_predicate_for_cosign(german, evidence_dir):
    report = _enforce(german, evidence_dir)
    rec = evidence.get(report.evidence_id, root=evidence_dir)
    rc, text = _cli("keys", "predicate", str(rec.path))
    pred = json.loads(text)
    assert rc == 0 and pred["result"] == "FAILED"
    assert pred["failedTests"] == [r.control_id for r in report if r.status in ("fail", "error")]
    sync = evidence.append("sync", {"target": "mlflow"}, root=evidence_dir)
    assert _cli("keys", "predicate", str(sync.path))[0] == 2


def test_verify_of_a_folder_without_evidence(tmp_path):
    rc, text = _cli("verify", "--evidence-dir", str(tmp_path / "none"))
    assert rc == 0 and "0 records checked" in text and "no signed records" in text
    rc, text = _cli("verify", "--evidence-dir", str(tmp_path / "none"), "--anchor", "3:" + "a" * 64)
    assert rc == 1 and "problem [anchor_missing] no record with seq 3 (anchor)" in text


def test_records_of_other_shapes_are_signed(key, evidence_dir):
    # docs/evidence.md's example shape: the policy named by its file, no status per result
    rec = evidence.append(
        "enforce",
        {"policy": "lending.yaml", "results": [{"control_id": "x", "passed": False}, "junk"]},
        root=evidence_dir,
    )
    env = _envelope(evidence_dir, rec)
    pred = signing.verify_envelope(env, base64.b64decode(key.public_key))["predicate"]
    assert pred["configuration"] == []  # neither a hash nor a path: nothing to name
    assert pred["result"] == "FAILED" and pred["passedTests"] == []  # nothing was evaluated


def test_a_failing_signer_leaves_the_record_unsigned_with_a_warning(key, evidence_dir, monkeypatch):
    def broken(self, doc, name, raw):
        raise RuntimeError("hardware token unplugged")

    monkeypatch.setattr(signing.Signer, "attest", broken)
    with pytest.warns(
        vl.VLWarning,
        match=r"written unsigned: signing failed \(RuntimeError: hardware token unplugged\)",
    ):
        rec = evidence.append("telemetry", {"name": "b", "success": True}, root=evidence_dir)
    assert "signer" not in _doc(rec)
    assert evidence.verify(evidence_dir).ok
    assert signing.verify_signatures(evidence_dir) == {"signed": [], "problems": []}


def test_envelopes_without_their_record_or_signer_are_named(key, german, evidence_dir):
    report = _enforce(german, evidence_dir)
    rec = evidence.get(report.evidence_id, root=evidence_dir)
    sig_dir = evidence_dir / "signatures"
    envelope = (sig_dir / f"{rec.file[:-5]}.dsse.json").read_bytes()
    (sig_dir / "00000009_20261201T000000000000Z-deadbeef.dsse.json").write_bytes(envelope)
    unsigned = evidence.EvidenceStore(evidence_dir).append(
        "telemetry", {"name": "b", "success": True}, signer=False
    )
    (sig_dir / f"{unsigned.file[:-5]}.dsse.json").write_bytes(envelope)
    problems = signing.verify_signatures(evidence_dir)["problems"]
    assert [(p["code"], p["file"]) for p in problems] == [
        ("orphan_signature", "signatures/00000009_20261201T000000000000Z-deadbeef.dsse.json"),
        ("unexpected_signature", f"signatures/{unsigned.file[:-5]}.dsse.json"),
    ]


def test_a_configured_key_that_is_missing_warns_and_writes_unsigned(
    evidence_dir, monkeypatch, tmp_path
):
    monkeypatch.setenv("VL_SIGNING_KEY", str(tmp_path / "gone.key"))
    warning = r"written unsigned: SigningError: no signing key at .*gone\.key"
    with (
        pytest.warns(vl.VLWarning, match=warning),
        vl.monitor("cell", evidence_dir=evidence_dir, quiet=True) as m,
    ):
        pass
    rec = evidence.get(m.result.evidence_id, root=evidence_dir)
    assert "signer" not in _doc(rec)


def test_a_signatures_link_out_of_the_store_is_never_written_through(key, evidence_dir, tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    evidence_dir.mkdir(parents=True)
    (evidence_dir / "signatures").symlink_to(outside)
    with pytest.warns(vl.VLWarning, match=r"written unsigned: .*signatures is a link to .*outside"):
        rec = evidence.append("telemetry", {"name": "b", "success": True}, root=evidence_dir)
    assert "signer" not in _doc(rec) and list(outside.iterdir()) == []


def test_the_cli_and_the_bundle_script_print_a_signature_alike(tmp_path):
    """One renderer: ``vl-jupyter verify --signatures`` and ``verify_bundle.py`` print the
    same line for the same signed record."""
    from vl_jupyter.signing import _standalone

    entry = {
        "kind": "enforce", "record_id": "r1", "name": "Ana", "keyid": "k" * 20,
        "trusted": True, "trusted_as": "model risk", "result": "OK",
    }  # fmt: skip
    bundle = _standalone.render(
        {"ok": True, "checked": 1, "source": "x", "head": None, "signed": [entry],
         "unsigned": [], "problems": []}
    )  # fmt: skip
    line = "  signed enforce r1 by Ana (key kkkkkkkkkkkkkkkk, trusted as model risk): OK"
    assert line in bundle.splitlines()
