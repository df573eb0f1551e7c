"""Collect the analytic classifier, its angularity baseline and the k = 4, L = 1
Moment-EFN: test AUC over seeds and the ROC curve of seed 0."""

# ruff: noqa: F821 - Snakemake defines `snakemake` when it runs the script.

import json

from moment_pooling.logs import setup_rule_logging
from moment_pooling.provenance import write_table
from moment_pooling.studies import summarise_seeds

logger = setup_rule_logging(snakemake.log[0], "tabulate_analytic")

n_moments = snakemake.params.n_moments
betas = ", ".join(f"{beta:g}" for beta in snakemake.params.betas)
LABELS = {
    "moments": rf"Analytic: $\langle\phi^j\rangle$, $j \leq {n_moments}$",
    "angularities": rf"Angularities $\lambda^{{(\beta)}}$, $\beta$ = {betas}",
    "moment_efn": r"Moment-EFN $k = 4$, $L = 1$",
}


def load(paths):
    metrics = []
    for path in paths:
        with open(path) as handle:
            metrics.append(json.load(handle))
    return metrics


# Analytic inputs are ordered feature set by feature set, seed by seed.
n_seeds = snakemake.params.n_seeds
analytic = load(snakemake.input.analytic)
classifiers = {
    features: analytic[index * n_seeds : (index + 1) * n_seeds]
    for index, features in enumerate(snakemake.params.features)
}
classifiers["moment_efn"] = load(snakemake.input.moment_efn)

auc_rows, roc_rows = [], []
for name, runs in classifiers.items():
    mean, std = summarise_seeds([run["auc"] for run in runs])
    auc_rows.append(
        {
            "classifier": name,
            "label": LABELS[name],
            "auc_mean": mean,
            "auc_std": std,
            "n_seeds": len(runs),
            "n_params": runs[0]["n_params"],
            "n_test": runs[0]["n_test"],
        }
    )
    for fpr, tpr in zip(runs[0]["roc_fpr"], runs[0]["roc_tpr"], strict=True):
        roc_rows.append({"classifier": name, "fpr": fpr, "tpr": tpr})
    logger.info("%s: AUC %.4f +- %.4f over %d seeds", name, mean, std, len(runs))

n_tests = {row["n_test"] for row in auc_rows}
if len(n_tests) != 1:
    raise ValueError(
        f"The classifiers were tested on different numbers of jets {sorted(n_tests)}; "
        "they must share the qg_scan test split."
    )
write_table(snakemake.output.auc, auc_rows, list(auc_rows[0]), config=snakemake.config)
write_table(
    snakemake.output.roc,
    roc_rows,
    ["classifier", "fpr", "tpr"],
    config=snakemake.config,
)
