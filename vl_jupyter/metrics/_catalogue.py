"""The metric catalogue: every key a policy may name, and the one place a metric is defined.

One ``MetricSpec`` gives a key its aliases, the roles it reads, its parameters, which way is
better, the reference implementation it equals (``oracle``), its documentation, what the
Venturalítica SDK computes under the same name (``sdk``), and the computation itself
(``compute``). The policy reader validates keys and parameters against it, the evaluator
dispatches from it (``measure`` runs ``spec.compute``; nothing else knows a key), and
``docs/metrics.md`` and the policy JSON Schema's metric list are generated from it.
Families (``_diff``, ``_ratio``, group min/max) are generated from one table, as fairlearn
does, so their definitions cannot drift apart.

Adding a metric is one ``_add(MetricSpec(...))`` here (a count-table formula in
``_formulas`` or a frame function in ``_frame_metrics``) plus its test; see the "How to add
a metric" section of docs/metrics.md.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from ..errors import MetricError, close_matches
from . import _continuous
from . import _drift as D
from . import _formulas as F
from . import _frame_metrics as FM
from . import _score_metrics as S
from ._params import Param

# Roles a metric can read. ``outcome`` is not a role: selection-rate metrics read the
# ``prediction`` when the control binds one and the ``target`` otherwise (a data audit).
ROLES = ("target", "prediction", "score", "dimension", "sensitive")

#: Statistics that are count tables (``_evaluate._CountMetric.table`` builds each); a spec
#: over one of them gives a formula of the table, any other spec a function of the metric.
COUNT_STATISTICS = (
    "outcome", "confusion", "confusion_overall", "multiclass_confusion", "classes",
    "multiclass_outcome", "group_sizes",
)  # fmt: skip

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
_QUASI = Param(
    "quasi_identifiers", "columns", None, "columns (or variables) that identify a person"
)
_SENSITIVE_ATTRIBUTE = Param(
    "sensitive_attribute",
    "columns",
    None,
    "the sensitive column (the SDK's name for the sensitive role)",
)
_SCORE = Param(
    "score",
    "str",
    None,
    "the per-case score column, as SDK policies write it (`score: Dice`); same as input score",
)

#: Counted as "a formula of the count table": (metric, table) -> (counts -> (value, per_group)).
CountFormula = Callable[..., Callable[[Any], tuple[Any, Any]]]


def _fixed(formula: Callable) -> CountFormula:
    """A count formula that needs nothing from the control."""
    return lambda metric, table: formula


@dataclass(frozen=True)
class MetricSpec:
    """What a metric key means and how it is computed.

    ``statistic`` names what it is computed from: a count table (``COUNT_STATISTICS``; then
    ``compute(metric, table)`` returns the formula of the table) or anything else (then
    ``compute(metric)`` returns the ``Measurement``). ``direction`` says which way is better
    (``higher``, ``lower``, or ``none`` for descriptive figures). ``unsupported`` makes the
    key resolve to an ``error`` result with that reason: keys other tools use that cannot
    be computed honestly.
    """

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
    compute: Callable | None = None
    #: per-group rates the value compares (named in the sentence when one is undefined)
    rates: tuple[str, ...] = ()
    #: names of the values a group carries when it carries several (equalized odds: tpr, fpr)
    per_group_fields: tuple[str, ...] = ()
    #: False for grouped metrics that describe groups rather than compare them
    compares_groups: bool = True
    ci: bool = True
    #: the sentence of an undefined value ({pos} is the favourable label)
    undefined: str = ""
    #: what the Venturalítica SDK computes under this key (or an alias), when it is one of its keys
    sdk: str = ""
    #: parameter defaults applied when the policy comes from an SDK dialect
    sdk_defaults: tuple[tuple[str, Any], ...] = ()
    #: ("upper" | "lower", warning) when an operator suggests the SDK's other meaning
    operator_notes: tuple[tuple[str, str], ...] = ()
    #: (detail name, count formula): other readings of the same table, reported in details
    companions: tuple[tuple[str, Callable], ...] = ()
    #: adjusts the params before measuring (e.g. the SDK's age_buckets -> bins)
    prepare: Callable[[dict[str, Any]], dict[str, Any]] | None = None
    unsupported: str = ""

    @property
    def grouped(self) -> bool:
        return "dimension" in self.roles

    @property
    def kind(self) -> str:
        """``count``, ``measure`` or ``unsupported``: how the evaluator runs it."""
        if self.unsupported:
            return "unsupported"
        return "count" if self.statistic in COUNT_STATISTICS else "measure"

    @property
    def column_params(self) -> tuple[str, ...]:
        """Parameters that name columns (or variables), resolved by ``enforce``."""
        return tuple(p.name for p in self.params if p.kind == "columns")

    def param(self, name: str) -> Param | None:
        for p in self.params:
            if p.name == name:
                return p
        return None

    def operator_note(self, operator: str) -> str | None:
        """The warning for a control comparing this metric with ``operator``, if any."""
        side = "upper" if operator in ("lt", "le") else "lower" if operator in ("gt", "ge") else ""
        return dict(self.operator_notes).get(side)

    def dialect_defaults(self, dialect: str) -> dict[str, Any]:
        """Parameter defaults for a policy of ``dialect`` (the SDK's, for its dialects)."""
        return dict(self.sdk_defaults) if dialect != "native" else {}


_SPECS: list[MetricSpec] = []


def _add(spec: MetricSpec) -> None:
    _SPECS.append(spec)


_SAME = "Same."
_CAUSAL = (
    "not computed: a causal effect needs a causal model (a graph, or an identification "
    "strategy), which no policy gives; the Venturalítica SDK's function is a correlation "
    "heuristic called with positional arguments, so even there it never runs from a policy"
)

# --- data quality and privacy ------------------------------------------------------------
_add(
    MetricSpec(
        "class_imbalance",
        "data_quality",
        "How balanced the target classes are.",
        "count(least frequent class) / count(most frequent class); 0 for a single class",
        "higher",
        "gt 0.5",
        ("target",),
        "classes",
        aliases=("classification_distribution",),
        compute=_fixed(F.class_imbalance),
        sdk="Same (a single class is 0.0 there too). `classification_distribution` (the SDK's "
        "ESG name) is the same ratio, rounded there to 4 digits.",
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
        compute=_fixed(F.group_size_min),
        compares_groups=False,
        ci=False,
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
        compute=_fixed(F.group_share_min),
        compares_groups=False,
    )
)
_COLUMNS = Param("columns", "columns", None, "columns to check (default: all)")
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
        (_COLUMNS,),
        aliases=("completeness",),
        compute=FM.completeness,
        sdk=_SAME + " (the mean over columns of the non-missing share is the same number); "
        "an empty frame is an error here, 0.0 there.",
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
        (_COLUMNS,),
        compute=FM.missing_rate_max,
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
        (Param("columns", "columns", None, "columns that define a duplicate (default: all)"),),
        compute=FM.duplicate_rate,
    )
)
_add(
    MetricSpec(
        "sample_adequacy_ratio",
        "data_quality",
        "Rows in the data over the rows the policy deems adequate.",
        "n / required_rows",
        "higher",
        "ge 1",
        (),
        "frame",
        (Param("required_rows", "int", None, "rows deemed adequate (required)", minimum=1),),
        compute=FM.sample_adequacy_ratio,
        sdk="Not in the SDK's registry: its demos compute n/500 by hand and inject it. Here "
        "`required_rows` must be stated; without it the control is an error.",
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
        compute=FM.k_anonymity,
        sdk=_SAME + " Rows with a missing quasi-identifier form their own class here; the "
        "SDK's groupby drops them.",
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
        (),
        "frame",
        (_QUASI, _SENSITIVE_ATTRIBUTE),
        optional_roles=("sensitive",),
        compute=FM.l_diversity,
        sdk=_SAME + " The sensitive column is the `sensitive` role or, as the SDK writes it, "
        "the parameter `sensitive_attribute`.",
    )
)
_add(
    MetricSpec(
        "t_closeness",
        "privacy",
        "Largest distance between an equivalence class's sensitive-value distribution and "
        "the whole data's.",
        "max over equivalence classes of ½ sum_v |P(v | class) - P(v)| (total variation)",
        "lower",
        "le 0.2",
        (),
        "frame",
        (_QUASI, _SENSITIVE_ATTRIBUTE),
        optional_roles=("sensitive",),
        compute=FM.t_closeness,
        sdk=_SAME + " (the SDK's docstring says Earth Mover's Distance; its code, and ours, "
        "use total variation). Missing sensitive values count as a value here; the SDK drops them.",
    )
)
_add(
    MetricSpec(
        "data_minimization",
        "privacy",
        "Share of columns that are not personal data (GDPR Art. 5(1)(c)).",
        "1 - |sensitive_columns| / |columns|",
        "higher",
        "ge 0.5",
        (),
        "frame",
        (
            Param(
                "sensitive_columns",
                "columns",
                None,
                "the personal-data columns (default: guessed, with a warning)",
            ),
        ),
        compute=FM.data_minimization,
        sdk="Same with `sensitive_columns`. Without it both guess from column names, the SDK by "
        "substring (`residence_since` counts as an `id`), ours by whole words of the name "
        "(`age`, `gender`, `race`, `ethnicity`, `health`, `medical`, `income`, `salary`, "
        "`phone`, `email`, `ssn`, `id`), with a warning naming the guess.",
    )
)

# --- dataset heuristics (the SDK's ESG and benchmark keys) ---------------------------------
_add(
    MetricSpec(
        "report_coverage",
        "dataset",
        "Distinct values of the target (e.g. source reports) per row.",
        "nunique(target) / n",
        "higher",
        "gt 0.01",
        ("target",),
        "frame",
        compute=FM.report_coverage,
        sdk=_SAME + " (the SDK rounds to 4 digits).",
    )
)
_add(
    MetricSpec(
        "chunk_diversity",
        "dataset",
        "Mean number of distinct dimension values (chunks) per target value (report).",
        "mean_t nunique(dimension | target = t)",
        "higher",
        "ge 3",
        ("target", "dimension"),
        "frame",
        compute=FM.chunk_diversity,
        compares_groups=False,
        sdk=_SAME + " (the SDK rounds to 2 digits).",
    )
)
_add(
    MetricSpec(
        "provenance_completeness",
        "dataset",
        "Share of rows whose provenance fields are all present.",
        "rows with every `fields` column non-missing / n (default fields page_number, chunk_number)",
        "higher",
        "ge 0.95",
        (),
        "frame",
        (
            Param(
                "fields",
                "columns",
                None,
                "the provenance columns (default: page_number, chunk_number)",
            ),
        ),
        compute=FM.provenance_completeness,
        sdk=_SAME + " Where a field column is absent the SDK returns 0.0; here the control is "
        "an error naming it.",
    )
)
_add(
    MetricSpec(
        "bias_score",
        "dataset",
        "Mean of a per-row benchmark outcome (e.g. the share of stereotyped choices).",
        "mean(target)",
        "none",
        "descriptive (0.5 = no preference on CrowS-Pairs)",
        ("target",),
        "scores",
        aliases=("stereotype_preference_rate", "category_bias_score"),
        compute=lambda m: S.run(m, S.overall_mean, role="target"),
        sdk=_SAME
        + " Where the column is missing the SDK returns 0.0; here the control is an error.",
    )
)
_add(
    MetricSpec(
        "column_mean",
        "dataset",
        "Mean of a numeric column bound as the target (e.g. a per-case Dice score).",
        "mean(target)",
        "higher",
        "gt 0.7",
        ("target",),
        "scores",
        compute=lambda m: S.run(m, S.overall_mean, role="target"),
        note="The Venturalítica samples' medical scenario uses it for mean Dice and Jaccard "
        "scores; a missing value is an error, not skipped.",
    )
)
_add(
    MetricSpec(
        "subtitle_diversity",
        "dataset",
        "The SDK's per-report subtitle count (not computed).",
        "—",
        "none",
        "—",
        (),
        "none",
        unsupported="subtitle_diversity is not computed: as the Venturalítica SDK codes it, the "
        "subtitle column reaches its counter as a pandas Series, which is neither a list nor a "
        "string, so the SDK's value is always 0.0 whatever the data",
        sdk="Always 0.0 as coded (see the reason); an error result here.",
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
        compute=_fixed(F.selection_rate_overall),
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
        compute=_fixed(F.family("selection_rate", "ratio")),
        rates=("selection_rate",),
        sdk_defaults=(("min_group_size", 5),),
        sdk="The same ratio over groups of at least 5 rows: a policy read from an SDK dialect "
        "gets `min_group_size: 5` by default (the control's own value, or "
        "`enforce(min_group_size=...)`, wins), so its numbers are the "
        "SDK's; excluded groups are listed in the result. Where fewer than two groups qualify, "
        "or a column is missing, the SDK returns 1.0 (a pass); here the control is an error.",
    )
)
_MULTI_OUTCOME_SDK = (
    "Classes there are the target's values; here the outcome's own values (the same unless "
    "the prediction holds a class the target never takes)."
)
_add(
    MetricSpec(
        "multiclass_demographic_parity",
        "fairness",
        "Largest gap in the rate of any one class between groups.",
        "max_k (max_g P(outcome=k | g) - min_g P(outcome=k | g)); aggregation: macro takes the mean over k",
        "lower",
        "lt 0.1",
        ("dimension",),
        "multiclass_outcome",
        (
            *_GROUP_PARAMS,
            Param(
                "aggregation",
                "str",
                "max",
                "max or macro (mean) over classes",
                choices=("max", "macro"),
            ),
        ),
        optional_roles=("target", "prediction"),
        note=_OUTCOME_NOTE,
        oracle="max_k fairlearn.metrics.demographic_parity_difference(outcome == k)",
        compute=lambda m, t: F.multiclass_parity(
            "mean" if m.params.get("aggregation") == "macro" else "max"
        ),
        undefined="undefined on this data (a group has no rows)",
        sdk=_SAME + " " + _MULTI_OUTCOME_SDK,
    )
)
_add(
    MetricSpec(
        "weighted_demographic_parity_multiclass",
        "fairness",
        "Gap between groups in the rate of each class: the worst class, or weighted by class rate.",
        "strategy macro|micro|one-vs-rest: max_k gap_k; weighted: sum_k gap_k P(outcome=k), "
        "gap_k = max_g P(outcome=k | g) - min_g P(outcome=k | g)",
        "lower",
        "lt 0.1",
        ("dimension",),
        "multiclass_outcome",
        (
            *_GROUP_PARAMS,
            Param(
                "strategy",
                "str",
                "macro",
                "macro, micro, one-vs-rest (all: the worst class) or weighted",
                choices=("macro", "micro", "one-vs-rest", "weighted"),
            ),
        ),
        optional_roles=("target", "prediction"),
        note=_OUTCOME_NOTE,
        oracle="max_k fairlearn.metrics.demographic_parity_difference(outcome == k)",
        compute=lambda m, t: F.multiclass_parity(
            "weighted" if m.params.get("strategy") == "weighted" else "max"
        ),
        sdk=_SAME + " (the SDK's macro, micro and one-vs-rest all compute the worst class gap). "
        "The SDK refuses fewer than 30 rows; here any size is measured, with its interval.",
    )
)
_add(
    MetricSpec(
        "multiclass_equal_opportunity",
        "fairness",
        "Largest gap in the recall of any one class between groups.",
        "max_k (max_g recall_k(g) - min_g recall_k(g)), over the classes the target has",
        "lower",
        "lt 0.1",
        ("target", "prediction", "dimension"),
        "multiclass_confusion",
        _GROUP_PARAMS,
        aliases=("macro_equal_opportunity_multiclass",),
        oracle="max_k fairlearn.metrics.MetricFrame(recall_score, one-vs-rest k).difference()",
        compute=_fixed(F.multiclass_opportunity),
        undefined="undefined: some group has no rows of some class in the target (recall is 0/0)",
        sdk="The same worst-class recall gap (`macro_equal_opportunity_multiclass` too, despite "
        "its name). The SDK leaves out a group that has no rows of a class; here that makes the "
        "control an error naming the reason.",
    )
)
_add(
    MetricSpec(
        "predictive_parity_multiclass",
        "fairness",
        "Largest gap in the precision of any one predicted class between groups.",
        "strategy macro: max_k gap_k; weighted: sum_k gap_k P(ŷ=k), gap_k = max_g precision_k(g) - min_g precision_k(g)",
        "lower",
        "lt 0.1",
        ("target", "prediction", "dimension"),
        "multiclass_confusion",
        (
            *_GROUP_PARAMS,
            Param(
                "strategy",
                "str",
                "macro",
                "macro (worst class) or weighted",
                choices=("macro", "weighted"),
            ),
        ),
        oracle="max_k fairlearn.metrics.MetricFrame(precision_score, one-vs-rest k).difference()",
        compute=lambda m, t: F.multiclass_predictive_parity(
            "weighted" if m.params.get("strategy") == "weighted" else "max"
        ),
        undefined="undefined: some group never predicts a class that others do (precision is 0/0)",
        sdk="The same. The SDK leaves out a group that never predicts a class; here that makes "
        "the control an error. The SDK refuses fewer than 30 rows.",
    )
)
_add(
    MetricSpec(
        "micro_equalized_odds_multiclass",
        "fairness",
        "The SDK's multiclass equalized odds: twice the accuracy gap between groups.",
        "(max_g ACC_g - min_g ACC_g) + (max_g ERR_g - min_g ERR_g) = 2 (max_g ACC_g - min_g ACC_g)",
        "lower",
        "lt 0.1",
        ("target", "prediction", "dimension"),
        "multiclass_confusion",
        _GROUP_PARAMS,
        oracle="2 * fairlearn.metrics.MetricFrame(accuracy_score).difference()",
        compute=_fixed(F.multiclass_accuracy_gap_twice),
        note="Range [0, 2]. Not an equalized-odds metric in the field's sense (no per-class TPR "
        "or FPR): kept with the SDK's formula so its policies read the same number; for the "
        "accuracy gap itself use accuracy_diff.",
        sdk=_SAME + " The SDK refuses fewer than 30 rows.",
    )
)
_add(
    MetricSpec(
        "multiclass_confusion_metrics",
        "fairness",
        "The SDK's per-class and per-group table (not a single number).",
        "—",
        "none",
        "—",
        (),
        "none",
        unsupported="multiclass_confusion_metrics returns a table (per-class precision and "
        "recall, per-group accuracy), not a number a threshold can judge; use "
        "precision_score / recall_score with average, or accuracy_diff",
        sdk="Returns a dict, which the SDK cannot compare either (always skipped there).",
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
        compute=_continuous.calibration,
    )
)


def _age_buckets(params: dict[str, Any]) -> dict[str, Any]:
    """The SDK's ``age_bucket_method: quantiles`` + ``age_buckets: k`` is ``bins: k``."""
    if params.get("age_bucket_method") == "quantiles" and "bins" not in params:
        params["bins"] = int(params.get("age_buckets") or 3)
    return params


_AGE_BUCKETS = (
    Param("age_bucket_method", "str", None, "the SDK's quantiles bucketing: same as bins: age_buckets",
          choices=("quantiles",)),
    Param("age_buckets", "int", 3, "number of quantile buckets with age_bucket_method", minimum=2),
)  # fmt: skip

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

_EOD_SDK = (
    "The SDK 0.8.2 computes this TPR gap; 0.8.1 computed fairlearn's equalized_odds_difference "
    "(TPR and FPR) when fairlearn was installed and a gap in the outcome mean otherwise. Ours is "
    "the TPR gap (the field's meaning and 0.8.2's); the 0.8.1 value is reported beside it in "
    "`details.sdk_0_8_1_equal_opportunity_diff`."
)
_DP_SDK = (
    _SAME
    + " (fairlearn's demographic_parity_difference; the data-audit fallback to the target too)."
)
_GMPR_SDK = (
    "Differs: the SDK's positive in each group is that group's largest label value, so a "
    "group with no favourable rows scores 1.0 there; here the favourable label is `pos_label` "
    "in every group. The SDK's `age_bucket_method: quantiles` with `age_buckets: k` is read as "
    "`bins: k` (equal-frequency; a value on a boundary falls in the upper bin, pandas' qcut "
    "puts it in the lower)."
)
_PP_SDK = (
    "The same gap (`predictive_parity` there, with label 1 as the favourable one). The SDK "
    "leaves out a group that never predicts the favourable label; here that makes the "
    "control an error naming the group."
)

# (key, rate, aggregation, summary, typical, aliases, SDK meaning)
_FAMILY = [
    ("demographic_parity_diff", "selection_rate", "diff", "Largest gap in selection rate between groups.", "lt 0.1", ("demographic_parity_difference", "statistical_parity_difference"), _DP_SDK),
    ("demographic_parity_ratio", "selection_rate", "ratio", "Lowest group selection rate over the highest.", "gt 0.8", (), ""),
    ("group_min_positive_rate", "selection_rate", "min", "Selection rate of the least-favoured group.", "gt 0.2", (), _GMPR_SDK),
    ("group_max_positive_rate", "selection_rate", "max", "Selection rate of the most-favoured group.", "lt 0.9", (), ""),
    ("equal_opportunity_diff", "tpr", "diff", "Largest gap in true positive rate between groups.", "lt 0.1", ("equal_opportunity_difference", "true_positive_rate_diff"), _EOD_SDK),
    ("equal_opportunity_ratio", "tpr", "ratio", "Lowest group true positive rate over the highest.", "gt 0.8", ("true_positive_rate_ratio",), ""),
    ("false_positive_rate_diff", "fpr", "diff", "Largest gap in false positive rate between groups (predictive equality).", "lt 0.1", ("false_positive_rate_difference", "predictive_equality_diff"), ""),
    ("false_positive_rate_ratio", "fpr", "ratio", "Lowest group false positive rate over the highest.", "gt 0.8", (), ""),
    ("false_negative_rate_diff", "fnr", "diff", "Largest gap in false negative rate between groups.", "lt 0.1", ("false_negative_rate_difference",), ""),
    ("predictive_parity_diff", "ppv", "diff", "Largest gap in precision (positive predictive value) between groups.", "lt 0.1", ("predictive_parity_difference", "predictive_parity"), _PP_SDK),
    ("predictive_parity_ratio", "ppv", "ratio", "Lowest group precision over the highest.", "gt 0.8", (), ""),
    ("accuracy_diff", "accuracy", "diff", "Largest gap in accuracy between groups.", "lt 0.05", ("accuracy_difference",), ""),
]  # fmt: skip
_AGG_FORMULA = {
    "diff": "max_g {r} - min_g {r}",
    "ratio": "min_g {r} / max_g {r}",
    "min": "min_g {r}",
    "max": "max_g {r}",
}
_AGG_DIRECTION = {"diff": "lower", "ratio": "higher", "min": "higher", "max": "lower"}
_AGG_FAIRLEARN = {"diff": "difference", "ratio": "ratio", "min": "group_min", "max": "group_max"}
_EXTRA: dict[str, dict[str, Any]] = {
    "group_min_positive_rate": {"params": _AGE_BUCKETS, "prepare": _age_buckets},
    "equal_opportunity_diff": {
        "companions": (("sdk_0_8_1_equal_opportunity_diff", F.equalized_odds("diff")),)
    },
}

for _key, _rate, _agg, _summary, _typical, _aliases, _sdk in _FAMILY:
    _stat, _roles, _rate_formula, _base = _RATES[_rate]
    _short = _rate_formula.split(" = ")[0].split("_")[0]
    _oracle = (
        f"fairlearn.metrics.demographic_parity_{_AGG_FAIRLEARN[_agg]}"
        if _rate == "selection_rate" and _agg in ("diff", "ratio")
        else f"fairlearn.metrics.MetricFrame({_base}).{_AGG_FAIRLEARN[_agg]}()"
    )
    _extra = dict(_EXTRA.get(_key, {}))
    _add(MetricSpec(
        _key, "fairness", _summary,
        _AGG_FORMULA[_agg].format(r=_short + "_g") + f", where {_rate_formula}",
        _AGG_DIRECTION[_agg], _typical, _roles, _stat,
        (_POS_LABEL, *_GROUP_PARAMS, *_extra.pop("params", ())),
        optional_roles=("target", "prediction") if _stat == "outcome" else (),
        aliases=_aliases, oracle=_oracle, note=_OUTCOME_NOTE if _stat == "outcome" else "",
        compute=_fixed(F.family(_rate, _agg)), rates=(_rate,), sdk=_sdk, **_extra,
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
        compute=_fixed(F.equalized_odds("diff")),
        rates=("tpr", "fpr"),
        per_group_fields=("tpr", "fpr"),
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
        compute=_fixed(F.equalized_odds("ratio")),
        rates=("tpr", "fpr"),
        per_group_fields=("tpr", "fpr"),
        companions=(("sdk_equalized_odds_ratio", F.equalized_odds_gap_sum),),
        operator_notes=(
            (
                "upper",
                "here equalized_odds_ratio means fairlearn's ratio (the smaller of the TPR and FPR "
                "ratios, 1 = parity, higher is better), while the Venturalítica SDK meant the sum of "
                "the TPR and FPR gaps; for a gap use equalized_odds_diff with lt",
            ),
        ),
        sdk="Differs: the SDK computes (max−min TPR) + (max−min FPR), in [0, 2], lower is "
        "better, assuming label 1 is positive. That value is reported beside ours in "
        "`details.sdk_equalized_odds_ratio`, and a control comparing this key with lt/le gets "
        "a warning.",
    )
)

# --- performance ---------------------------------------------------------------------------


def _class_score(which: str) -> CountFormula:
    """Precision, recall or F1, binary (of ``pos_label``) or averaged as the control says."""

    def factory(metric: Any, table: Any) -> Callable:
        average = metric.params.get("average", "binary")
        pos_index = None
        if average == "binary":
            pos_index = F.label_index(table.class_labels, metric.pos_label)
            if pos_index is None:
                shown = ", ".join(repr(v) for v in table.class_labels[:10])
                raise MetricError(
                    f"pos_label {metric.pos_label!r} occurs in neither the target nor the "
                    f"prediction (labels: {shown})",
                    hint="set pos_label, or average: macro for multiclass labels",
                )
        return F.class_score(which, average, pos_index)

    return factory


_PERF = (("target", "prediction"), "confusion_overall")
_PERF_SDK = (
    _SAME
    + " (scikit-learn with zero_division=0 there; here an undefined binary value is an error)."
)
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
        compute=_fixed(F.accuracy),
        sdk=_SAME,
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
        compute=_fixed(F.balanced_accuracy),
    )
)
for _name, _formula, _alias, _undefined in (
    (
        "precision_score",
        "TP / (TP + FP)",
        "precision",
        "undefined: the prediction is never the favourable label {pos}",
    ),
    (
        "recall_score",
        "TP / (TP + FN)",
        "recall",
        "undefined: the target is never the favourable label {pos}",
    ),
    (
        "f1_score",
        "2 TP / (2 TP + FP + FN)",
        "f1",
        "undefined: the prediction is never the favourable label {pos}",
    ),
):
    _add(MetricSpec(
        _name, "performance", f"{_alias.capitalize()} of the favourable class, or averaged over classes.",
        _formula + " (average=macro|micro|weighted: over one-vs-rest classes)", "higher", "gt 0.7",
        *_PERF, (_POS_LABEL, _AVERAGE), aliases=(_alias,), oracle=f"sklearn.metrics.{_name}",
        compute=_class_score(_alias), undefined=_undefined, sdk=_PERF_SDK,
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
        compute=FM.roc_auc,
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
        compute=_continuous.regression("abs_error", F.overall_of_one_group),
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
        compute=_continuous.regression("sq_error", F.root_of_one_group),
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
        compute=_continuous.r2,
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
        compute=_continuous.regression("abs_error", F.gap_of_means),
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
        compute=_continuous.regression("prediction", F.gap_of_means),
    )
)

# --- per-case scores (segmentation, imaging): the SDK's segmentation family -----------------
_SCORE_SDK = (
    "Same formula. The SDK drops rows whose score is missing and groups whose dimension is "
    "missing; here a missing score makes the control an error and a missing dimension value "
    "is the group `(missing)`. SDK policies bind the score with a prop `score: <column>`, "
    "which is read here as the score role; the SDK's fall-back to the target when no score "
    "is bound is not copied (a target is not a score)."
)
_DISPERSION = {  # SDK key: (summary, formula, direction, typical, measure, aliases)
    "group_score_gap": ("Largest gap in the mean score between groups.", "max_g mean_g - min_g mean_g", "lower", "lt 0.05", "gap", ("score_gap",)),
    "score_ratio": ("Lowest group mean score over the highest.", "min_g mean_g / max_g mean_g", "higher", "gt 0.9", "ratio", ()),
    "score_std": ("Spread (population standard deviation) of the group mean scores.", "std_g mean_g (ddof 0)", "lower", "lt 0.05", "std", ()),
    "score_cv": ("Coefficient of variation of the group mean scores.", "std_g mean_g / mean_g(mean_g)", "lower", "lt 0.1", "cv", ()),
    "score_skew": ("Skewness of the group mean scores (negative: a tail of disadvantaged groups).", "mean_g ((mean_g - m) / s)³; 0 for fewer than 3 groups or equal means", "none", "gt -1", "skew", ()),
}  # fmt: skip
for _key, (_summary, _formula, _direction, _typical, _measure, _aliases) in _DISPERSION.items():
    _add(MetricSpec(
        _key, "scores", _summary, _formula, _direction, _typical, ("score", "dimension"), "scores",
        (_SCORE, *_GROUP_PARAMS), aliases=_aliases,
        compute=lambda m, _how=_measure: S.run(m, S.disparity(_how)), sdk=_SCORE_SDK,
    ))  # fmt: skip

_MEAN_KEYS = {  # key: (summary, direction, typical)
    "mean_score": ("Mean of the per-case score.", "higher", "gt 0.8"),
    "mean_nsd": ("Mean normalised surface Dice (a per-case NSD column).", "higher", "gt 0.8"),
    "mean_hd95": ("Mean 95th-percentile Hausdorff distance (a per-case HD95 column, in mm).", "lower", "lt (domain)"),
    "mean_excess_components": ("Mean number of excess connected components per case.", "lower", "lt 0.1"),
}  # fmt: skip
for _key, (_summary, _direction, _typical) in _MEAN_KEYS.items():
    _add(MetricSpec(
        _key, "scores", _summary, "mean(score)", _direction, _typical, ("score",), "scores", (_SCORE,),
        compute=lambda m: S.run(m, S.overall_mean), sdk=_SCORE_SDK,
    ))  # fmt: skip
_MAX_KEYS = {
    "max_score": ("Largest single-case score (e.g. a leakage probe).", "none", "descriptive"),
    "max_hd95": ("Worst single-case 95th-percentile Hausdorff distance.", "lower", "lt (domain)"),
    "max_excess_components": ("Most excess connected components in any one case.", "lower", "lt 1"),
}  # fmt: skip
for _key, (_summary, _direction, _typical) in _MAX_KEYS.items():
    _add(MetricSpec(
        _key, "scores", _summary, "max(score)", _direction, _typical, ("score",), "frame", (_SCORE,),
        compute=lambda m: S.extreme(m, "max"), ci=False,
        note="The largest case describes this sample, so it has no interval.", sdk=_SCORE_SDK,
    ))  # fmt: skip
_add(
    MetricSpec(
        "min_group_score",
        "scores",
        "Mean score of the worst group.",
        "min_g mean(score | g)",
        "higher",
        "gt 0.8",
        ("score", "dimension"),
        "scores",
        (_SCORE, *_GROUP_PARAMS),
        aliases=("worst_group_score",),
        compute=lambda m: S.run(m, S.disparity("worst_group")),
        compares_groups=False,
        sdk=_SCORE_SDK,
    )
)
_add(
    MetricSpec(
        "worst_cell_score",
        "scores",
        "Mean score of the worst cell of several dimensions (e.g. scanner × age band).",
        "min over cells c of mean(score | c), cells = combinations of the `dimensions` columns",
        "higher",
        "gt 0.8",
        ("score",),
        "scores",
        (
            _SCORE,
            Param(
                "dimensions",
                "columns",
                None,
                "the columns whose combinations are the cells (required)",
            ),
            _MIN_GROUP,
        ),
        compute=lambda m: S.run(m, S.disparity("worst_group"), cells=True),
        sdk=_SCORE_SDK + " Cells are named `a & b` here, `a|b` there.",
    )
)
_add(
    MetricSpec(
        "subgroup_disparity",
        "scores",
        "One disparity of the group mean scores, chosen by `measure`.",
        "measure gap | ratio | std | cv | worst_group | skew of the group means (as the keys of those names)",
        "none",
        "depends on measure",
        ("score", "dimension"),
        "scores",
        (
            _SCORE,
            *_GROUP_PARAMS,
            Param("measure", "str", "gap", "which disparity", choices=tuple(S.DISPARITIES)),
        ),
        compute=lambda m: S.run(m, S.disparity(m.params.get("measure", "gap"))),
        note="Which way is better depends on the measure, so no direction is checked.",
        sdk=_SCORE_SDK,
    )
)
_add(
    MetricSpec(
        "essp",
        "scores",
        "Equity-scaled score (FairSeg): the mean score, penalised by group disparity.",
        "I / (1 + sum_g |I - I_g|), I = mean score, I_g = mean score of group g",
        "higher",
        "gt 0.8",
        ("score", "dimension"),
        "scores",
        (_SCORE, *_GROUP_PARAMS),
        aliases=("es_dice", "es_iou"),
        compute=lambda m: S.run(m, S.essp("abs")),
        sdk=_SCORE_SDK,
    )
)
_add(
    MetricSpec(
        "essp_stdev",
        "scores",
        "Equity-scaled score with the spread of group means as the penalty.",
        "I / (1 + std_g I_g)",
        "higher",
        "gt 0.8",
        ("score", "dimension"),
        "scores",
        (_SCORE, *_GROUP_PARAMS),
        compute=lambda m: S.run(m, S.essp("std")),
        sdk=_SCORE_SDK,
    )
)

# --- drift against a baseline (its table is in the baseline's evidence) --------------------
_add(MetricSpec(
    "group_share_psi", "drift",
    "How far the dimension's group shares moved from the baseline's (population stability index).",
    "Σ_g (a_g − e_g) ln(a_g / e_g), shares a (now) and e (baseline) floored at 1e-4",
    "lower", "lt 0.1", ("dimension",), "drift", _GROUP_PARAMS,
    compute=D.group_share_psi,
    note="Needs enforce(..., baseline=...); p-value of a chi-square test of homogeneity in "
    "the details. Without a baseline the control is skipped and its table recorded.",
))  # fmt: skip
_add(MetricSpec(
    "label_rate_shift", "drift",
    "Largest change of a group's positive rate since the baseline.",
    "max_g |P(y = pos | g) − P_baseline(y = pos | g)|",
    "lower", "lt 0.05", ("dimension",), "drift", (_POS_LABEL, *_GROUP_PARAMS),
    optional_roles=("target", "prediction"),
    compute=D.label_rate_shift,
    note="Reads the prediction when bound, else the target (a data audit); p-value of "
    "per-group two-proportion z-tests, Bonferroni-combined, in the details.",
))  # fmt: skip
_add(MetricSpec(
    "score_psi", "drift",
    "How far the score distribution moved from the baseline's (PSI over its deciles).",
    "PSI over the baseline's score deciles (from a 100-bin histogram)",
    "lower", "lt 0.1", ("score",), "drift", (),
    compute=D.score_psi,
    note="p-value of a two-sample Kolmogorov-Smirnov test on the 100-bin histograms in the "
    "details (conservative: binning can only shrink D).",
))  # fmt: skip

# --- causal keys of the SDK: resolved, never computed --------------------------------------
for _key, _summary in (
    ("path_decomposition", "Direct and indirect effect of a protected attribute (not computed)."),
    (
        "counterfactual_fairness",
        "Share of people whose outcome would change with their protected attribute (not computed).",
    ),
    (
        "fairness_through_awareness",
        "Whether legitimate features leak the protected attribute (not computed).",
    ),
    ("causal_fairness_diagnostic", "The SDK's combined causal report (not computed)."),
):
    _add(MetricSpec(
        _key, "not_computed", _summary, "—", "none", "—", (), "none",
        unsupported=f"{_key} is {_CAUSAL}",
        sdk="A correlation heuristic (|mean difference|, correlations) with positional "
        "arguments, so it never runs from an SDK policy either.",
    ))  # fmt: skip

CATALOGUE: dict[str, MetricSpec] = {s.key: s for s in _SPECS}
_ALIASES: dict[str, str] = {a: s.key for s in _SPECS for a in s.aliases}
assert len(CATALOGUE) == len(_SPECS), "duplicate metric key in the catalogue"
assert len(_ALIASES) == sum(len(s.aliases) for s in _SPECS), "an alias names two metrics"
assert not set(_ALIASES) & set(CATALOGUE), "an alias is also a key"
assert all(s.compute or s.unsupported for s in _SPECS), "a metric without a computation"

#: The 56 keys of the Venturalítica SDK's ``METRIC_REGISTRY`` (0.8.1; see
#: shared notes sdk-metrics.md). Every one resolves here, to a metric or to an error entry.
SDK_REGISTRY_KEYS = (
    "accuracy_score", "precision_score", "recall_score", "f1_score",
    "demographic_parity_diff", "equal_opportunity_diff", "equalized_odds_ratio",
    "predictive_parity", "multiclass_demographic_parity", "multiclass_equal_opportunity",
    "multiclass_confusion_metrics", "weighted_demographic_parity_multiclass",
    "macro_equal_opportunity_multiclass", "micro_equalized_odds_multiclass",
    "predictive_parity_multiclass", "disparate_impact", "class_imbalance",
    "group_min_positive_rate", "data_completeness", "k_anonymity", "l_diversity",
    "t_closeness", "data_minimization", "path_decomposition", "counterfactual_fairness",
    "fairness_through_awareness", "causal_fairness_diagnostic", "bias_score",
    "stereotype_preference_rate", "category_bias_score", "classification_distribution",
    "report_coverage", "provenance_completeness", "chunk_diversity", "subtitle_diversity",
    "mean_score", "max_score", "min_group_score", "worst_group_score", "worst_cell_score",
    "group_score_gap", "mean_nsd", "mean_hd95", "max_hd95", "max_excess_components",
    "mean_excess_components", "essp", "es_dice", "es_iou", "essp_stdev",
    "subgroup_disparity", "score_gap", "score_ratio", "score_std", "score_cv", "score_skew",
)  # fmt: skip


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
    return close_matches(str(name).lower(), vocabulary, n=n, cutoff=0.5)


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
