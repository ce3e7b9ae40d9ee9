"""Phase-diagram figures (organics.plot.phase) drawn from synthetic scan datasets."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pytest
import xarray as xr
from matplotlib.collections import QuadMesh
from matplotlib.text import Text

from organics.plot import phase

SIGMA = 0.1
CELL = ("delta", "input_norm", "trial")
FIGURE_NAMES = (
    "phase_map",
    "gap_map",
    "normalization_maps",
    "outcome_percentages",
    "frequency_map",
    "quality_factor_map",
)
PLOTS = (
    (phase.plot_phase_map, 1),
    (phase.plot_gap_map, 1),
    (phase.plot_normalization_maps, 2),
    (phase.plot_outcome_percentages, 4),
    (phase.plot_frequency_map, 1),
    (phase.plot_quality_factor_map, 1),
)


def synthetic_scan(
    n_delta: int = 8,
    n_input: int = 7,
    n_trial: int = 6,
    *,
    delta=None,
    input_norm=None,
    n: int = 100,
    seed: int = 0,
) -> xr.Dataset:
    """A delocalized-input scan shaped like the ORGaNICs phase diagram (mu = 0, sigma = 0.1).

    With r = Delta / Delta_c(|z|) jittered per trial: stable fixed points for r < 2 (gap
    closing as r -> 2), limit cycles for 2 <= r < 8 (some unresolved), diverging above;
    y_first has the first-order mean and SD, so normalization is lost at r = 1. The cells of the
    two largest deltas and inputs are not done.
    """
    rng = np.random.default_rng(seed)
    delta = np.logspace(-2, 1, n_delta) if delta is None else np.asarray(delta, float)
    z = np.logspace(-2, 0, n_input) if input_norm is None else np.asarray(input_norm, float)
    s = np.sqrt(SIGMA**2 + z**2)
    with np.errstate(divide="ignore", invalid="ignore"):
        critical = np.where(s < 1, np.sqrt(2) * s / (1 - s), np.nan)
    shape = (delta.size, z.size, n_trial)
    r = (delta[:, None] / critical[None, :])[..., None] * np.exp(0.1 * rng.normal(size=shape))
    r = np.nan_to_num(r, nan=0.0)
    outcome = np.select([r < 2, r < 8], [2, 3], 1).astype(np.int8)
    outcome[(outcome == 3) & (rng.random(shape) < 0.1)] = 0
    fp = outcome == 2
    mean = (z / (np.sqrt(n) * s))[None, :, None]
    sd = (delta[:, None] * z * (1 - s) / s**2)[..., None] / np.sqrt(2 * n)
    y_first = mean + sd * rng.normal(size=shape)
    gap = np.minimum(-0.5 * (1 - r / 2), -1e-4)
    frequency = 5.0 + 40.0 * r

    def fp_only(values):
        return np.where(fp, values, np.nan)

    done = np.ones(shape[:2], bool)
    done[-2:, -3:] = False
    per_trial = {
        "outcome": np.where(done[..., None], outcome, -1).astype(np.int8),
        "spectral_radius": np.broadcast_to(1 + delta[:, None, None], shape),
        "leading_real_tau": fp_only(gap),
        "relaxation_time": fp_only(-0.002 / gap),
        "leading_frequency": fp_only(frequency / 2),
        "frequency": fp_only(frequency),
        "quality_factor": fp_only(0.5 + 3 * r),
        "normalization_error": fp_only(np.abs(y_first - mean) / mean),
        "first_order_error": r,
        "y_first": fp_only(y_first),
        "y_sum": fp_only(np.sqrt(n) * y_first),
        "period": np.where(outcome == 3, 0.05, np.nan),
        "amplitude": np.where(outcome == 3, 0.3, np.nan),
        "divergence_time": np.where(outcome == 1, 0.1, np.nan),
        "time_simulated": np.full(shape, 0.4),
        "n_chunks": np.full(shape, 2, np.int16),
    }
    data = {name: (CELL, values) for name, values in per_trial.items()}
    data["done"] = (CELL[:2], done)
    data["critical_delta"] = ("input_norm", critical)
    coords = {"delta": delta, "input_norm": z, "trial": np.arange(n_trial)}
    attrs = {"input_type": "delocalized", "tau": 0.002, "n": n, "organics_version": "test"}
    return xr.Dataset(data, coords=coords, attrs=attrs)


def data_axes(fig):
    """The axes holding maps (not colour bars)."""
    return [ax for ax in fig.axes if not hasattr(ax, "_colorbar")]


def test_cell_edges_geometric_linear_and_single():
    edges, log = phase.cell_edges([1.0, 10.0, 100.0])
    assert log
    np.testing.assert_allclose(edges, 10.0 ** np.array([-0.5, 0.5, 1.5, 2.5]))
    edges, log = phase.cell_edges([3.0, 1.0, 2.0])
    assert not log
    np.testing.assert_allclose(edges, [0.5, 1.5, 2.5, 3.5])
    edges, log = phase.cell_edges([0.0, 0.5, 1.0])  # contains 0: linear
    assert not log
    edges, log = phase.cell_edges([0.1])
    assert log
    np.testing.assert_allclose(edges, [0.1 / np.sqrt(10), 0.1 * np.sqrt(10)])
    edges, log = phase.cell_edges([-2.0])
    assert not log
    np.testing.assert_allclose(edges, [-3.0, -1.0])
    assert phase.is_geometric(np.logspace(-2, 0, 30))
    assert not phase.is_geometric(np.linspace(0.01, 1, 30))


@pytest.mark.parametrize("plot,n_maps", PLOTS)
def test_figures_are_labelled_log_scaled_and_readable(plot, n_maps):
    fig = plot(synthetic_scan())
    axes = data_axes(fig)
    assert len(axes) == n_maps
    for ax in axes:
        assert ax.get_xlabel() == phase.X_LABEL
        assert ax.get_ylabel() == phase.Y_LABEL
        assert ax.get_xscale() == ax.get_yscale() == "log"
        assert any(isinstance(c, QuadMesh) for c in ax.collections)
    has_key = len(fig.axes) > n_maps or plot is phase.plot_phase_map  # colour bar or legend
    assert has_key
    texts = [t for t in fig.findobj(Text) if t.get_text() and t.get_visible()]
    assert min(t.get_fontsize() for t in texts) >= 10
    legends = fig.legends + [ax.get_legend() for ax in axes if ax.get_legend()]
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    for legend in legends:  # legends sit outside the maps
        box = legend.get_window_extent(renderer)
        assert not any(box.overlaps(ax.get_window_extent(renderer)) for ax in axes)
    plt.close(fig)


def test_phase_map_masks_missing_cells_and_shows_every_class():
    ds = synthetic_scan()
    fig = phase.plot_phase_map(ds)
    (ax,) = data_axes(fig)
    (mesh,) = [c for c in ax.collections if c.get_gid() == "map"]
    masked = np.ma.getmaskarray(mesh.get_array()).reshape(ds.sizes["delta"], ds.sizes["input_norm"])
    np.testing.assert_array_equal(masked, ~ds["done"].values)
    labels = [t.get_text() for t in fig.legends[0].get_texts()]
    assert [label for _, label, _ in phase.PHASE_STYLE] == labels[: len(phase.PHASE_STYLE)]
    assert {"not computed", r"analytic $\Delta_c(|z|)$"} <= set(labels)
    plt.close(fig)


def test_one_cell_axis_and_linear_grid():
    ds = synthetic_scan(delta=[0.5], input_norm=np.linspace(0.1, 0.6, 6))
    for plot, _ in PLOTS:
        fig = plot(ds)
        ax = data_axes(fig)[0]
        assert ax.get_xscale() == "linear" and ax.get_yscale() == "log"
        np.testing.assert_allclose(ax.get_xlim(), [0.05, 0.65])
        np.testing.assert_allclose(ax.get_ylim(), [0.5 / np.sqrt(10), 0.5 * np.sqrt(10)])
        plt.close(fig)


def test_plots_refuse_several_sweep_combinations():
    ds = xr.concat([synthetic_scan(), synthetic_scan(seed=1)], dim="mu")
    with pytest.raises(ValueError, match="one sweep combination"):
        phase.plot_phase_map(ds.assign_coords(mu=[0.0, 1.0]))


def _check_files(paths, stems):
    expected = {f"{stem}.{fmt}" for stem in stems for fmt in ("png", "pdf")}
    assert {p.name for p in paths} == expected
    for path in paths:
        head = path.read_bytes()[:8]
        assert head.startswith(b"\x89PNG" if path.suffix == ".png" else b"%PDF")
        assert path.stat().st_size > 1000


def test_plot_scan_writes_every_figure_of_every_sweep_combination(tmp_path):
    scans = [synthetic_scan(6, 5, 4, seed=seed) for seed in (0, 1)]
    ds = xr.concat(scans, dim="mu").assign_coords(mu=[-0.5, 0.5])
    paths = phase.plot_scan(ds, tmp_path / "out", formats=("png", "pdf"))
    stems = [f"{name}_mu={mu}" for name in FIGURE_NAMES for mu in ("-0.5", "0.5")]
    _check_files(paths, stems)
    assert all(p.parent == tmp_path / "out" for p in paths)


def test_rate_model_maps_are_titled_by_model_without_organics_overlays(tmp_path):
    """No Delta_c(|z|) on a rate model's map (even if a value is stored) and no normalization maps."""
    scans = [synthetic_scan(6, 5, 4, seed=seed) for seed in (0, 1)]
    models = np.array(["main", "linear"], dtype=object)
    ds = xr.concat(scans, dim="model").assign_coords(model=models)
    analytic = r"analytic $\Delta_c(|z|)$"
    for model, overlay in (("main", True), ("linear", False)):
        fig = phase.plot_phase_map(ds.sel(model=model))
        labels = [t.get_text() for t in fig.legends[0].get_texts()]
        assert (analytic in labels) is overlay
        assert f"model = {model}" in data_axes(fig)[0].get_title()
        plt.close(fig)
    with pytest.raises(ValueError, match="ORGaNICs models only; got model 'linear'"):
        phase.plot_normalization_maps(ds.sel(model="linear"))
    paths = phase.plot_scan(ds, tmp_path, formats=("png",))
    expected = {f"{name}_model={m}.png" for name in FIGURE_NAMES for m in models}
    assert {p.name for p in paths} == expected - {"normalization_maps_model=linear.png"}
    # A scan of one rate model (no model coordinate) is labelled from its stored spec.
    single = synthetic_scan().assign_attrs(organics_scan='{"model": "rate_tanh"}')
    fig = phase.plot_gap_map(single)
    assert "model = rate_tanh" in data_axes(fig)[0].get_title()
    assert not [line for line in data_axes(fig)[0].get_lines() if line.get_linestyle() == "--"]
    plt.close(fig)
