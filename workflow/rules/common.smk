"""Config validation, shared paths and input helpers for every study."""


from snakemake.utils import validate


validate(config, schema="../schemas/config.schema.yaml")


DATA_SOURCE = config["data"]["source"]
JETS_STORE = f"results/data/{DATA_SOURCE}/jets.h5"
PREPROCESSED_STORE = f"results/data/{DATA_SOURCE}/preprocessed.h5"

# Each study file appends the figures and tables that `rule all` requests.
FINAL_OUTPUTS = []
