"""Phase-diagram analysis of scan datasets (organics.scan.analysis) on hand-built datasets."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from organics.scan import analysis as an

NAN = np.nan
CELL = ("delta", "input_norm", "trial")


def scan_dataset(
    outcome,
    *,
    done=None,
    input_type: str = "delocalized",
    delta=None,
    input_norm=None,
    **variables,
) -> xr.Dataset:
    """A scan dataset with outcome (delta, input_norm, trial) and the given per-trial variables."""
    outcome = np.asarray(outcome, dtype=np.int8)
    n_delta, n_input, n_trial = outcome.shape
    delta = np.logspace(-2, 1, n_delta) if delta is None else np.asarray(delta, float)
    input_norm = np.logspace(-2, 0, n_input) if input_norm is None else np.asarray(input_norm, float)
    done = np.ones((n_delta, n_input), bool) if done is None else np.asarray(done, bool)
    data = {"outcome": (CELL, outcome), "done": (CELL[:2], done)}
    data |= {name: (CELL, np.asarray(v, float)) for name, v in variables.items()}
    data["critical_delta"] = ("input_norm", 0.5 + input_norm)
    coords = {"delta": delta, "input_norm": input_norm, "trial": np.arange(n_trial)}
    attrs = {"input_type": input_type, "tau": 0.002, "n": 10}
    return xr.Dataset(data, coords=coords, attrs=attrs)


def with_sweep(datasets: list[xr.Dataset], dim: str, values: list) -> xr.Dataset:
    """Stack datasets along a new leading sweep dim."""
    return xr.concat(datasets, dim=dim).assign_coords({dim: values})


# One delta row; each column is a cell with 4 trials: (outcomes, leading_real_tau, done).
CELLS = [
    ([1, 1, 2, 2], [NAN, NAN, -0.5, -0.6], True),  # tie diverging/stable -> diverging
    ([0, 0, 3, 3], [NAN] * 4, True),  # tie unresolved/limit cycle -> unresolved
    ([2, 2, 2, 3], [-0.5, -0.005, -0.2, NAN], True),  # stable, gap -0.005 -> slowing
    ([2, 2, -1, -1], [-0.3, -0.4, NAN, NAN], True),  # trials not computed are ignored
    ([2, 2, 2, 2], [-1e-3] * 4, False),  # cell not done -> NaN whatever it holds
    ([0, 3, 1, 1], [NAN] * 4, True),  # merged 0+3 ties diverging and wins under code 0
    ([2, 2, 3, 3], [-0.5, -0.6, NAN, NAN], True),  # tie stable/limit cycle -> stable
    ([2, 3, 3, -1], [-1e-3, -1e-4, NAN, NAN], True),  # majority limit cycle, never slowing
    ([-1] * 4, [NAN] * 4, True),  # done but nothing computed -> NaN
]
EXPECTED_PHASE = [1, 0, 5, 2, NAN, 1, 2, 3, NAN]
EXPECTED_MERGED = [1, 3, 5, 2, NAN, 3, 3, 3, NAN]


@pytest.fixture
def cells() -> xr.Dataset:
    outcome = np.array([[c[0] for c in CELLS]])
    tau = np.array([[c[1] for c in CELLS]])
    done = np.array([[c[2] for c in CELLS]])
    return scan_dataset(outcome, done=done, leading_real_tau=tau)


def test_outcome_codes_match_the_simulator():
    from organics.simulate import Outcome

    assert an.UNRESOLVED == Outcome.UNRESOLVED
    assert an.DIVERGING == Outcome.DIVERGING
    assert an.STABLE == Outcome.STABLE_FIXED_POINT
    assert an.LIMIT_CYCLE == Outcome.LIMIT_CYCLE
    assert an.SLOWING not in Outcome.__members__.values()


def test_majority_phase_ties_slowing_and_missing_cells(cells):
    phase = an.majority_phase(cells)
    assert phase.dims == ("delta", "input_norm")
    np.testing.assert_array_equal(phase.values[0], EXPECTED_PHASE)
    # a stricter threshold keeps the gap -0.005 cell stable
    assert an.majority_phase(cells, threshold=1e-3).values[0, 2] == an.STABLE


def test_majority_phase_merged_reproduces_the_research_vote(cells):
    merged = an.majority_phase(cells, merge_unresolved=True)
    np.testing.assert_array_equal(merged.values[0], EXPECTED_MERGED)


def test_outcome_fractions_count_only_computed_trials(cells):
    fractions = an.outcome_fractions(cells)
    assert fractions.dims == ("delta", "input_norm", "outcome")
    assert list(fractions["outcome"].values) == ["unresolved", "diverging", "stable", "limit_cycle"]
    assert list(fractions["code"].values) == [0, 1, 2, 3]
    row = fractions.isel(delta=0)
    np.testing.assert_allclose(row.isel(input_norm=0).values, [0, 0.5, 0.5, 0])
    np.testing.assert_allclose(row.isel(input_norm=3).values, [0, 0, 1, 0])  # 2 of 4 computed
    np.testing.assert_allclose(row.isel(input_norm=7).values, [0, 0, 1 / 3, 2 / 3])
    assert np.isnan(row.isel(input_norm=[4, 8]).values).all()  # not done / nothing computed
    computed = an.computed_trials(cells).values[0]
    np.testing.assert_array_equal(computed, [4, 4, 4, 2, 0, 4, 4, 3, 0])
    sums = row.sum("outcome", skipna=False).values
    np.testing.assert_allclose(sums[computed > 0], 1.0)


def test_gap_is_max_over_fixed_point_trials_and_nan_when_missing(cells):
    g = an.gap(cells).values[0]
    np.testing.assert_allclose(g[[0, 2, 3, 6, 7]], [-0.5, -0.005, -0.3, -0.5, -1e-3])
    assert np.isnan(g[[1, 4, 5, 8]]).all()  # no fixed point / not done / nothing computed


def gap_field_dataset() -> xr.Dataset:
    """6 deltas x 4 inputs x 3 trials of stable fixed points with a prescribed gap per cell."""
    cell_gap = np.array(
        [
            [-0.5, -0.5, -0.5, -0.5],
            [-0.3, -0.5, -0.5, -0.001],  # (1, 3) is slowed but not done
            [-0.005, -0.5, -0.5, -0.3],
            [-0.5, -0.5, -0.5, -0.008],
            [-0.001, -0.5, -0.5, -0.5],
            [-0.2, -0.009, -0.5, -0.001],
        ]
    )
    tau = np.stack([cell_gap, cell_gap - 0.3, cell_gap - 0.6], axis=-1)
    done = np.ones(cell_gap.shape, bool)
    done[1, 3] = False
    return scan_dataset(np.full(tau.shape, 2), done=done, leading_real_tau=tau)


def test_critical_delta_measured_is_the_first_slowed_delta_upwards():
    ds = gap_field_dataset()
    delta = ds["delta"].values
    expected = [delta[2], delta[5], NAN, delta[3]]
    measured = an.critical_delta_measured(ds)
    assert measured.dims == ("input_norm",)
    np.testing.assert_allclose(measured.values, expected)
    reversed_ds = ds.isel(delta=slice(None, None, -1))
    np.testing.assert_allclose(an.critical_delta_measured(reversed_ds).values, expected)
    strict = an.critical_delta_measured(ds, threshold=2e-3).values
    np.testing.assert_allclose(strict, [delta[4], NAN, NAN, delta[5]])


def test_critical_delta_comparison_pairs_measured_and_analytic():
    ds = gap_field_dataset()
    table = an.critical_delta_comparison(ds)
    assert set(table.data_vars) == {"measured", "analytic", "ratio"}
    assert table["measured"].dims == ("input_norm",)
    np.testing.assert_allclose(table["analytic"].values, ds["critical_delta"].values)
    np.testing.assert_allclose(table["ratio"], table["measured"] / table["analytic"])


# ------------------------------------------------------------------ normalization statistics
X = np.linspace(-2.0, 0.0, 25)  # log10 |z|
MEAN = np.array([0.1, 1.0])  # 1 + 0.1 x, coefficients in np.polyval order
SD = np.array([0.05, 0.0, -0.5, 0.4])  # 0.05 x^3 - 0.5 x + 0.4: 1.4 at x=-2, 0.4 at x=0
SCALES = [1.0, 1.5, 0.1, 1.0, -1.0]  # SD scale per row; row 3 too few valid cells; row 4 mean < 0


def expected_crossing(scale: float) -> float:
    """|z| where SD * scale = mean, the root in [-2, 0] of the exact polynomials."""
    roots = np.roots(np.polysub(MEAN, abs(scale) * SD))
    real = roots[np.isclose(roots.imag, 0) & (roots.real >= -2) & (roots.real <= 0)].real
    return 10.0 ** real.min() if real.size else NAN


def breakdown_dataset(input_type: str) -> xr.Dataset:
    """Observable with exact per-cell sample mean/SD polynomial in log10 |z|, 6 trials."""
    rng = np.random.default_rng(3)
    unit = rng.normal(size=6)
    unit = (unit - unit.mean()) / unit.std(ddof=1)  # sample mean 0, unbiased SD 1
    mean = np.polyval(MEAN, X)
    rows = []
    for scale in SCALES:
        sign = np.sign(scale)
        rows.append(sign * (mean[:, None] + abs(scale) * np.polyval(SD, X)[:, None] * unit))
    observable = np.stack(rows)
    outcome = np.full(observable.shape, 2)
    outcome[3, 5:, 0] = 3  # row 3: only 5 cells above 99% stable
    observable[3, 5:, 0] = NAN
    other = rng.normal(size=observable.shape)  # the observable NOT to be used
    use_first = input_type == "delocalized"
    return scan_dataset(
        outcome,
        input_type=input_type,
        input_norm=10.0**X,
        y_first=observable if use_first else other,
        y_sum=other if use_first else observable,
    )


@pytest.mark.parametrize("input_type", ["delocalized", "localized", "random"])
def test_normalization_breakdown_recovers_the_polynomial_crossing(input_type):
    ds = breakdown_dataset(input_type)
    z_c = an.normalization_breakdown(ds)
    assert z_c.dims == ("delta",)
    expected = [expected_crossing(s) for s in SCALES]
    expected[3] = NAN  # too few valid cells
    assert np.isnan(expected[2])  # the SD never reaches the mean
    np.testing.assert_allclose(z_c.values, expected, rtol=2e-3)
    # lowering the degree to 3 still fits exactly; a huge degree leaves too few points
    np.testing.assert_allclose(an.normalization_breakdown(ds, degree=3).values, expected, rtol=2e-3)
    assert np.isnan(an.normalization_breakdown(ds, degree=30).values).all()


def test_normalization_statistics_mean_sd_cv_on_stable_cells_only():
    ds = breakdown_dataset("delocalized")
    done = ds["done"].values.copy()
    done[0, 0] = False
    ds["done"] = (("delta", "input_norm"), done)
    stats = an.normalization_statistics(ds)
    assert stats.attrs["observable"] == "y_first"
    mean = np.polyval(MEAN, X)
    sd = np.polyval(SD, X)
    np.testing.assert_allclose(stats["mean"].values[0, 1:], mean[1:])
    np.testing.assert_allclose(stats["sd"].values[1, :], 1.5 * sd)
    np.testing.assert_allclose(stats["cv"].values[4, :], sd / mean)  # mean < 0
    assert np.isnan(stats["mean"].values[0, 0])  # not done
    assert np.isnan(stats["sd"].values[3, 5:]).all()  # 5 of 6 trials stable < 99 %
    np.testing.assert_allclose(stats["mean"].values[3, :5], mean[:5])


def test_trial_means_skip_non_fixed_points_and_missing_cells():
    outcome = np.array([[[2, 2, 3], [2, 1, 1]], [[2, 2, 2], [0, 0, 0]]])
    freq = np.array([[[4.0, 8.0, 99.0], [3.0, NAN, NAN]], [[1.0, 1.0, 1.0], [NAN] * 3]])
    done = np.array([[True, True], [False, True]])
    ds = scan_dataset(outcome, done=done, frequency=freq, quality_factor=2 * freq, normalization_error=freq / 10)
    np.testing.assert_allclose(an.mean_frequency(ds).values, [[6.0, 3.0], [NAN, NAN]])
    np.testing.assert_allclose(an.mean_quality_factor(ds).values, [[12.0, 6.0], [NAN, NAN]])
    np.testing.assert_allclose(an.mean_normalization_error(ds).values, [[0.6, 0.3], [NAN, NAN]])


# ------------------------------------------------------------------ sweeps and tables
def phase_rows_dataset() -> xr.Dataset:
    """2 deltas x 4 inputs x 3 trials with one outcome per cell."""
    per_cell = np.array([[2, 1, 2, 2], [1, 2, 2, 3]])
    outcome = np.repeat(per_cell[..., None], 3, axis=-1)
    tau = np.where(outcome == 2, -0.5, NAN)
    tau[0, 3] = -0.001  # slowed, still a stable fixed point
    y = np.where(outcome == 2, 1.0, NAN)
    return scan_dataset(outcome, leading_real_tau=tau, y_first=y, y_sum=y)


def test_iter_sweep_and_broadcasting_over_sweep_dims():
    base = phase_rows_dataset()
    other = base.copy(deep=True)
    other["outcome"][:] = 1
    ds = with_sweep([base, other], "mu", [-0.5, 0.5])
    ds = with_sweep([ds, ds], "model", ["main", "rectified"])
    assert an.sweep_dims(ds) == ("model", "mu")
    combos = list(an.iter_sweep(ds))
    assert [labels for labels, _ in combos] == [
        {"model": m, "mu": mu} for m in ("main", "rectified") for mu in (-0.5, 0.5)
    ]
    for labels, sub in combos:
        assert an.sweep_dims(sub) == ()
        assert an.combination_labels(sub) == labels
        expected = an.majority_phase(sub).values
        np.testing.assert_array_equal(an.majority_phase(ds).sel(labels).values, expected)
    assert an.format_combination({"model": "main", "mu": -0.5}) == "model=main, mu=-0.5"
    with pytest.raises(ValueError, match="one sweep combination"):
        an.squeeze_sweep(ds)
    assert an.sweep_dims(an.squeeze_sweep(ds.isel(mu=[0], model=[1]))) == ()
    assert next(an.iter_sweep(base))[0] == {}


def test_summary_rows_per_sweep_combination_and_delta():
    base = phase_rows_dataset()
    ds = with_sweep([base, base], "mu", [0.0, 1.0])
    rows = an.summary_rows(ds)
    assert len(rows) == 4
    z = base["input_norm"].values
    first = rows[0]
    assert list(first)[:2] == ["mu", "delta"]
    assert first["mu"] == 0.0 and first["delta"] == base["delta"].values[0]
    assert (first["cells_done"], first["cells"], first["trials"]) == (4, 4, 12)
    assert first["stable"] == pytest.approx(0.75) and first["diverging"] == pytest.approx(0.25)
    assert first["slowed_cells"] == 1
    assert first["first_unstable_input"] == z[1]
    assert first["stable_from_input"] == z[2]
    second = rows[1]
    assert second["first_unstable_input"] == z[0]
    assert np.isnan(second["stable_from_input"])  # the largest input is a limit cycle
    assert np.isnan(second["normalization_breakdown_input"])
    assert rows[2]["mu"] == 1.0 and rows[2].keys() == first.keys()
    for same_delta, row in ((rows[2], first), (rows[3], second)):  # mu = 1 repeats mu = 0
        np.testing.assert_array_equal(list(same_delta.values())[1:], list(row.values())[1:])


# ------------------------------------------------------------------ rate models
def test_rate_models_are_recognised_from_the_coordinate_or_the_stored_spec():
    import json

    base = phase_rows_dataset()
    models = np.array(["main", "linear", "rate_tanh"], dtype=object)  # as read back from a Zarr store
    ds = with_sweep([base, base, base], "model", list(models)).assign_coords(model=models)
    np.testing.assert_array_equal(an.is_rate_model(ds).values, [False, True, True])
    labels = [labels for labels, _ in an.iter_sweep(ds)]
    assert labels == [{"model": "main"}, {"model": "linear"}, {"model": "rate_tanh"}]
    assert all(type(label["model"]) is str for label in labels)
    assert not bool(an.is_rate_model(base)) and an.display_labels(base) == {}  # no spec: ORGaNICs "main"
    single = base.assign_attrs(organics_scan=json.dumps({"model": "linear"}))
    assert bool(an.is_rate_model(single)) and an.display_labels(single) == {"model": "linear"}
    assert an.display_labels(ds.isel(model=2)) == {"model": "rate_tanh"}


def test_normalization_statistics_are_undefined_for_rate_models():
    base = breakdown_dataset("delocalized")
    ds = with_sweep([base, base], "model", ["main", "rate_tanh"])
    stats = an.normalization_statistics(ds)
    xr.testing.assert_identical(stats.sel(model="main", drop=True), an.normalization_statistics(base))
    assert stats.sel(model="rate_tanh").to_array().isnull().all()
    z_c = an.normalization_breakdown(ds)
    assert np.isfinite(z_c.sel(model="main").values).any() and z_c.sel(model="rate_tanh").isnull().all()
