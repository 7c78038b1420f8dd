"""How often does the baseline comparison cry wolf? And does it see real regressions?

The German credit model audit (logistic regression, 300 test applicants) is compared with
itself on bootstrap copies of its test set: nothing changed but the sample, so every
"significant" change is a false alarm. The nominal rate of the z-test is 5 % per control;
because a bootstrap copy shares most rows with the original, the true rate should come
out lower (the test assumes two independent samples). Alert levels (5/10/15 % relative
degradation) are counted too: they measure size, not significance, so on small groups
they fire on noise, which is why a policy fails a control only on a significant one.

    python benchmarks/bench_false_alarms.py [--seeds 200]
"""

from __future__ import annotations

import argparse
import time
from collections import Counter, defaultdict

import vl_jupyter as vl
from vl_jupyter.errors import ComplianceBlockError


def model_frame():
    from sklearn.compose import make_column_transformer
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import train_test_split
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    df = vl.datasets.load_german_credit(derived=True)
    features = [f"Attribute{i}" for i in range(1, 21)]
    numeric = [c for c in features if df[c].dtype.kind in "if"]
    categorical = [c for c in features if c not in numeric]
    train, test = train_test_split(df, test_size=0.3, stratify=df["class"], random_state=0)
    model = make_pipeline(
        make_column_transformer(
            (OneHotEncoder(handle_unknown="ignore"), categorical), (StandardScaler(), numeric)
        ),
        LogisticRegression(max_iter=1000),
    ).fit(train[features], train["class"])
    return test.assign(prediction=model.predict(test[features]))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seeds", type=int, default=200)
    args = parser.parse_args()
    frame = model_frame()
    policy = vl.datasets.policy_path("german_credit_model")
    bind = {"target": "class", "prediction": "prediction", "gender": "gender", "age": "age"}
    base = vl.enforce(frame, policy, evidence=False, **bind)
    significant: Counter[str] = Counter()
    tested: Counter[str] = Counter()
    levels: Counter[str] = Counter()
    by_control: dict[str, Counter[str]] = defaultdict(Counter)
    any_alarm = 0
    clock = time.perf_counter()
    for seed in range(args.seeds):
        copy = frame.sample(frac=1, replace=True, random_state=seed)
        try:
            report = vl.enforce(copy, policy, evidence=False, seed=seed + 1, **bind)
        except ComplianceBlockError as blocked:  # the policy blocks on one control: judge all
            report = blocked.report
        comparison = report.compare(base)
        alarm = False
        for change in comparison:
            levels[change.level] += 1
            by_control[change.control_id][change.level] += 1
            if change.significant is not None:
                tested[change.control_id] += 1
                significant[change.control_id] += change.significant
                alarm |= change.significant
        any_alarm += alarm
    elapsed = time.perf_counter() - clock
    print(f"{args.seeds} bootstrap copies of the 300-row test set, {elapsed:.1f} s")
    print(f"{'control':28} {'false alarms':>12}  (nominal 5 %)   alert levels on noise")
    for cid in by_control:
        rate = f"{significant[cid] / tested[cid]:.1%}" if tested[cid] else "not tested"
        seen = ", ".join(f"{k} {v}" for k, v in sorted(by_control[cid].items()) if k != "none")
        print(f"{cid:28} {rate:>12}                  {seen or '-'}")
    total = sum(significant.values()) / max(1, sum(tested.values()))
    print(f"{'all controls':28} {total:>12.1%}")
    print(f"{'any control in a run':28} {any_alarm / args.seeds:>12.1%}")
    n = sum(levels.values())
    print(
        "alert levels on noise: " + ", ".join(f"{k} {v / n:.1%}" for k, v in sorted(levels.items()))
    )


if __name__ == "__main__":
    main()
