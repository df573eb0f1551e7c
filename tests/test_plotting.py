import numpy as np
import pytest

from moment_pooling import plotting
from moment_pooling.provenance import read_table, write_table
from moment_pooling.studies import fit_log_radial, fit_plane, yphi_grid

PDF_MAGIC = b"%PDF"
PNG_MAGIC = b"\x89PNG"


def assert_figures_written(tmp_path, name):
    pdf = tmp_path / f"{name}.pdf"
    png = tmp_path / f"{name}.png"
    assert pdf.read_bytes().startswith(PDF_MAGIC)
    assert png.read_bytes().startswith(PNG_MAGIC)
    # Only the two figures: no temporary files left behind.
    assert sorted(p.name for p in tmp_path.glob(f"*{name}*")) == [pdf.name, png.name]


def round_trip(tmp_path, rows, columns):
    """Write rows through the result-table format and read them back as strings."""
    path = tmp_path / "table.csv"
    write_table(path, rows, columns)
    return read_table(path)[0]


def figure_paths(tmp_path, name):
    return [tmp_path / f"{name}.pdf", tmp_path / f"{name}.png"]


def grid_rows(values_of, radius=0.4, n_points=9, **extra):
    grid = yphi_grid(radius, n_points)
    values = values_of(grid[:, 0], grid[:, 1])
    rows = []
    for point, value in zip(grid, values, strict=True):
        row = dict(extra, y=point[0], phi=point[1])
        row.update({f"Phi_{a}": v for a, v in enumerate(np.atleast_1d(value))})
        rows.append(row)
    return rows


def test_plot_angularity_loss_writes_pdf_and_png(tmp_path):
    rows = [
        {
            "network": network,
            "order": order,
            "epoch": epoch,
            "val_loss": 1.0 / (epoch + order),
        }
        for network in ("linear", "small")
        for order in (1, 2)
        for epoch in range(1, 4)
    ]
    rows = round_trip(tmp_path, rows, ["network", "order", "epoch", "val_loss"])
    plotting.plot_angularity_loss(rows, figure_paths(tmp_path, "loss"))
    assert_figures_written(tmp_path, "loss")


def test_plot_epoch_times_writes_pdf_and_png(tmp_path):
    rows = [
        {"network": network, "order": order, "seconds_per_epoch": 0.1 * order}
        for network in ("linear", "small", "large")
        for order in (1, 2)
    ]
    rows.append({"network": "linear_l1", "order": 2, "seconds_per_epoch": 0.2})
    plotting.plot_epoch_times(rows, figure_paths(tmp_path, "times"))
    assert_figures_written(tmp_path, "times")


def test_plot_linear_phi_writes_pdf_and_png(tmp_path):
    rows = grid_rows(lambda y, phi: np.column_stack([y, phi]), network="linear_l1")
    grid = np.array([[float(r["y"]), float(r["phi"])] for r in rows])
    fits = fit_plane(grid[:, 0], grid[:, 1], np.column_stack([grid[:, 0], grid[:, 1]]))
    fit_rows = [
        dict(fit, network="linear_l1", component=a) for a, fit in enumerate(fits)
    ]
    # Rows in shuffled order must still form the grid.
    shuffled = [rows[i] for i in np.random.default_rng(0).permutation(len(rows))]
    plotting.plot_linear_phi(shuffled, fit_rows, figure_paths(tmp_path, "phi"))
    assert_figures_written(tmp_path, "phi")


def test_plot_scan_auc_writes_every_axis(tmp_path):
    rows = [
        {
            "scan": scan,
            "order": order,
            "n_params": 100 * order * (draw + 1),
            "latent_dim": draw + 1,
            "L_eff": 3 * (draw + 1),
            "auc_mean": 0.7 + 0.01 * order,
            "auc_std": 0.01,
        }
        for scan in ("full", "linear_F")
        for order in (1, 2, 3, 4)
        for draw in range(2)
    ]
    for x in ("n_params", "latent_dim", "L_eff"):
        plotting.plot_scan_auc(rows, x, figure_paths(tmp_path, f"auc_{x}"))
        assert_figures_written(tmp_path, f"auc_{x}")


def test_plot_scan_auc_rejects_unknown_axis(tmp_path):
    with pytest.raises(ValueError, match="x must be one of"):
        plotting.plot_scan_auc([], "width", figure_paths(tmp_path, "bad"))


def test_normalise_range_maps_columns_to_unit_interval():
    values = np.array([[1.0, 5.0, 2.0], [3.0, 5.0, 4.0], [2.0, 5.0, 3.0]])
    scaled = plotting.normalise_range(values)
    np.testing.assert_allclose(scaled[:, 0], [0.0, 1.0, 0.5])
    np.testing.assert_allclose(scaled[:, 1], [0.0, 0.0, 0.0])
    np.testing.assert_allclose(scaled[:, 2], [0.0, 1.0, 0.5])


def test_plot_latent_bands_writes_pdf_and_png(tmp_path):
    models = [
        {
            "title": "k = 2, L = 3",
            "rows": grid_rows(
                lambda y, phi: np.column_stack([y, phi, y**2 + phi**2]), n_points=15
            ),
        },
        # A constant function has no band and must not break the figure.
        {"title": "k = 1, L = 1", "rows": grid_rows(lambda y, phi: 0 * y, n_points=15)},
    ]
    plotting.plot_latent_bands(models, figure_paths(tmp_path, "bands"))
    assert_figures_written(tmp_path, "bands")


def test_plot_radial_writes_pdf_and_png(tmp_path):
    def log_radial(y, phi):
        return 1 + 0.5 * np.log(np.hypot(y, phi) + 0.01)

    rows = grid_rows(log_radial, n_points=15)
    r = np.hypot([float(x["y"]) for x in rows], [float(x["phi"]) for x in rows])
    values = np.array([float(x["Phi_0"]) for x in rows])
    fit = fit_log_radial(r[r > 0], values[r > 0])[0]
    models = [{"order": 4, "title": "k = 4, L = 1", "rows": rows}]
    plotting.plot_radial(models, [dict(fit, order=4)], figure_paths(tmp_path, "radial"))
    assert_figures_written(tmp_path, "radial")


def test_plot_roc_writes_pdf_and_png(tmp_path):
    fpr = np.linspace(0, 1, 20)
    roc_rows = [
        {"classifier": name, "fpr": f, "tpr": f**power}
        for name, power in (("moments", 0.4), ("angularities", 0.5))
        for f in fpr
    ]
    auc_rows = [
        {
            "classifier": "moments",
            "label": "Analytic",
            "auc_mean": 0.81,
            "auc_std": 0.0,
        },
        {
            "classifier": "angularities",
            "label": "Angularities",
            "auc_mean": 0.78,
            "auc_std": 0.01,
        },
    ]
    plotting.plot_roc(roc_rows, auc_rows, figure_paths(tmp_path, "roc"))
    assert_figures_written(tmp_path, "roc")


def test_save_figure_rejects_path_without_suffix(tmp_path):
    from matplotlib.figure import Figure

    with pytest.raises(ValueError, match="needs a suffix"):
        plotting.save_figure(Figure(), [tmp_path / "figure"])
