"""The metric catalogue: every key a policy may name, what it means, and what feeds it.

This table is the single source of truth for metric *names*: the policy reader validates
keys and parameters against it, ``docs/metrics.md`` is generated from it, and
``_formulas`` attaches one computation to every entry. Families (``_diff``, ``_ratio``,
group min) are generated from one table, as fairlearn does, so their definitions cannot
drift apart.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ._params import Param

# Roles a metric can read. ``outcome`` is not a role: selection-rate metrics read the
# ``prediction`` when the control binds one and the ``target`` otherwise (a data audit).
ROLES = ("target", "prediction", "score", "dimension", "sensitive")

_MIN_GROUP = Param(
    "min_group_size",
    "int",
    1,
    "groups with fewer rows are excluded from the metric and listed in the result",
    minimum=1,
)
_POS_LABEL = Param("pos_label", "label", 1, "the favourable label (string labels work)")
_BINS = Param(
    "bins",
    "bins",
    None,
    "bin a numeric dimension: a number of equal-frequency bins, or a list of cut points "
    "such as 25,60",
)
_GROUP_PARAMS = (_MIN_GROUP, _BINS)
_AVERAGE = Param(
    "average",
    "str",
    "binary",
    "binary (of pos_label), or over all classes: macro, micro, weighted",
    choices=("binary", "macro", "micro", "weighted"),
)
_QUASI = Param("quasi_identifiers", "list", None, "columns (or variables) that identify a person")


@dataclass(frozen=True)
class MetricSpec:
    """What a metric key means. ``statistic`` names the sufficient statistic it is computed
    from (see ``_stats``); ``direction`` says which way is better (``higher``, ``lower``, or
    ``none`` for descriptive figures)."""

    key: str
    category: str
    summary: str
    formula: str
    direction: str
    typical: str
    roles: tuple[str, ...]
    statistic: str
    params: tuple[Param, ...] = ()
    optional_roles: tuple[str, ...] = ()
    aliases: tuple[str, ...] = ()
    oracle: str = ""  # the reference implementation our number equals, if one exists
    note: str = ""

    @property
    def grouped(self) -> bool:
        return "dimension" in self.roles

    def param(self, name: str) -> Param | None:
        for p in self.params:
            if p.name == name:
                return p
        return None


_SPECS: list[MetricSpec] = []


def _add(spec: MetricSpec) -> None:
    _SPECS.append(spec)


# --- data quality and privacy ------------------------------------------------------------
_add(
    MetricSpec(
        "class_imbalance",
        "data_quality",
        "How balanced the target classes are.",
        "count(least frequent class) / count(most frequent class)",
        "higher",
        "gt 0.5",
        ("target",),
        "classes",
    )
)
_add(
    MetricSpec(
        "group_size_min",
        "data_quality",
        "Rows in the smallest group of the dimension.",
        "min_g n_g",
        "higher",
        "ge 30",
        ("dimension",),
        "group_sizes",
        (_BINS,),
    )
)
_add(
    MetricSpec(
        "group_share_min",
        "data_quality",
        "Share of rows in the smallest group of the dimension.",
        "min_g n_g / n",
        "higher",
        "ge 0.1",
        ("dimension",),
        "group_sizes",
        (_BINS,),
    )
)
_add(
    MetricSpec(
        "data_completeness",
        "data_quality",
        "Share of cells that are not missing.",
        "1 - missing cells / all cells (over `columns`, default every column)",
        "higher",
        "ge 0.95",
        (),
        "frame",
        (Param("columns", "list", None, "columns to check (default: all)"),),
        aliases=("completeness",),
    )
)
_add(
    MetricSpec(
        "missing_rate_max",
        "data_quality",
        "Missing-value rate of the worst column.",
        "max_c missing(c) / n (over `columns`, default every column)",
        "lower",
        "le 0.05",
        (),
        "frame",
        (Param("columns", "list", None, "columns to check (default: all)"),),
    )
)
_add(
    MetricSpec(
        "duplicate_rate",
        "data_quality",
        "Share of rows that exactly repeat an earlier row.",
        "duplicated rows / n (over `columns`, default every column)",
        "lower",
        "le 0.01",
        (),
        "frame",
        (Param("columns", "list", None, "columns that define a duplicate (default: all)"),),
    )
)
_add(
    MetricSpec(
        "k_anonymity",
        "privacy",
        "Size of the smallest set of rows sharing the same quasi-identifier values.",
        "min over equivalence classes of the class size",
        "higher",
        "ge 5",
        (),
        "frame",
        (_QUASI,),
    )
)
_add(
    MetricSpec(
        "l_diversity",
        "privacy",
        "Fewest distinct sensitive values within any equivalence class of quasi-identifiers.",
        "min over equivalence classes of nunique(sensitive)",
        "higher",
        "ge 2",
        ("sensitive",),
        "frame",
        (_QUASI,),
    )
)

# --- fairness on the outcome (selection rates) ---------------------------------------------
_OUTCOME_NOTE = "Reads the prediction when the control binds one, else the target (a data audit)."
_add(
    MetricSpec(
        "selection_rate",
        "fairness",
        "Share of rows with the favourable outcome.",
        "P(outcome = pos_label)",
        "none",
        "descriptive",
        (),
        "outcome",
        (_POS_LABEL,),
        optional_roles=("target", "prediction"),
        oracle="fairlearn.metrics.selection_rate",
        note=_OUTCOME_NOTE,
    )
)
_add(
    MetricSpec(
        "disparate_impact",
        "fairness",
        "Lowest group selection rate over the highest (the four-fifths rule).",
        "min_g SR_g / max_g SR_g",
        "higher",
        "gt 0.8",
        ("dimension",),
        "outcome",
        (_POS_LABEL, *_GROUP_PARAMS),
        optional_roles=("target", "prediction"),
        aliases=("disparate_impact_ratio",),
        oracle="fairlearn.metrics.demographic_parity_ratio",
        note=_OUTCOME_NOTE,
    )
)
_add(
    MetricSpec(
        "multiclass_demographic_parity",
        "fairness",
        "Largest gap in the rate of any one class between groups.",
        "max_k (max_g P(outcome=k | g) - min_g P(outcome=k | g))",
        "lower",
        "lt 0.1",
        ("dimension",),
        "multiclass_outcome",
        _GROUP_PARAMS,
        optional_roles=("target", "prediction"),
        note=_OUTCOME_NOTE,
    )
)
_add(
    MetricSpec(
        "multiclass_equal_opportunity",
        "fairness",
        "Largest gap in the recall of any one class between groups.",
        "max_k (max_g recall_k(g) - min_g recall_k(g))",
        "lower",
        "lt 0.1",
        ("target", "prediction", "dimension"),
        "multiclass_confusion",
        _GROUP_PARAMS,
    )
)
_add(
    MetricSpec(
        "calibration_diff",
        "fairness",
        "Gap between groups in expected calibration error of the score.",
        "max_g ECE_g - min_g ECE_g, ECE_g = sum_b (n_gb / n_g) |mean score_gb - P(target=pos | g, b)|",
        "lower",
        "lt 0.05",
        ("target", "score", "dimension"),
        "calibration",
        (
            _POS_LABEL,
            *_GROUP_PARAMS,
            Param("n_bins", "int", 10, "equal-width score bins on [0, 1]", minimum=1),
        ),
    )
)

# Families: a per-group rate and the ways it is compared across groups, as in fairlearn's
# generated metric table. (rate name, statistic, roles, formula of the rate, fairlearn base)
_RATES = {
    "selection_rate": ("outcome", ("dimension",), "SR_g = P(outcome = pos | g)", "selection_rate"),
    "tpr": ("confusion", ("target", "prediction", "dimension"), "TPR_g = TP_g / (TP_g + FN_g)", "true_positive_rate"),
    "fpr": ("confusion", ("target", "prediction", "dimension"), "FPR_g = FP_g / (FP_g + TN_g)", "false_positive_rate"),
    "fnr": ("confusion", ("target", "prediction", "dimension"), "FNR_g = FN_g / (FN_g + TP_g)", "false_negative_rate"),
    "ppv": ("confusion", ("target", "prediction", "dimension"), "PPV_g = TP_g / (TP_g + FP_g)", "precision_score"),
    "accuracy": ("confusion", ("target", "prediction", "dimension"), "ACC_g = (TP_g + TN_g) / n_g", "accuracy_score"),
}  # fmt: skip

# (key, rate, aggregation, summary, typical, aliases)
_FAMILY = [
    ("demographic_parity_diff", "selection_rate", "diff", "Largest gap in selection rate between groups.", "lt 0.1", ("demographic_parity_difference", "statistical_parity_difference")),
    ("demographic_parity_ratio", "selection_rate", "ratio", "Lowest group selection rate over the highest.", "gt 0.8", ()),
    ("group_min_positive_rate", "selection_rate", "min", "Selection rate of the least-favoured group.", "gt 0.2", ()),
    ("group_max_positive_rate", "selection_rate", "max", "Selection rate of the most-favoured group.", "lt 0.9", ()),
    ("equal_opportunity_diff", "tpr", "diff", "Largest gap in true positive rate between groups.", "lt 0.1", ("equal_opportunity_difference", "true_positive_rate_diff")),
    ("equal_opportunity_ratio", "tpr", "ratio", "Lowest group true positive rate over the highest.", "gt 0.8", ("true_positive_rate_ratio",)),
    ("false_positive_rate_diff", "fpr", "diff", "Largest gap in false positive rate between groups.", "lt 0.1", ("false_positive_rate_difference",)),
    ("false_positive_rate_ratio", "fpr", "ratio", "Lowest group false positive rate over the highest.", "gt 0.8", ()),
    ("false_negative_rate_diff", "fnr", "diff", "Largest gap in false negative rate between groups.", "lt 0.1", ("false_negative_rate_difference",)),
    ("predictive_parity_diff", "ppv", "diff", "Largest gap in precision (positive predictive value) between groups.", "lt 0.1", ("predictive_parity_difference",)),
    ("predictive_parity_ratio", "ppv", "ratio", "Lowest group precision over the highest.", "gt 0.8", ()),
    ("accuracy_diff", "accuracy", "diff", "Largest gap in accuracy between groups.", "lt 0.05", ("accuracy_difference",)),
]  # fmt: skip
_AGG_FORMULA = {
    "diff": "max_g {r} - min_g {r}",
    "ratio": "min_g {r} / max_g {r}",
    "min": "min_g {r}",
    "max": "max_g {r}",
}
_AGG_DIRECTION = {"diff": "lower", "ratio": "higher", "min": "higher", "max": "lower"}
_AGG_FAIRLEARN = {"diff": "difference", "ratio": "ratio", "min": "group_min", "max": "group_max"}

for _key, _rate, _agg, _summary, _typical, _aliases in _FAMILY:
    _stat, _roles, _rate_formula, _base = _RATES[_rate]
    _short = _rate_formula.split(" = ")[0].split("_")[0]
    _oracle = (
        f"fairlearn.metrics.demographic_parity_{_AGG_FAIRLEARN[_agg]}"
        if _rate == "selection_rate" and _agg in ("diff", "ratio")
        else f"fairlearn.metrics.MetricFrame({_base}).{_AGG_FAIRLEARN[_agg]}()"
    )
    _add(MetricSpec(
        _key, "fairness", _summary,
        _AGG_FORMULA[_agg].format(r=_short + "_g") + f", where {_rate_formula}",
        _AGG_DIRECTION[_agg], _typical, _roles, _stat,
        (_POS_LABEL, *_GROUP_PARAMS),
        optional_roles=("target", "prediction") if _stat == "outcome" else (),
        aliases=_aliases, oracle=_oracle, note=_OUTCOME_NOTE if _stat == "outcome" else "",
    ))  # fmt: skip

_add(
    MetricSpec(
        "equalized_odds_diff",
        "fairness",
        "The larger of the true and false positive rate gaps between groups.",
        "max(max_g TPR_g - min_g TPR_g, max_g FPR_g - min_g FPR_g)",
        "lower",
        "lt 0.1",
        ("target", "prediction", "dimension"),
        "confusion",
        (_POS_LABEL, *_GROUP_PARAMS),
        aliases=("equalized_odds_difference",),
        oracle="fairlearn.metrics.equalized_odds_difference",
    )
)
_add(
    MetricSpec(
        "equalized_odds_ratio",
        "fairness",
        "The smaller of the true and false positive rate ratios between groups (1 = parity).",
        "min(min_g TPR_g / max_g TPR_g, min_g FPR_g / max_g FPR_g)",
        "higher",
        "gt 0.8",
        ("target", "prediction", "dimension"),
        "confusion",
        (_POS_LABEL, *_GROUP_PARAMS),
        oracle="fairlearn.metrics.equalized_odds_ratio",
        note=(
            "fairlearn's meaning. The Venturalítica SDK used this name for the sum of the TPR and "
            "FPR gaps (a difference in [0, 2], lower is better); a policy that compares it with "
            "lt/le gets a warning: use equalized_odds_diff for a gap."
        ),
    )
)

# --- performance ---------------------------------------------------------------------------
_PERF = (("target", "prediction"), "confusion_overall")
_add(
    MetricSpec(
        "accuracy_score",
        "performance",
        "Share of correct predictions.",
        "(TP + TN) / n (multiclass: trace / n)",
        "higher",
        "gt 0.7",
        *_PERF,
        aliases=("accuracy",),
        oracle="sklearn.metrics.accuracy_score",
    )
)
_add(
    MetricSpec(
        "balanced_accuracy",
        "performance",
        "Mean recall over the classes.",
        "mean_k recall_k",
        "higher",
        "gt 0.7",
        *_PERF,
        aliases=("balanced_accuracy_score",),
        oracle="sklearn.metrics.balanced_accuracy_score",
    )
)
for _name, _formula, _alias in (
    ("precision_score", "TP / (TP + FP)", "precision"),
    ("recall_score", "TP / (TP + FN)", "recall"),
    ("f1_score", "2 TP / (2 TP + FP + FN)", "f1"),
):
    _add(MetricSpec(
        _name, "performance", f"{_alias.capitalize()} of the favourable class, or averaged over classes.",
        _formula + " (average=macro|micro|weighted: over one-vs-rest classes)", "higher", "gt 0.7",
        *_PERF, (_POS_LABEL, _AVERAGE), aliases=(_alias,), oracle=f"sklearn.metrics.{_name}",
    ))  # fmt: skip
_add(
    MetricSpec(
        "roc_auc",
        "performance",
        "Probability that a random positive scores above a random negative.",
        "Mann-Whitney U / (n_pos n_neg), ties counted half",
        "higher",
        "gt 0.7",
        ("target", "score"),
        "frame",
        (_POS_LABEL,),
        aliases=("auc", "roc_auc_score"),
        oracle="sklearn.metrics.roc_auc_score",
    )
)

# --- regression -----------------------------------------------------------------------------
_REG = (("target", "prediction"), "regression")
_add(
    MetricSpec(
        "mae",
        "regression",
        "Mean absolute error.",
        "mean |y - ŷ|",
        "lower",
        "lt (domain)",
        *_REG,
        aliases=("mean_absolute_error",),
        oracle="sklearn.metrics.mean_absolute_error",
    )
)
_add(
    MetricSpec(
        "rmse",
        "regression",
        "Root mean squared error.",
        "sqrt(mean (y - ŷ)²)",
        "lower",
        "lt (domain)",
        *_REG,
        aliases=("root_mean_squared_error",),
        oracle="sklearn.metrics.root_mean_squared_error",
    )
)
_add(
    MetricSpec(
        "r2_score",
        "regression",
        "Coefficient of determination.",
        "1 - sum (y - ŷ)² / sum (y - mean y)²",
        "higher",
        "gt 0.5",
        *_REG,
        aliases=("r2",),
        oracle="sklearn.metrics.r2_score",
    )
)
_add(
    MetricSpec(
        "mae_group_diff",
        "fairness",
        "Largest gap in mean absolute error between groups.",
        "max_g MAE_g - min_g MAE_g",
        "lower",
        "lt (domain)",
        ("target", "prediction", "dimension"),
        "regression",
        _GROUP_PARAMS,
        oracle="fairlearn.metrics.MetricFrame(mean_absolute_error).difference()",
    )
)
_add(
    MetricSpec(
        "mean_prediction_diff",
        "fairness",
        "Largest gap in the mean prediction between groups.",
        "max_g mean(ŷ | g) - min_g mean(ŷ | g)",
        "lower",
        "lt (domain)",
        ("prediction", "dimension"),
        "regression",
        _GROUP_PARAMS,
    )
)

CATALOGUE: dict[str, MetricSpec] = {s.key: s for s in _SPECS}
_ALIASES: dict[str, str] = {a: s.key for s in _SPECS for a in s.aliases}
assert len(CATALOGUE) == len(_SPECS), "duplicate metric key in the catalogue"


def canonical_key(name: str) -> str | None:
    """The catalogue key for ``name`` (a key or an alias, case-insensitive), else None."""
    text = str(name).strip().lower()
    if text in CATALOGUE:
        return text
    return _ALIASES.get(text)


def known_keys() -> list[str]:
    return sorted(CATALOGUE)


def closest_keys(name: str, n: int = 3) -> list[str]:
    """Known keys and aliases that look like ``name``, best first (for error hints)."""
    vocabulary = list(CATALOGUE) + list(_ALIASES)
    return difflib.get_close_matches(str(name).lower(), vocabulary, n=n, cutoff=0.5)


def get_spec(key: str) -> MetricSpec:
    canonical = canonical_key(key)
    if canonical is None:
        raise KeyError(key)
    return CATALOGUE[canonical]


def coerce_params(key: str, params: Mapping[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """Convert a control's raw metric parameters to Python values.

    Returns ``(converted, unknown_names)``; a bad value raises ``ValueError`` whose text
    names the parameter. Unknown names are returned rather than raised so that each policy
    dialect decides whether a stray prop is an error (our native format) or a warning
    (the props dialects, where free-form props are common).
    """
    spec = get_spec(key)
    out: dict[str, Any] = {}
    unknown: list[str] = []
    for name, value in params.items():
        param = spec.param(name)
        if param is None:
            unknown.append(name)
            continue
        out[name] = param.coerce(value)
    return out, unknown


#: key -> (per-group rate, aggregation) for the generated families.
FAMILY_OF: dict[str, tuple[str, str]] = {key: (rate, agg) for key, rate, agg, *_ in _FAMILY}
