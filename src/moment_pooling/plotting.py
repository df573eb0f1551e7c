"""Figures of the four studies, drawn from the aggregated result tables.

Every ``plot_*`` function takes table rows as returned by
:func:`moment_pooling.provenance.read_table`: dicts of strings, or of numbers.
It writes one figure to each path in ``paths``, in the format given by the
path's suffix (``.pdf``, ``.png``). Figures are built with
:class:`matplotlib.figure.Figure`, so no pyplot state or display is needed.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import NullFormatter

from moment_pooling.io import atomic_path

# Fraction of each Phi^a's range (over the plotted region) that its band spans.
BAND_LOW = 0.45
BAND_HIGH = 0.55

ANGLE_LABELS = (
    r"$y$ (rapidity, relative to jet axis)",
    r"$\phi$ [rad] (relative to jet axis)",
)
AXIS_LABELS = {
    "n_params": "Number of trainable parameters",
    "latent_dim": r"Latent dimension $L$",
    "L_eff": r"Effective latent dimension $L_\mathrm{eff} = \binom{L+k}{k}$",
}
SCAN_TITLES = {"full": r"Three-layer $F$", "linear_F": r"Linear $F$"}
NETWORK_TITLES = {
    "linear": "Linear network",
    "small": "Small network",
    "large": "Large network",
    "linear_l1": r"Linear network, L1 penalty on $F$",
}
PLOT_DPI = 150


def column(rows: Iterable[Mapping], name: str, dtype=float) -> np.ndarray:
    """Return column ``name`` of table ``rows`` as a numpy array of ``dtype``."""
    return np.array([dtype(row[name]) for row in rows])


def save_figure(figure: Figure, paths: Iterable[str | os.PathLike]) -> None:
    """Write ``figure`` to every path atomically, in the format of its suffix."""
    for path in paths:
        path = Path(path)
        file_format = path.suffix.lstrip(".")
        if not file_format:
            raise ValueError(f"Figure path {path} needs a suffix such as .pdf or .png.")
        with atomic_path(path) as tmp:
            figure.savefig(tmp, format=file_format, dpi=PLOT_DPI, bbox_inches="tight")


def _panel_grid(n_panels: int, max_columns: int = 4, size: float = 3.6):
    n_columns = min(n_panels, max_columns)
    n_rows = math.ceil(n_panels / n_columns)
    figure = Figure(figsize=(size * n_columns, size * n_rows), layout="constrained")
    axes = figure.subplots(n_rows, n_columns, squeeze=False).ravel()
    for extra in axes[n_panels:]:
        extra.set_visible(False)
    return figure, axes[:n_panels]


def _unique_in_order(values: Iterable) -> list:
    return list(dict.fromkeys(values))


def _network_title(network: str) -> str:
    return NETWORK_TITLES.get(network, network)


# ----------------------------------------------------------------------------
# Angularity study


def plot_angularity_loss(history_rows: Sequence[Mapping], paths: Iterable) -> None:
    """Plot validation MSE against epoch, one panel per network, one line per k."""
    networks = _unique_in_order(row["network"] for row in history_rows)
    figure, axes = _panel_grid(len(networks))
    for axis, network in zip(axes, networks, strict=True):
        rows = [row for row in history_rows if row["network"] == network]
        for order in sorted({int(row["order"]) for row in rows}):
            curve = [row for row in rows if int(row["order"]) == order]
            axis.plot(
                column(curve, "epoch", int),
                column(curve, "val_loss"),
                marker="o",
                markersize=2,
                label=f"$k = {order}$",
            )
        axis.set_yscale("log")
        axis.set_title(_network_title(network))
        axis.set_xlabel("Epoch")
        axis.set_ylabel(r"Validation MSE on standardised $\lambda^{(2)}$")
        axis.legend()
    save_figure(figure, paths)


def plot_epoch_times(summary_rows: Sequence[Mapping], paths: Iterable) -> None:
    """Plot the mean training time per epoch as bars, grouped by network."""
    networks = _unique_in_order(row["network"] for row in summary_rows)
    orders = sorted({int(row["order"]) for row in summary_rows})
    width = 0.8 / len(orders)
    figure = Figure(figsize=(1.6 * len(networks) + 2.5, 3.8), layout="constrained")
    axis = figure.subplots()
    for index, order in enumerate(orders):
        positions, heights = [], []
        for position, network in enumerate(networks):
            for row in summary_rows:
                if row["network"] == network and int(row["order"]) == order:
                    positions.append(position + (index - (len(orders) - 1) / 2) * width)
                    heights.append(float(row["seconds_per_epoch"]))
        axis.bar(positions, heights, width=width, label=f"$k = {order}$")
    axis.set_xticks(range(len(networks)), [_network_title(n) for n in networks])
    axis.tick_params(axis="x", labelrotation=15)
    axis.set_ylabel("Training time per epoch [s]")
    axis.legend()
    save_figure(figure, paths)


def _grid_image(y: np.ndarray, phi: np.ndarray, values: np.ndarray):
    """Reshape scattered grid rows into axes and a (n_y, n_phi, ...) array."""
    order = np.lexsort((phi, y))
    y_axis = np.unique(y)
    phi_axis = np.unique(phi)
    if len(y_axis) * len(phi_axis) != len(y):
        raise ValueError(
            f"Grid table has {len(y)} rows, which is not the product of its "
            f"{len(y_axis)} y values and {len(phi_axis)} phi values."
        )
    shaped = np.asarray(values)[order].reshape(len(y_axis), len(phi_axis), -1)
    return y_axis, phi_axis, shaped


def _phi_columns(rows: Sequence[Mapping]) -> list[str]:
    names = [name for name in rows[0] if name.startswith("Phi_")]
    return sorted(names, key=lambda name: int(name.split("_")[1]))


def plot_linear_phi(
    grid_rows: Sequence[Mapping], fit_rows: Sequence[Mapping], paths: Iterable
) -> None:
    """Plot each Phi^a of the linear networks on the (y, phi) plane with its fit.

    One row of panels per network, one panel per latent function, each
    labelled with the least-squares fit Phi^a ~ a + b y + c phi.
    """
    networks = _unique_in_order(row["network"] for row in grid_rows)
    names = _phi_columns(grid_rows)
    figure = Figure(
        figsize=(4.2 * len(names), 3.6 * len(networks)), layout="constrained"
    )
    axes = figure.subplots(len(networks), len(names), squeeze=False)
    for row_index, network in enumerate(networks):
        rows = [row for row in grid_rows if row["network"] == network]
        values = np.column_stack([column(rows, name) for name in names])
        y_axis, phi_axis, image = _grid_image(
            column(rows, "y"), column(rows, "phi"), values
        )
        for index in range(len(names)):
            axis = axes[row_index, index]
            mesh = axis.pcolormesh(
                y_axis, phi_axis, image[:, :, index].T, cmap="RdBu_r"
            )
            figure.colorbar(mesh, ax=axis, label=rf"$\Phi^{{{index + 1}}}$")
            fit = next(
                f
                for f in fit_rows
                if f["network"] == network and int(f["component"]) == index
            )
            axis.text(
                0.03,
                0.97,
                rf"$\Phi^{{{index + 1}}} \approx {float(fit['a']):+.3f} "
                rf"{float(fit['b']):+.3f}\,y {float(fit['c']):+.3f}\,\phi$"
                f"\n$R^2 = {float(fit['r2']):.4f}$",
                transform=axis.transAxes,
                va="top",
                fontsize=8,
                bbox={"facecolor": "white", "alpha": 0.8, "edgecolor": "none"},
            )
            axis.set_title(f"{_network_title(network)}\n" + rf"$\Phi^{{{index + 1}}}$")
            axis.set_xlabel(ANGLE_LABELS[0])
            axis.set_ylabel(ANGLE_LABELS[1])
            axis.set_aspect("equal")
    save_figure(figure, paths)


# ----------------------------------------------------------------------------
# Quark/gluon scan


def plot_scan_auc(rows: Sequence[Mapping], x: str, paths: Iterable) -> None:
    """Plot test AUC (mean and standard deviation over seeds) against ``x``.

    ``x`` is a column of the scan table: "n_params", "latent_dim" or "L_eff".
    One panel per scan (three-layer F, linear F), one colour per k, log x axis.
    """
    if x not in AXIS_LABELS:
        raise ValueError(f"x must be one of {sorted(AXIS_LABELS)}. Received: x={x!r}")
    scans = _unique_in_order(row["scan"] for row in rows)
    figure, axes = _panel_grid(len(scans), size=4.2)
    for axis, scan in zip(axes, scans, strict=True):
        scan_rows = [row for row in rows if row["scan"] == scan]
        for order in sorted({int(row["order"]) for row in scan_rows}):
            points = [row for row in scan_rows if int(row["order"]) == order]
            axis.errorbar(
                column(points, x),
                column(points, "auc_mean"),
                yerr=column(points, "auc_std"),
                fmt="o",
                capsize=2,
                color=f"C{order - 1}",
                label=f"$k = {order}$",
            )
        axis.set_xscale("log")
        # Minor-tick labels overlap when the points span less than a decade.
        axis.xaxis.set_minor_formatter(NullFormatter())
        axis.set_xlabel(AXIS_LABELS[x])
        axis.set_ylabel("Test AUC (quark vs gluon)")
        axis.set_title(SCAN_TITLES.get(scan, scan))
        axis.legend(title="Moment order")
    save_figure(figure, paths)


# ----------------------------------------------------------------------------
# Latent-space study


def normalise_range(values: np.ndarray) -> np.ndarray:
    """Rescale each column of ``values`` to [0, 1] over its rows.

    A constant column maps to 0, so it gets no band.
    """
    values = np.asarray(values, dtype=np.float64)
    low = values.min(axis=0)
    span = values.max(axis=0) - low
    safe_span = np.where(span > 0, span, 1.0)
    return np.where(span > 0, (values - low) / safe_span, 0.0)


def plot_latent_bands(models: Sequence[Mapping], paths: Iterable) -> None:
    """Draw the band where each Phi^a lies between 45% and 55% of its range.

    ``models`` contains dicts with ``title`` and ``rows`` (the model's grid table:
    y, phi, Phi_0, ..., Phi_{L-1}). One panel per model, one colour per Phi^a.
    """
    figure, axes = _panel_grid(len(models))
    for axis, model in zip(axes, models, strict=True):
        rows = model["rows"]
        names = _phi_columns(rows)
        values = np.column_stack([column(rows, name) for name in names])
        y_axis, phi_axis, image = _grid_image(
            column(rows, "y"), column(rows, "phi"), normalise_range(values)
        )
        colours = _band_colours(len(names))
        for index in range(len(names)):
            axis.contourf(
                y_axis,
                phi_axis,
                image[:, :, index].T,
                levels=[BAND_LOW, BAND_HIGH],
                colors=[colours[index]],
                alpha=0.6,
            )
        axis.set_title(model["title"])
        axis.set_xlabel(ANGLE_LABELS[0])
        axis.set_ylabel(ANGLE_LABELS[1])
        axis.set_xlim(y_axis[0], y_axis[-1])
        axis.set_ylim(phi_axis[0], phi_axis[-1])
        axis.set_aspect("equal")
        axis.text(
            0.02,
            0.02,
            f"{len(names)} functions, one colour each",
            transform=axis.transAxes,
            fontsize=7,
        )
    save_figure(figure, paths)


def _band_colours(n_colours: int) -> list:
    from matplotlib import colormaps

    if n_colours <= 10:
        return [colormaps["tab10"](index) for index in range(n_colours)]
    return [colormaps["hsv"](index / n_colours) for index in range(n_colours)]


def plot_radial(
    models: Sequence[Mapping], fits: Sequence[Mapping], paths: Iterable
) -> None:
    """Plot the single Phi of each L = 1 model against r with its a + b log r fit.

    ``models`` contains dicts with ``order``, ``title`` and ``rows`` (grid table
    with Phi_0); ``fits`` rows have ``order``, ``a``, ``b`` and ``r2``.
    """
    figure, axes = _panel_grid(len(models))
    for axis, model in zip(axes, models, strict=True):
        rows = model["rows"]
        r = np.hypot(column(rows, "y"), column(rows, "phi"))
        values = column(rows, "Phi_0")
        axis.scatter(
            r, values, s=2, alpha=0.3, color="C0", label=r"$\Phi(y, \phi)$ on the grid"
        )
        fit = next(f for f in fits if int(f["order"]) == int(model["order"]))
        a, b, r2 = float(fit["a"]), float(fit["b"]), float(fit["r2"])
        r_curve = np.linspace(max(r[r > 0].min(), 1e-3), r.max(), 200)
        axis.plot(
            r_curve,
            a + b * np.log(r_curve),
            color="C3",
            label=rf"${a:+.3f} {b:+.3f}\,\log r$, $R^2 = {r2:.3f}$",
        )
        axis.set_title(model["title"])
        axis.set_xlabel(r"$r = \sqrt{y^2 + \phi^2}$ [rad]")
        axis.set_ylabel(r"$\Phi$")
        axis.legend(fontsize=7)
    save_figure(figure, paths)


# ----------------------------------------------------------------------------
# Analytic classifier


def plot_roc(
    roc_rows: Sequence[Mapping], auc_rows: Sequence[Mapping], paths: Iterable
) -> None:
    """Plot ROC curves as gluon rejection 1/eps_g against quark efficiency eps_q.

    ``roc_rows`` have ``classifier``, ``fpr`` (gluon efficiency) and ``tpr``
    (quark efficiency); ``auc_rows`` have ``classifier``, ``label``,
    ``auc_mean`` and ``auc_std``. Points with eps_g = 0 are off the log axis
    and dropped.
    """
    figure = Figure(figsize=(5.2, 4.4), layout="constrained")
    axis = figure.subplots()
    for index, summary in enumerate(auc_rows):
        curve = [row for row in roc_rows if row["classifier"] == summary["classifier"]]
        fpr = column(curve, "fpr")
        tpr = column(curve, "tpr")
        keep = fpr > 0
        axis.plot(
            tpr[keep],
            1.0 / fpr[keep],
            color=f"C{index}",
            label=(
                f"{summary['label']} (AUC {float(summary['auc_mean']):.3f}"
                f" ± {float(summary['auc_std']):.3f})"
            ),
        )
    quark_efficiency = np.linspace(0.01, 1.0, 100)
    axis.plot(
        quark_efficiency, 1.0 / quark_efficiency, ls=":", color="grey", label="Random"
    )
    axis.set_yscale("log")
    axis.set_xlim(0.0, 1.0)
    axis.set_xlabel(r"Quark efficiency $\varepsilon_q$")
    axis.set_ylabel(r"Gluon rejection $1/\varepsilon_g$")
    axis.legend(fontsize=7)
    save_figure(figure, paths)
