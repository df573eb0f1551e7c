"""Moment Pooling workflow: jets -> Moment-EFN trainings -> every figure.

Run from the repository root: ``snakemake --cores all`` (default config),
``snakemake --cores all --configfile config/test.yaml`` (tiny end-to-end run).
"""

import os

from snakemake.utils import min_version

min_version("9.0")

# TensorFlow's oneDNN CPU kernels run the batched matmuls of moment pooling
# 2-3x faster on x86_64 (docs/benchmarks.md). On Linux, TensorFlow turns them
# on by default only for CPUs with AVX512_VNNI, AVX512_BF16, AVX_VNNI or AMX.
# Jobs inherit this setting. Export TF_ENABLE_ONEDNN_OPTS=0 before running
# Snakemake to use TensorFlow's default kernels.
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "1")


configfile: "config/config.yaml"


##### load rules #####


include: "workflow/rules/common.smk"
include: "workflow/rules/data.smk"
include: "workflow/rules/angularity.smk"
include: "workflow/rules/qg_scan.smk"
include: "workflow/rules/latent.smk"
include: "workflow/rules/analytic.smk"


##### target rules #####


rule all:
    default_target: True
    input:
        FINAL_OUTPUTS,
