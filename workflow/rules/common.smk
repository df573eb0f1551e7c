"""Config validation, shared paths and input helpers for every study."""

from pathlib import Path


import jsonschema
import yaml
from snakemake.exceptions import WorkflowError
from snakemake.utils import validate


##### config validation #####

CONFIG_SCHEMA = Path(workflow.basedir, "workflow", "schemas", "config.schema.yaml")


def describe_schema_errors(config, schema_path):
    """Return one line per schema violation: key path, bad value, allowed values."""
    schema = yaml.safe_load(Path(schema_path).read_text())
    validator = jsonschema.Draft202012Validator(schema)
    lines = []
    errors = sorted(
        validator.iter_errors(config), key=lambda e: [str(p) for p in e.absolute_path]
    )
    for error in errors:
        path = ".".join(str(part) for part in error.absolute_path)
        if error.validator == "additionalProperties":
            allowed = sorted(error.schema.get("properties", {}))
            for name in sorted(set(error.instance) - set(allowed)):
                key = f"{path}.{name}" if path else name
                lines.append(f"{key}: unknown key. Allowed keys: {', '.join(allowed)}")
            continue
        if error.validator == "required":
            missing = [n for n in error.validator_value if n not in error.instance]
            for name in missing:
                key = f"{path}.{name}" if path else name
                description = error.schema["properties"].get(name, {}).get("description")
                hint = f" ({description})" if description else ""
                lines.append(f"{key}: missing required key{hint}")
            continue
        description = error.schema.get("description")
        hint = f" ({description})" if description else ""
        lines.append(f"{path or '(top level)'}: {error.message}{hint}")
    return lines


def describe_config_inconsistencies(config):
    """Return one line per pair of keys whose values contradict each other."""
    return []


def validate_config(config, schema_path):
    """Raise a WorkflowError listing every invalid key before any job is planned."""
    problems = describe_schema_errors(config, schema_path)
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
