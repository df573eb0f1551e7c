"""Config validation, shared paths and input helpers for every study."""

import math
from pathlib import Path


import jsonschema
import yaml
from snakemake.exceptions import WorkflowError
from snakemake.utils import validate

from moment_pooling.architectures import MAX_MOMENTS


##### config validation #####

CONFIG_SCHEMA = Path(workflow.basedir, "workflow", "schemas", "config.schema.yaml")


def schema_description(schema, path):
    """Return the description of the schema node that validates config key ``path``."""
    node = schema
    for part in path:
        if isinstance(part, int):
            prefix = node.get("prefixItems", [])
            node = prefix[part] if part < len(prefix) else node.get("items", {})
        else:
            node = node.get("properties", {}).get(part, {})
        while "$ref" in node and "description" not in node:
            node = schema["$defs"][node["$ref"].rpartition("/")[2]]
    while "$ref" in node and "description" not in node:
        node = schema["$defs"][node["$ref"].rpartition("/")[2]]
    return node.get("description")


def format_key(path):
    """Return a config key path as written in messages, e.g. latent.models[0][1]."""
    key = ""
    for part in path:
        key += f"[{part}]" if isinstance(part, int) else (f".{part}" if key else part)
    return key


def describe_schema_errors(config, schema_path):
    """Return one line per schema violation: key path, bad value, allowed values."""
    schema = yaml.safe_load(Path(schema_path).read_text())
    validator = jsonschema.Draft202012Validator(schema)
    lines = []
    errors = sorted(
        validator.iter_errors(config), key=lambda e: [str(p) for p in e.absolute_path]
    )
    for error in errors:
        path = list(error.absolute_path)
        key = format_key(path)
        if error.validator == "additionalProperties":
            allowed = sorted(error.schema.get("properties", {}))
            for name in sorted(set(error.instance) - set(allowed)):
                unknown = f"{key}.{name}" if key else name
                lines.append(f"{unknown}: unknown key. Allowed keys: {', '.join(allowed)}")
            continue
        if error.validator == "required":
            for name in error.validator_value:
                if name in error.instance:
                    continue
                missing = f"{key}.{name}" if key else name
                description = schema_description(schema, [*path, name])
                hint = f" ({description})" if description else ""
                lines.append(f"{missing}: missing required key{hint}")
            continue
        description = schema_description(schema, path)
        hint = f". Expected {description}" if description else ""
        lines.append(f"{key or '(top level)'}: {error.message}{hint}")
    return lines


def describe_nonfinite_numbers(config, schema_path, path=()):
    """Return one line per NaN or infinite number in ``config``.

    JSON Schema range keywords accept NaN (every comparison with it is false)
    and infinity, so this check runs beside the schema.
    """
    if isinstance(config, dict):
        items = config.items()
    elif isinstance(config, list):
        items = enumerate(config)
    elif isinstance(config, float) and not math.isfinite(config):
        schema = yaml.safe_load(Path(schema_path).read_text())
        description = schema_description(schema, list(path))
        hint = f". Expected {description}" if description else ""
        return [
            f"{format_key(list(path))}: {config} is not a finite number "
            f"(NaN and infinity are not allowed){hint}"
        ]
    else:
        return []
    lines = []
    for key, value in items:
        lines.extend(describe_nonfinite_numbers(value, schema_path, (*path, key)))
    return lines


def config_dataset_size(data):
    """Return the number of jets the data section provides, and the keys that set it."""
    if data["source"] == "pythia":
        pythia = data["pythia"]
        keys = "2 x data.pythia.shards_per_class x data.pythia.jets_per_shard"
        return 2 * pythia["shards_per_class"] * pythia["jets_per_shard"], keys
    return data["energyflow"]["num_jets"], "data.energyflow.num_jets"


def describe_config_inconsistencies(config):
    """Return one line per group of keys whose values contradict each other."""
    lines = []
    pythia = config["data"]["pythia"]
    if not pythia["pthat_min"] < pythia["pthat_max"]:
        lines.append(
            f"data.pythia.pthat_min={pythia['pthat_min']} must be below "
            f"data.pythia.pthat_max={pythia['pthat_max']}"
        )

    scan = config["qg_scan"]
    if len(scan["latent_max"]) != len(scan["orders"]):
        lines.append(
            f"qg_scan.latent_max={scan['latent_max']} needs one entry per order in "
            f"qg_scan.orders={scan['orders']}"
        )

    # Each (k, L) that a study trains must stay within the pooling layer's
    # moment limit, so an oversized model fails here, not when its job starts.
    requested = [
        (f"qg_scan.latent_max[{i}]", order, latent_max)
        for i, (order, latent_max) in enumerate(
            zip(scan["orders"], scan["latent_max"], strict=False)
        )
    ]
    requested += [
        (f"latent.models[{i}]", order, latent_dim)
        for i, (order, latent_dim) in enumerate(config["latent"]["models"])
    ]
    for key, order, latent_dim in requested:
        n_moments = math.comb(latent_dim + order, order) - 1
        if n_moments > MAX_MOMENTS:
            lines.append(
                f"{key}: L = {latent_dim} at k = {order} gives {n_moments} moments, "
                f"above the limit of {MAX_MOMENTS}. Lower L or k."
            )

    # The test split is the first jets of the store in every study, so each
    # study's train + val + test must fit in the store on its own.
    n_jets, size_keys = config_dataset_size(config["data"])
    for study in ("angularity", "qg_scan"):
        section = config[study]
        total = section["n_train"] + section["n_val"] + section["n_test"]
        if total > n_jets:
            lines.append(
                f"{study}.n_train + n_val + n_test = {section['n_train']} + "
                f"{section['n_val']} + {section['n_test']} = {total} jets, but the "
                f"data config provides {n_jets} ({size_keys} with data.source="
                f"{config['data']['source']}). Reduce the {study} split or provide "
                "more jets."
            )
    return lines


def validate_config(config, schema_path):
    """Raise a WorkflowError listing every invalid key before any job is planned."""
    problems = describe_schema_errors(config, schema_path)
    problems += describe_nonfinite_numbers(config, schema_path)
    if not problems:
        problems = describe_config_inconsistencies(config)
    if problems:
        raise WorkflowError(
            f"Invalid config ({len(problems)} problem(s)):\n  "
            + "\n  ".join(problems)
            + "\nFix these keys in the config file; config/README.md documents every key."
        )
    # The schema check passed, so this only fills the schema's defaults, if any.
    validate(config, schema=str(schema_path))


validate_config(config, CONFIG_SCHEMA)


DATA_SOURCE = config["data"]["source"]
JETS_STORE = f"results/data/{DATA_SOURCE}/jets.h5"
PREPROCESSED_STORE = f"results/data/{DATA_SOURCE}/preprocessed.h5"

# Each study file appends the figures and tables that `rule all` requests.
FINAL_OUTPUTS = []
