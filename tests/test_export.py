"""Auditor exports: OSCAL (validated with NIST's models via compliance-trestle), CycloneDX
1.6 (validated with the library's schema), the Hugging Face header, Annex IV HTML+PDF, the
bundle and its offline verifier; all deterministic."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
import yaml

import vl_jupyter as vl
from vl_jupyter import evidence, signing
from vl_jupyter.cli import main
from vl_jupyter.errors import ExportError
from vl_jupyter.export import export, select, write_run_files
from vl_jupyter.review import record_review

POLICY = vl.datasets.policy_path("german_credit_data")


@pytest.fixture(scope="module")
def store(tmp_path_factory, _german_credit):
    """A signed store: a monitored block, a failing enforce call in it, a review accepting
    one failure, then an enforce call in another session."""
    base = tmp_path_factory.mktemp("export")
    root = base / ".venturalitica"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("VL_CONFIG_DIR", str(base / "config"))
        signing.init_key("Ana Ruiz <ana@example.eu>")
        with vl.monitor("train_model", evidence_dir=root, quiet=True):
            report = vl.enforce(
                _german_credit,
                POLICY,
                target="class",
                gender="gender",
                age="age",
                evidence_dir=root,
            )
        failing = next(r.control_id for r in report if r.status == "fail")
        record_review(
            report,
            failing,
            "accept_risk",
            reviewer="Model Risk Reviewer",
            justification="mitigated by a human check",
            evidence_dir=root,
        )
        later = vl.enforce(
            _german_credit, POLICY, target="class", gender="gender", evidence_dir=root
        )
    return {"root": root, "report": report, "failing": failing, "later": later, "base": base}


@pytest.fixture(scope="module")
def bundle_bytes(store, tmp_path_factory) -> bytes:
    """One bundle of the module's store (rendering its PDF takes a second or two)."""
    out = tmp_path_factory.mktemp("bundle")
    (path,) = export("bundle", out, evidence_dir=store["root"]).files
    return path.read_bytes()


def _files(tmp_path: Path, fmt: str, store, **kw) -> dict[str, bytes]:
    out = tmp_path / fmt
    result = export(fmt, out, evidence_dir=store["root"], **kw)
    return {p.relative_to(out).as_posix(): p.read_bytes() for p in result.files}


def test_oscal_documents_validate_against_nists_model(store, tmp_path):
    from trestle.oscal.assessment_results import AssessmentResults
    from trestle.oscal.poam import PlanOfActionAndMilestones

    files = _files(tmp_path, "oscal", store, session=store["report"].session)
    ar = json.loads(files["assessment-results.oscal.json"])["assessment-results"]
    AssessmentResults.model_validate(ar)
    report = store["report"]
    evaluated = [r for r in report if r.status != "skipped"]
    (result,) = ar["results"]  # one enforce record in that session
    states = {f["target"]["target-id"]: f["target"]["status"]["state"] for f in result["findings"]}
    assert states == {
        r.control_id: "satisfied" if r.status in ("pass", "warn") else "not-satisfied"
        for r in evaluated
    }
    obs = next(o for o in result["observations"] if o["title"].startswith(store["failing"]))
    props = {p["name"]: p["value"] for p in obs["props"]}
    assert props["value"] == repr(report[store["failing"]].actual_value)
    assert props["status"] == "fail"
    risk = next(r for r in result["risks"] if r["title"].startswith(store["failing"]))
    assert risk["status"] == "deviation-approved"
    (entry,) = risk["risk-log"]["entries"]
    assert (entry["title"], entry["description"]) == (
        "accept risk by Model Risk Reviewer",
        "mitigated by a human check",
    )
    assert entry["status-change"] == "deviation-approved"
    assert [p["name"] for p in ar["metadata"]["parties"]] == ["Model Risk Reviewer"]
    open_risks = [r for r in result["risks"] if r["status"] == "open"]
    poam = json.loads(files["poam.oscal.json"])["plan-of-action-and-milestones"]
    PlanOfActionAndMilestones.model_validate(poam)
    assert len(poam["poam-items"]) == len(result["risks"]) == len(open_risks) + 1
    with pytest.raises(Exception, match=r"extra_forbidden|Extra inputs"):
        AssessmentResults.model_validate({**ar, "bogus": 1})  # the validator is strict


@pytest.mark.slow
def test_cyclonedx_model_card_validates_and_carries_cis_groups_and_energy(store, tmp_path):
    from cyclonedx.schema import SchemaVersion
    from cyclonedx.validation.json import JsonStrictValidator

    files = _files(tmp_path, "model-card", store)
    text = files["bom.cdx.json"].decode()
    assert JsonStrictValidator(SchemaVersion.V1_6).validate_str(text) is None
    bom = json.loads(text)
    assert bom["specVersion"] == "1.6"
    model = bom["metadata"]["component"]
    assert model["type"] == "machine-learning-model"
    metrics = model["modelCard"]["quantitativeAnalysis"]["performanceMetrics"]
    r = next(r for r in store["report"] if r.ci)
    overall = next(m for m in metrics if m["slice"].startswith(f"control {r.control_id} ("))
    assert overall["value"] == repr(r.actual_value)
    assert overall["confidenceInterval"] == {
        "lowerBound": repr(r.ci[0]),
        "upperBound": repr(r.ci[1]),
    }
    group, g = sorted(r.metadata["groups"].items())[0]
    assert any(m["slice"] == f"control {r.control_id}, group {group} (n={g['n']})" for m in metrics)
    (energy,) = model["modelCard"]["considerations"]["environmentalConsiderations"][
        "energyConsumptions"
    ]
    tele = next(evidence.records("telemetry", root=store["root"])).data
    assert energy["activity"] == "training"
    assert energy["activityEnergyCost"] == {"value": tele["energy_kwh"], "unit": "kWh"}
    assert energy["co2CostEquivalent"] == {"value": tele["co2e_g"] / 1e6, "unit": "tCO2eq"}
    data = [c for c in bom["components"] if c["type"] == "data"]
    assert data[0]["hashes"] == [
        {"alg": "SHA-256", "content": store["report"].data["content_hash"]}
    ]
    header = yaml.safe_load(files["README.md"].decode().split("---\n")[1])
    results = header["model-index"][0]["results"]
    assert len(results) == 2  # two enforce records
    assert header["co2_eq_emissions"]["emissions"] == tele["co2e_g"]
    m = next(m for m in results[0]["metrics"] if m["name"].startswith(r.control_id))
    assert m["value"] == r.actual_value and "95% CI" in m["name"]


@pytest.mark.slow
def test_annex_iv_html_is_self_contained_and_the_pdf_is_not_blank(store, tmp_path):
    import numpy as np
    import pypdfium2

    files = _files(tmp_path, "annex-iv", store)
    html = files["annex-iv.html"].decode()
    for n in range(1, 10):
        assert f"<h2>{n}. " in html
    assert "<script" not in html and "http" not in html.replace('lang="en"', "")
    assert html.count('class="gap"') == 1 + int(html.split("<b>")[1].split(" gaps")[0])
    assert "Model Risk Reviewer" in html and "signed by Ana Ruiz" in html and "(verified)" in html
    assert store["report"].data["content_hash"] in html
    pdf = pypdfium2.PdfDocument(files["annex-iv.pdf"])
    assert len(pdf) >= 3
    newest = max(evidence.records(root=store["root"]), key=lambda r: r.seq).created
    meta = pdf.get_metadata_dict()
    assert meta["CreationDate"] == meta["ModDate"] == newest.strftime("D:%Y%m%d%H%M%SZ")
    image = np.asarray(pdf[0].render(scale=1).to_pil().convert("L"))
    dark = (image < 128).mean()
    assert 0.01 < dark < 0.5  # text on a page, neither blank nor a black box


@pytest.mark.slow
def test_exports_are_byte_identical_for_the_same_evidence(store, tmp_path, bundle_bytes):
    first = {"audit-bundle.zip": bundle_bytes}
    second = _files(tmp_path / "b", "bundle", store)
    assert first == second
    with zipfile.ZipFile(io.BytesIO(first["audit-bundle.zip"])) as zf:
        names = zf.namelist()
        assert names == sorted(names)
        assert {i.date_time for i in zf.infolist()} == {(1980, 1, 1, 0, 0, 0)}
        for fmt_file in (
            "annex-iv/annex-iv.pdf",
            "oscal/poam.oscal.json",
            "model-card/bom.cdx.json",
        ):
            assert fmt_file in names


def run_verifier_on_zip(
    script: Path, entries: dict[str, bytes], tmp_path: Path
) -> subprocess.CompletedProcess[str]:
    """Zip ``entries`` as ``bad.zip`` and run the bundle's own ``verify_bundle.py`` on it,
    in an isolated interpreter (no vl_jupyter on its path)."""
    bad = tmp_path / "bad.zip"
    with zipfile.ZipFile(bad, "w") as zf:
        for name, payload in entries.items():
            zf.writestr(name, payload)
    return subprocess.run(
        [sys.executable, "-I", str(script), str(bad)], capture_output=True, text=True, cwd=tmp_path
    )


def test_bundle_verifies_offline_and_names_a_flipped_byte(tmp_path, bundle_bytes):
    bundle = tmp_path / "audit-bundle.zip"
    bundle.write_bytes(bundle_bytes)
    with zipfile.ZipFile(bundle) as zf:
        script = tmp_path / "verify_bundle.py"
        script.write_bytes(zf.read("verify_bundle.py"))
        verify_md = zf.read("VERIFY.md").decode()
        entries = {i.filename: zf.read(i) for i in zf.infolist()}
    assert "--trusted-keys" in verify_md and "another channel" in verify_md
    run = subprocess.run(
        [sys.executable, "-I", str(script), str(bundle)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert run.stdout.count("by Ana Ruiz <ana@example.eu>") == 4  # telemetry, 2 enforce, review
    record = sorted(n for n in entries if n.startswith("evidence/records/"))[0]  # enforce
    data = bytearray(entries[record])
    at = data.index(b'"actual_value":') + len(b'"actual_value":') + 2
    data[at] = ord("9") if data[at] != ord("9") else ord("8")
    entries[record] = bytes(data)
    run = run_verifier_on_zip(script, entries, tmp_path)
    assert run.returncode == 1
    assert f"problem [edited] {record} (record" in run.stdout
    assert f"problem [manifest_mismatch] {record} differs from the manifest" in run.stdout


def test_the_bundle_carries_each_policy_text_once_and_its_verifier_checks_it(
    tmp_path, bundle_bytes
):
    import hashlib

    with zipfile.ZipFile(io.BytesIO(bundle_bytes)) as zf:
        entries = {i.filename: zf.read(i) for i in zf.infolist()}
    blobs = [n for n in entries if n.startswith("evidence/policies/")]
    digest = hashlib.sha256(POLICY.read_bytes()).hexdigest()
    assert blobs == [f"evidence/policies/{digest}.yaml"]  # two enforce records, one text
    assert entries[blobs[0]] == POLICY.read_bytes()
    assert f"  {blobs[0]}\n" in entries["MANIFEST.sha256"].decode()
    script = tmp_path / "verify_bundle.py"
    script.write_bytes(entries["verify_bundle.py"])
    del entries[blobs[0]]  # and the manifest line with it: only the record still names it
    manifest = [
        x for x in entries.pop("MANIFEST.sha256").decode().splitlines() if blobs[0] not in x
    ]
    entries["MANIFEST.sha256"] = ("\n".join(manifest) + "\n").encode()
    run = run_verifier_on_zip(script, entries, tmp_path)
    assert run.returncode == 1
    assert f"problem [blob_missing] {blobs[0]}, the policy text of evidence/records/" in run.stdout


def test_selection_by_session_date_and_policy(store, tmp_path):
    root = store["root"]
    everything = select(root)
    assert [r.kind for r in everything.records] == ["enforce", "telemetry", "review", "enforce"]
    one = select(root, session=store["report"].session)
    assert {r.session for r in one.records} == {store["report"].session}
    assert len(select(root, since=store["later"].started).records) == 1
    with pytest.raises(ExportError, match="nothing to export: no record matches"):
        select(root, since="2999-01-01")
    by_policy = select(root, policy="German credit data audit")
    assert len(by_policy.records) == 4
    with pytest.raises(ExportError, match="no enforce or review record of policy nope") as err:
        select(root, policy="nope")
    assert "German credit data audit" in str(err.value)
    with pytest.raises(ExportError, match="not a date"):
        select(root, since="last tuesday")
    with pytest.raises(ExportError, match="no evidence record in session 'x'"):
        select(root, session="x")
    with pytest.raises(ExportError, match="unknown export format 'docx'"):
        export("docx", tmp_path, evidence_dir=root)
    with pytest.raises(ExportError, match="no evidence in"):
        export("oscal", tmp_path, evidence_dir=tmp_path / "empty")
    with pytest.raises(ExportError, match="refusing to write the export into the evidence folder"):
        export("oscal", root / "records" / "x", evidence_dir=root)
    assert not (root / "records" / "x").exists()


def test_damaged_evidence_is_not_exported(german, evidence_dir, tmp_path):
    report = vl.enforce(german, POLICY, target="class", gender="gender", evidence_dir=evidence_dir)
    path = evidence.get(report.evidence_id, root=evidence_dir).path
    path.chmod(0o644)
    path.write_bytes(path.read_bytes().replace(b'"rows":1000', b'"rows":1001'))
    with pytest.raises(ExportError, match=r"damaged .*\[edited\].*refusing to export") as err:
        export("bundle", tmp_path / "out", evidence_dir=evidence_dir)
    assert err.value.file == f"records/{path.name}"
    assert not (tmp_path / "out").exists()


def test_cli_export_and_vl_export_are_one_function(store, tmp_path):
    out = io.StringIO()
    rc = main(
        [
            "export",
            "--format",
            "oscal",
            "--out",
            str(tmp_path / "cli"),
            "--evidence-dir",
            str(store["root"]),
            "--policy",
            "german_credit_data",
            "--json",
        ],
        out=out,
    )
    body = json.loads(out.getvalue())
    assert rc == 0 and body["records"] == 4 and body["selection"] == "policy german_credit_data"
    result = vl.export(
        "oscal", tmp_path / "api", evidence_dir=store["root"], policy="german_credit_data"
    )
    assert [p.read_bytes() for p in result.files] == [Path(p).read_bytes() for p in body["files"]]
    err = io.StringIO()
    rc = main(
        [
            "export",
            "--format",
            "oscal",
            "--out",
            str(tmp_path),
            "--evidence-dir",
            str(store["root"]),
            "--since",
            "soon",
        ],
        out=err,
    )
    assert rc == 2


def test_per_run_bom_and_oscal_files(store):
    root = store["root"]
    session = store["report"].session
    paths = write_run_files(
        session,
        evidence_dir=root,
        modules=["numpy", "pandas", "sklearn"],
        model_class="sklearn.linear_model.LogisticRegression",
    )
    assert [p.name for p in paths] == [
        "bom.json",
        "assessment-results.oscal.json",
        "poam.oscal.json",
    ]
    from cyclonedx.schema import SchemaVersion
    from cyclonedx.validation.json import JsonStrictValidator

    text = paths[0].read_text()
    assert JsonStrictValidator(SchemaVersion.V1_6).validate_str(text) is None
    bom = json.loads(text)
    assert bom["metadata"]["component"]["name"] == f"run {session}"
    assert f"run:{session}" in {d["ref"] for d in bom["dependencies"]}
    names = {c["name"] for c in bom["components"]}
    assert {"numpy", "pandas", "scikit-learn", "sklearn.linear_model.LogisticRegression"} <= names
    assert bom["specVersion"] == "1.6"
    with pytest.raises(ExportError, match="no evidence record in run 'nope'"):
        write_run_files("nope", evidence_dir=root)


def test_records_of_another_shape_export_without_inventing_values(evidence_dir, tmp_path):
    from trestle.oscal.assessment_results import AssessmentResults

    evidence.append(
        "enforce",
        {"policy": "lending.yaml", "results": [
            {"control_id": "approvals-by-sex", "metric_key": "disparate_impact",
             "actual_value": 0.74, "threshold": 0.8, "operator": "gt", "passed": False},
            {"control_id": "no-verdict", "metric_key": "accuracy"},
            "junk",
        ]},
        root=evidence_dir,
    )  # fmt: skip
    files = _files(tmp_path, "oscal", {"root": evidence_dir})
    ar = json.loads(files["assessment-results.oscal.json"])["assessment-results"]
    AssessmentResults.model_validate(ar)
    (result,) = ar["results"]
    assert result["title"] == "lending.yaml"
    states = {f["target"]["target-id"]: f["target"]["status"] for f in result["findings"]}
    assert states == {
        "approvals-by-sex": {"state": "not-satisfied", "reason": "fail"},
        "no-verdict": {"state": "not-satisfied", "reason": "error"},
    }


def test_the_offline_verifier_never_crashes_on_damaged_bundles(tmp_path, bundle_bytes):
    """Fuzz: 100 random single-byte changes to records, envelopes and the manifest. Each
    is reported as a problem (or, where the byte did not matter to JSON, e.g. a changed
    insignificant space, still caught by the manifest); the verifier never raises."""
    import random

    with zipfile.ZipFile(io.BytesIO(bundle_bytes)) as zf:
        entries = {i.filename: zf.read(i) for i in zf.infolist()}
    targets = sorted(n for n in entries if n.startswith("evidence/") or n == "MANIFEST.sha256")
    rng = random.Random(15)
    for trial in range(100):
        name = rng.choice(targets)
        data = bytearray(entries[name])
        at = rng.randrange(len(data))
        data[at] = rng.choice([c for c in b'0123456789abcdef"{}[],:x ' if c != data[at]])
        damaged = tmp_path / f"fuzz{trial % 4}.zip"
        with zipfile.ZipFile(damaged, "w") as zf:
            for n, payload in entries.items():
                zf.writestr(n, bytes(data) if n == name else payload)
        result = signing.verify_offline(str(damaged))
        assert not result["ok"], (name, at)
        assert all({"code", "file", "message"} <= set(p) for p in result["problems"])


@pytest.mark.parametrize(
    "change",
    [{"seq": "x"}, {"seq": True}, {"id": 5}, {"signer": "bob"}, {"signer": {"public_key": 5}},
     {"prev_hash": None}],
)  # fmt: skip
def test_a_forged_record_with_a_valid_hash_but_wrong_types_is_malformed(store, change):
    from vl_jupyter.signing._standalone import record_hash

    bundle_files = {}
    for rec in sorted(evidence.records(root=store["root"]), key=lambda r: r.seq):
        bundle_files[f"records/{rec.file}"] = rec.path.read_bytes()
    first = sorted(bundle_files)[0]
    doc = json.loads(bundle_files[first])
    doc.update(change)
    doc["hash"] = record_hash(doc)
    bundle_files[first] = json.dumps(doc).encode()
    src = signing.Source(bundle_files, "test")
    _, problems = signing.check_chain(src)
    assert [p["code"] for p in problems] == ["malformed", "deleted"]
    assert problems[0]["file"] == first
    assert "seq 1 (before records/00000002_" in problems[1]["message"]


def test_annex_iv_shows_policy_versions_and_their_diff(german, evidence_dir, tmp_path):
    from vl_jupyter.export._annex import build_html

    v1 = POLICY.read_text()
    v2 = v1.replace('version: "1.0"', 'version: "1.1"').replace(
        "threshold: 0.4\n", "threshold: 0.35\n", 1
    )
    assert v2.count("0.35") == 1
    (tmp_path / "p.yaml").write_text(v1)
    vl.enforce(german, tmp_path / "p.yaml", target="class", gender="gender", age="age",
               evidence_dir=evidence_dir, ci=False)  # fmt: skip
    (tmp_path / "p.yaml").write_text(v2)
    vl.enforce(german, tmp_path / "p.yaml", target="class", gender="gender", age="age",
               evidence_dir=evidence_dir, ci=False)  # fmt: skip
    html = build_html(select(evidence_dir))
    section = html.split("<h2>6. ")[1].split("<h2>7. ")[0]
    assert section.count("<li>German credit data audit v1.") == 2
    diff = section.split("<pre>")[1].split("</pre>")[0]
    assert "--- v1.0\n+++ v1.1" in diff
    assert "-    threshold: 0.4\n+    threshold: 0.35" in diff
    assert "-version: &quot;1.0&quot;\n+version: &quot;1.1&quot;" in diff


def test_a_monitored_run_gets_its_bom_and_oscal_files(german, evidence_dir):
    from cyclonedx.schema import SchemaVersion
    from cyclonedx.validation.json import JsonStrictValidator
    from trestle.oscal.assessment_results import AssessmentResults
    from trestle.oscal.poam import PlanOfActionAndMilestones

    with vl.monitor("train_v1", evidence_dir=evidence_dir, quiet=True) as m:
        vl.enforce(german, POLICY, target="class", gender="gender", age="age",
                   evidence_dir=evidence_dir, ci=False)  # fmt: skip
    run = evidence_dir / "runs" / m.result.session
    bom = (run / "bom.json").read_text()
    assert JsonStrictValidator(SchemaVersion.V1_6).validate_str(bom) is None
    names = {c["name"] for c in json.loads(bom)["components"]}
    assert {"numpy", "pandas", "vl-jupyter"} <= names  # what this process imported
    ar = json.loads((run / "assessment-results.oscal.json").read_text())["assessment-results"]
    AssessmentResults.model_validate(ar)
    poam = json.loads((run / "poam.oscal.json").read_text())["plan-of-action-and-milestones"]
    PlanOfActionAndMilestones.model_validate(poam)  # the german data policy fails a control


def test_without_cryptography_the_verifier_checks_the_chain_and_says_what_it_could_not(
    tmp_path, bundle_bytes
):
    bundle = tmp_path / "b.zip"
    bundle.write_bytes(bundle_bytes)
    script = tmp_path / "verify_bundle.py"
    script.write_text(signing.standalone_source())
    code = (
        "import sys, runpy; sys.modules['cryptography'] = None; "
        f"sys.argv = ['verify_bundle.py', {str(bundle)!r}]; "
        f"runpy.run_path({str(script)!r}, run_name='__main__')"
    )
    run = subprocess.run([sys.executable, "-I", "-c", code], capture_output=True, text=True)
    assert run.returncode == 1, run.stderr
    assert run.stdout.startswith("FAILED: 4 records")
    assert run.stdout.count("problem [no_crypto]") == 4
    assert "[edited]" not in run.stdout and "[manifest" not in run.stdout


@pytest.mark.slow
def test_a_wrapped_estimator_names_the_model(german, evidence_dir, tmp_path):
    from sklearn.linear_model import LogisticRegression

    X = german[["Attribute2", "Attribute5", "Attribute8", "age"]]
    policy = vl.datasets.policy_path("german_credit_model")
    bindings = {"target": "class", "prediction": "prediction", "gender": "gender", "age": "age"}
    model = vl.wrap(LogisticRegression(max_iter=500), policy, evidence_dir=evidence_dir, **bindings)
    model.fit(X, german["class"], audit_data=german)
    session = next(evidence.records("enforce", root=evidence_dir)).session
    (bom_path, *_) = write_run_files(session, evidence_dir=evidence_dir, modules=["sklearn"])
    components = json.loads(bom_path.read_text())["components"]
    assert {"name": "LogisticRegression", "type": "machine-learning-model"}.items() <= next(
        c for c in components if c["type"] == "machine-learning-model"
    ).items()
    card = _files(tmp_path, "model-card", {"root": evidence_dir})["bom.cdx.json"]
    assert json.loads(card)["metadata"]["component"]["name"] == "LogisticRegression"
