"""Moment Pooling workflow: jets -> Moment-EFN trainings -> every figure.

Run from the repository root: ``snakemake --cores all`` (default config),
``snakemake --cores all --configfile config/test.yaml`` (tiny end-to-end run).
"""

from snakemake.utils import min_version

min_version("9.0")


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
