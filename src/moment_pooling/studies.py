"""Helpers for the four studies: run lists, architectures, tables and fits.

The workflow calls these functions when Snakemake parses the rule files, so
the whole DAG (every architecture draw and every training job) is known before
any job starts. Nothing here imports TensorFlow at module import time.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence

import numpy as np

# Output folders of the training rules. The rule files use the same templates.
ANGULARITY_RUN_DIR = "results/angularity/{network}_k{order}"
QG_SCAN_RUN_DIR = "results/qg_scan/{scan}/k{order}_d{draw}_s{seed}"
LATENT_RUN_DIR = "results/latent/k{order}_L{latent_dim}_s{seed}"
ANALYTIC_RUN_DIR = "results/analytic/{features}_s{seed}"

# Architectures of the angularity study (Gambhir, Osathapan, Thaler,
# arXiv:2403.08854): keyword arguments of ``build_moment_efn`` without the order.
ANGULARITY_NETWORKS: dict[str, dict] = {
    "linear": {
        "latent_dim": 2,
        "Phi_sizes": (),
        "F_sizes": (),
        "linear_Phi": True,
        "linear_F": True,
    },
    "small": {"latent_dim": 2, "Phi_sizes": (4, 4), "F_sizes": (4, 4)},
    "large": {"latent_dim": 8, "Phi_sizes": (32, 32, 32), "F_sizes": (32, 32, 32)},
}
# The linear k = 2 network trained with an L1 penalty on F, whose Phi functions
# are plotted: the penalty favours the diagonal basis Phi^1 ~ y, Phi^2 ~ phi.
PENALISED_NETWORK = "linear_l1"
PENALISED_ORDER = 2

SCANS = ("full", "linear_F")


def effective_latent_dim(latent_dim: int, order: int) -> int:
    """Return L_eff = C(L + k, k), the number of distinct moments of orders 0..k."""
    return math.comb(latent_dim + order, order)


TRAINING_KEYS = ("epochs", "patience")
OPTIMISER_KEYS = ("batch_size", "learning_rate")
SPLIT_KEYS = ("n_train", "n_val", "n_test")


def select_keys(section: Mapping, keys: Iterable[str]) -> dict:
    """Return the entries of ``section`` named in ``keys``.

    Rules pass only the settings a job reads as ``params``, so that changing
    another key of the same config section does not rerun the job.
    """
    return {key: section[key] for key in keys}


# ----------------------------------------------------------------------------
# Data sizes


def dataset_size(data_config: Mapping) -> int:
    """Return the number of jets the ``data:`` section of the config provides."""
    source = data_config["source"]
    if source == "pythia":
        pythia = data_config["pythia"]
        return 2 * int(pythia["shards_per_class"]) * int(pythia["jets_per_shard"])
    if source == "energyflow":
        return int(data_config["energyflow"]["num_jets"])
    raise ValueError(
        f"data.source must be 'pythia' or 'energyflow'. Received: source={source!r}"
    )


def check_split_sizes(config: Mapping) -> None:
    """Raise ``ValueError`` if a study's train + val + test split exceeds the data.

    Checks the ``angularity`` and ``qg_scan`` sections. The latent and analytic
    studies reuse the ``qg_scan`` split.
    """
    n_jets = dataset_size(config["data"])
    for study in ("angularity", "qg_scan"):
        section = config[study]
        sizes = {key: int(section[key]) for key in ("n_train", "n_val", "n_test")}
        total = sum(sizes.values())
        if total > n_jets:
            listed = ", ".join(f"{study}.{key}={value}" for key, value in sizes.items())
            raise ValueError(
                f"The {study} split needs {total} jets ({listed}) but the data "
                f"config provides {n_jets}. Reduce the split sizes or generate more "
                "jets (data.pythia.shards_per_class or data.pythia.jets_per_shard, "
                "or data.energyflow.num_jets)."
            )


# ----------------------------------------------------------------------------
# Angularity study


def angularity_runs(orders: Sequence[int], networks: Sequence[str]) -> list[dict]:
    """List the angularity trainings: every network at every order, plus the
    L1-penalised linear network at k = 2."""
    unknown = sorted(set(networks) - set(ANGULARITY_NETWORKS))
    if unknown:
        raise ValueError(
            f"Unknown angularity networks {unknown}. "
            f"Choose from {sorted(ANGULARITY_NETWORKS)}."
        )
    runs = [
        {"network": network, "order": int(order)}
        for network in networks
        for order in orders
    ]
    runs.append({"network": PENALISED_NETWORK, "order": PENALISED_ORDER})
    return runs


def normalise_target(values: np.ndarray, train_values: np.ndarray) -> np.ndarray:
    """Map ``values`` affinely so that ``train_values`` get unit mean and unit std.

    Returns (values - mean) / std + 1 with the mean and standard deviation of
    ``train_values``, so every split is scaled the same way.
    """
    train_values = np.asarray(train_values, dtype=np.float64)
    std = train_values.std()
    if not std > 0:
        raise ValueError(
            "Cannot normalise a target that is constant on the training jets "
            f"(standard deviation {std}). Check the preprocessed store."
        )
    return (np.asarray(values, dtype=np.float64) - train_values.mean()) / std + 1.0


def angularity_model_kwargs(network: str, order: int, F_l1: float) -> dict:
    """Return ``build_moment_efn`` keyword arguments of an angularity network."""
    if network == PENALISED_NETWORK:
        kwargs = dict(ANGULARITY_NETWORKS["linear"], F_l1=float(F_l1))
    elif network in ANGULARITY_NETWORKS:
        kwargs = dict(ANGULARITY_NETWORKS[network])
    else:
        raise ValueError(
            f"Unknown angularity network {network!r}. Choose from "
            f"{sorted([*ANGULARITY_NETWORKS, PENALISED_NETWORK])}."
        )
    kwargs.update(order=int(order), task="regression")
    return kwargs


# ----------------------------------------------------------------------------
# Quark/gluon scan


def draw_seed(base_seed: int, order: int, scan: str) -> int:
    """Return the architecture-sampling seed of one (scan, k) pair."""
    return int(base_seed) + 1000 * SCANS.index(scan) + int(order)


def qg_scan_draws(scan_config: Mapping) -> list[dict]:
    """Draw the scan architectures for every scan and order, deterministically.

    Returns one row per draw with ``scan``, ``order``, ``draw`` (index within
    its (scan, k) pair), ``Phi_width``, ``F_width``, ``latent_dim``,
    ``L_eff`` and ``n_params``. Imports ``moment_pooling.models`` (and so
    Keras) on first use.
    """
    from moment_pooling.architectures import sample_architectures

    scans = ["full", "linear_F"] if scan_config["linear_F_scan"] else ["full"]
    latent_max = dict(
        zip(scan_config["orders"], scan_config["latent_max"], strict=True)
    )
    rows = []
    for scan in scans:
        for order in scan_config["orders"]:
            draws = sample_architectures(
                int(order),
                int(scan_config["n_draws"]),
                latent_max=int(latent_max[order]),
                width_max=int(scan_config["width_max"]),
                seed=draw_seed(scan_config["draw_seed"], order, scan),
                linear_F=scan == "linear_F",
            )
            for index, draw in enumerate(draws):
                rows.append(
                    {
                        "scan": scan,
                        "order": int(order),
                        "draw": index,
                        "Phi_width": int(draw["Phi_width"]),
                        "F_width": int(draw["F_width"]),
                        "latent_dim": int(draw["latent_dim"]),
                        "L_eff": effective_latent_dim(draw["latent_dim"], order),
                        "n_params": int(draw["n_params"]),
                    }
                )
    return rows


def scan_model_kwargs(draw: Mapping) -> dict:
    """Return ``build_moment_efn`` keyword arguments of one scan draw.

    Phi and F each have ``moment_pooling.models.SCAN_DEPTH`` hidden layers of
    the draw's widths, the depth ``sample_architectures`` counts parameters
    for. In the linear-F scan F is a single Dense(1) layer.
    """
    from moment_pooling.architectures import SCAN_DEPTH

    linear_F = draw["scan"] == "linear_F"
    return {
        "latent_dim": int(draw["latent_dim"]),
        "order": int(draw["order"]),
        "Phi_sizes": (int(draw["Phi_width"]),) * SCAN_DEPTH,
        "F_sizes": () if linear_F else (int(draw["F_width"]),) * SCAN_DEPTH,
        "linear_F": linear_F,
        "task": "classification",
    }


def find_draw(draws: Iterable[Mapping], scan: str, order: int, draw: int) -> dict:
    """Return the draw row with the given scan, order and index."""
    for row in draws:
        if (
            row["scan"] == scan
            and row["order"] == int(order)
            and row["draw"] == int(draw)
        ):
            return dict(row)
    raise KeyError(f"No scan draw with scan={scan!r}, order={order}, draw={draw}.")


def summarise_seeds(values: Sequence[float]) -> tuple[float, float]:
    """Return the mean and the population standard deviation of ``values``."""
    array = np.asarray(values, dtype=np.float64)
    if array.size == 0:
        raise ValueError("Cannot summarise an empty list of seed results.")
    return float(array.mean()), float(array.std())


def aggregate_scan(
    draws: Sequence[Mapping], aucs: Mapping[tuple, Sequence[float]]
) -> list[dict]:
    """Add ``auc_mean``, ``auc_std`` and ``n_seeds`` over seeds to each draw row.

    ``aucs`` maps ``(scan, order, draw)`` to the test AUCs of that draw's seeds.
    """
    rows = []
    for draw in draws:
        values = aucs[(draw["scan"], int(draw["order"]), int(draw["draw"]))]
        mean, std = summarise_seeds(values)
        rows.append(dict(draw, auc_mean=mean, auc_std=std, n_seeds=len(values)))
    return rows


# ----------------------------------------------------------------------------
# Latent-space study


def select_latent_models(
    requested: Iterable[Sequence[int]],
    draws: Sequence[Mapping],
    n_scan_seeds: int,
    n_latent_seeds: int,
    *,
    min_widths: tuple[int, int] = (1, 1),
) -> list[dict]:
    """Choose, for each requested (k, L), a scan model or a new latent training.

    A draw of the full scan with the same k and L, and Phi and F widths of at
    least ``min_widths`` (the widths the latent study would train), is reused
    with the scan's seeds, taking the lowest draw index when several match.
    Narrower draws are not reused: at a few units per layer a scan model can
    fail to learn, and its Phi would not show the latent space. Otherwise the
    latent study trains the model. Each returned dict has ``order``, ``latent_dim``,
    ``source`` ("qg_scan" or "latent"), ``run_dirs`` (one per seed),
    ``plotted_model`` (the model file of the first seed, whose Phi functions
    are drawn) and, for scan models, ``draw``.
    """
    selected = []
    seen = set()
    for order, latent_dim in requested:
        key = (int(order), int(latent_dim))
        if key in seen:
            continue
        seen.add(key)
        matches = [
            row
            for row in draws
            if row["scan"] == "full"
            and int(row["order"]) == key[0]
            and int(row["latent_dim"]) == key[1]
            and int(row["Phi_width"]) >= min_widths[0]
            and int(row["F_width"]) >= min_widths[1]
        ]
        if matches:
            draw = min(int(row["draw"]) for row in matches)
            run_dirs = [
                QG_SCAN_RUN_DIR.format(scan="full", order=key[0], draw=draw, seed=seed)
                for seed in range(n_scan_seeds)
            ]
            selected.append(
                {
                    "order": key[0],
                    "latent_dim": key[1],
                    "source": "qg_scan",
                    "draw": draw,
                    "run_dirs": run_dirs,
                }
            )
        else:
            run_dirs = [
                LATENT_RUN_DIR.format(order=key[0], latent_dim=key[1], seed=seed)
                for seed in range(n_latent_seeds)
            ]
            selected.append(
                {
                    "order": key[0],
                    "latent_dim": key[1],
                    "source": "latent",
                    "run_dirs": run_dirs,
                }
            )
    for model in selected:
        model["plotted_model"] = f"{model['run_dirs'][0]}/model.keras"
    return selected


def latent_model(selected: Sequence[Mapping], order: int, latent_dim: int) -> dict:
    """Return the selected latent-study model with the given k and L."""
    for model in selected:
        if model["order"] == int(order) and model["latent_dim"] == int(latent_dim):
            return dict(model)
    raise KeyError(
        f"No latent-study model with k={order}, L={latent_dim}. Add "
        f"[{order}, {latent_dim}] to latent.models or {order} to latent.L1_orders."
    )


def latent_model_kwargs(
    order: int, latent_dim: int, Phi_width: int, F_width: int
) -> dict:
    """Return ``build_moment_efn`` keyword arguments of a model the latent study trains.

    Phi and F have ``moment_pooling.models.SCAN_DEPTH`` hidden layers, as in the scan.
    """
    from moment_pooling.architectures import SCAN_DEPTH

    return {
        "latent_dim": int(latent_dim),
        "order": int(order),
        "Phi_sizes": (int(Phi_width),) * SCAN_DEPTH,
        "F_sizes": (int(F_width),) * SCAN_DEPTH,
        "task": "classification",
    }


def evaluate_phi_on_grid(model_path, grid: np.ndarray) -> np.ndarray:
    """Load a saved Moment-EFN and return its Phi at the (y, phi) ``grid`` points.

    Returns float64 of shape (len(grid), L). Imports Keras on first use.
    """
    import keras

    from moment_pooling.models import phi_network

    model = keras.models.load_model(model_path)
    values = phi_network(model).predict(np.asarray(grid, dtype="float32"), verbose=0)
    return np.asarray(values, dtype=np.float64)


def yphi_grid(radius: float, n_points: int) -> np.ndarray:
    """Return an ``n_points`` x ``n_points`` grid on [-radius, radius]^2 as (n, 2).

    Rows run over phi fastest: row ``i * n_points + j`` is (y_i, phi_j).
    """
    if radius <= 0 or n_points < 2:
        raise ValueError(
            "The (y, phi) grid needs radius > 0 and at least 2 points per axis. "
            f"Received: radius={radius}, n_points={n_points}"
        )
    axis = np.linspace(-radius, radius, n_points)
    y, phi = np.meshgrid(axis, axis, indexing="ij")
    return np.column_stack([y.ravel(), phi.ravel()])


def fit_plane(y: np.ndarray, phi: np.ndarray, values: np.ndarray) -> list[dict]:
    """Least-squares fit of each column of ``values`` to a + b y + c phi.

    Returns one dict per column with ``a``, ``b``, ``c`` and the coefficient
    of determination ``r2``.
    """
    design = np.column_stack([np.ones_like(y), y, phi])
    return _least_squares(design, values, ("a", "b", "c"))


def fit_log_radial(r: np.ndarray, values: np.ndarray) -> list[dict]:
    """Least-squares fit of each column of ``values`` to a + b log(r), r > 0.

    Returns one dict per column with ``a``, ``b`` and ``r2``.
    """
    r = np.asarray(r, dtype=np.float64)
    if np.any(r <= 0):
        raise ValueError("fit_log_radial needs r > 0. Drop the points at r = 0 first.")
    design = np.column_stack([np.ones_like(r), np.log(r)])
    return _least_squares(design, values, ("a", "b"))


def _least_squares(
    design: np.ndarray, values: np.ndarray, names: Sequence[str]
) -> list[dict]:
    values = np.asarray(values, dtype=np.float64)
    if values.ndim == 1:
        values = values[:, None]
    coefficients, *_ = np.linalg.lstsq(design, values, rcond=None)
    residuals = values - design @ coefficients
    total = np.sum((values - values.mean(axis=0)) ** 2, axis=0)
    fits = []
    for column in range(values.shape[1]):
        fit = {name: float(coefficients[i, column]) for i, name in enumerate(names)}
        if total[column] > 0:
            fit["r2"] = float(1.0 - np.sum(residuals[:, column] ** 2) / total[column])
        else:
            # The intercept fits a constant column exactly.
            fit["r2"] = 1.0
        fits.append(fit)
    return fits
