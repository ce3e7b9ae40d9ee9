r"""Every fixed point of the two-dimensional ORGaNICs circuit, with its linear stability.

The circuit has one principal neuron ``y`` and one normalization neuron ``a`` (Rawat, Heeger &
Martiniani, NeurIPS 2024, Section 5, Eq. 15; rectified model Appendix F.3, Eq. 101)::

    tau_y dy/dt = -y + b z + (1 - sqrt([a]+)) w_r g(y)
    tau_a da/dt = -a + b0**2 sigma**2 + w g(y)**2 [a]+

with ``g(y) = y`` (``variant="main"``) or ``g(y) = [y]+`` (``variant="rectified"``). It is the
``n = 1`` case of :class:`organics.ORGaNICs` with ``W_r = [[w_r]]`` and ``W = [[w]]`` (for
``n = 1`` the ``"rectified_recurrence"`` variant coincides with ``"rectified"`` since
``[w_r y]+ = w_r [y]+`` for ``w_r >= 0``; it is not offered here).

Main model (Appendix E). Any fixed point has ``a_s >= b0**2 sigma**2 > 0`` (Eq. 76), and
``m = sqrt(a_s)`` is a positive root of the quartic (Eq. 79)::

    w_r**2 m**4 + 2 (1-w_r) w_r m**3 + ((1-w_r)**2 - w b**2 z**2 - b0**2 sigma**2 w_r**2) m**2
        - 2 (1-w_r) w_r b0**2 sigma**2 m - (1-w_r)**2 b0**2 sigma**2 = 0

then ``y_s = b z / (1 - w_r + w_r m)`` (Eq. 77) and ``a_s = m**2``. The Jacobian is (Eq. 80)::

    J = [[(w_r - 1 - w_r m) / tau_y,   -w_r y_s / (2 m tau_y)],
         [2 w a_s y_s / tau_a,          (-1 + w y_s**2) / tau_a]]

and the fixed point is asymptotically stable iff ``tr J < 0`` and ``det J > 0`` (Eqs. 81-82).

Rectified model (Appendix F.3): the ``y_s > 0`` fixed points are the quartic roots with
``y_s > 0`` (Eqs. 104-106, same Jacobian); for ``z < 0`` there is also ``(b z, b0**2 sigma**2)``
with ``J = diag(-1/tau_y, -1/tau_a)`` (Eq. 107).

Degenerate input ``z = 0``: the quartic factorises as ``(w_r m + 1 - w_r)**2 (m**2 - b0**2 sigma**2)``
and Eq. 77 no longer fixes ``y_s``; the fixed points are then written in closed form: ``(0, b0**2
sigma**2)`` always, plus, when ``m0 = 1 - 1/w_r > b0 sigma`` (so ``w_r > 1``), the pair
``y_s = +-sqrt((1 - b0**2 sigma**2 / m0**2) / w)``, ``a_s = m0**2`` (main model; the rectified
model keeps the ``+`` one). Nothing divides by ``1 - w_r + w_r m``.

Every candidate is polished by Newton's method on the two steady-state equations and kept only if
it solves them (residual ``<= 1e-9 max(1, |x|)``), so the result never contains spurious roots.
This is a small NumPy tool (no JAX tracing); use :func:`organics.stability.jacobian` for
``n``-dimensional circuits.

Parameters follow the paper's analysis: ``w, b, b0, sigma, tau_y, tau_a > 0``; ``w_r`` and ``z``
may be any finite real numbers (the algebra of Eqs. 77-82 holds for any real ``w_r``; the
theorems, :func:`theorem_prediction`, need ``w_r > 0`` and ``z != 0``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from . import _validation as check

TwoDVariant = Literal["main", "rectified"]
TWO_D_VARIANTS: tuple[str, ...] = ("main", "rectified")

#: Relative tolerance on the steady-state residual for a candidate to count as a fixed point.
RESIDUAL_TOLERANCE = 1e-9
#: Two fixed points closer than this (relative to ``max(1, |x|)``) are the same point.
DEDUPE_TOLERANCE = 1e-7
#: Largest ``|Im m| / max(1, |m|)`` for which a numerical root of the quartic is treated as real.
IMAGINARY_TOLERANCE = 1e-6

Branch = Literal["quartic", "negative", "zero_input"]


@dataclass(frozen=True, eq=False)
class TwoDFixedPoint:
    """One fixed point ``(y, a)`` of the 2-D circuit and its linearisation.

    Attributes
    ----------
    y, a:
        The fixed point ``(y_s, a_s)``; always ``a_s > 0``.
    jacobian:
        ``2 x 2`` Jacobian ``df/dx`` in 1/s (Eq. 80; Eq. 107 on the rectified ``y_s < 0`` branch).
        At the rectified kink ``y_s = 0`` (only for ``z = 0``) it is the derivative with
        ``d[y]+/dy = 0``, the convention of :mod:`organics._safe` and of autodiff.
    eigenvalues:
        Eigenvalues of ``jacobian`` (complex array of length 2), in 1/s.
    trace, determinant:
        ``tr J`` and ``det J`` (Eqs. 81-82).
    stable:
        Asymptotic stability: ``tr J < 0`` and ``det J > 0``. At the rectified kink both one-sided
        Jacobians (``d[y]+/dy = 0`` and ``= 1``) must pass this test.
    branch:
        ``"quartic"`` (a root of Eq. 79), ``"negative"`` (rectified ``(b z, b0**2 sigma**2)``,
        Eq. 107) or ``"zero_input"`` (closed form for ``z = 0``).
    residual:
        ``max |tau * f(y, a)|`` after polishing (units of the state).
    """

    y: float
    a: float
    jacobian: np.ndarray
    eigenvalues: np.ndarray
    trace: float
    determinant: float
    stable: bool
    branch: str
    residual: float

    @property
    def state(self) -> np.ndarray:
        """The flat state ``(y_s, a_s)`` as used by :class:`organics.ORGaNICs` with ``n = 1``."""
        return np.array([self.y, self.a])

    @property
    def m(self) -> float:
        """``m = sqrt(a_s)``, the variable of the quartic Eq. 79."""
        return float(np.sqrt(self.a))

    @property
    def complex_eigenvalues(self) -> bool:
        """True if the eigenvalues form a complex-conjugate pair (a spiral or centre)."""
        return bool((self.trace**2 - 4.0 * self.determinant) < 0.0)


@dataclass(frozen=True)
class TheoremPrediction:
    """What Theorems 5.1/5.2 (main model) and Appendix F.3 (rectified model) guarantee.

    Attributes
    ----------
    regime:
        ``"contractive"`` (``0 < w_r <= 1``, Theorem 5.1 / F.3.1) or ``"expansive"``
        (``w_r > 1``, Theorem 5.2 / F.3.2).
    sign:
        ``sign(z)``, +1 or -1.
    n_sign_matching:
        Number of fixed points with ``sign(y_s) = sign(z)`` (and ``a_s > 0``): always 1, and it
        is asymptotically stable.
    threshold:
        ``1 - 1/w_r``; extra fixed points need ``b0 sigma < m < 1 - 1/w_r``.
    b0_sigma:
        ``b0 * sigma``.
    extra_excluded:
        True when the theorems rule out every other fixed point: always for the contractive
        regime and for the rectified model with ``z > 0``; otherwise iff ``b0 sigma >= 1 - 1/w_r``
        (the paper states ``>``; at equality the interval ``(b0 sigma, 1 - 1/w_r)`` of
        Lemma E.3 / E.2 is empty, so none exist either).
    possible_extra_counts:
        ``(0,)`` if ``extra_excluded`` else ``(0, 2)``.
    extra_sign:
        ``sign(y_s)`` of the possible extra fixed points (``-sign(z)``), or 0 when excluded.
    """

    regime: str
    sign: int
    n_sign_matching: int
    threshold: float
    b0_sigma: float
    extra_excluded: bool
    possible_extra_counts: tuple[int, ...]
    extra_sign: int

    def holds_for(self, fixed_points: list[TwoDFixedPoint]) -> bool:
        """True if ``fixed_points`` (from :func:`two_d_fixed_points`) satisfy the prediction."""
        matching = [fp for fp in fixed_points if np.sign(fp.y) == self.sign and fp.a > 0]
        others = [fp for fp in fixed_points if not (np.sign(fp.y) == self.sign and fp.a > 0)]
        return (
            len(matching) == self.n_sign_matching
            and all(fp.stable for fp in matching)
            and len(others) in self.possible_extra_counts
            and all(np.sign(fp.y) == self.extra_sign for fp in others)
        )


# ---------------------------------------------------------------------------------- validation
def _scalar(name: str, value, *, positive: bool) -> float:
    if np.ndim(value) != 0:
        raise ValueError(f"{name} must be a real scalar; got shape {np.shape(value)}")
    if positive:
        check.check_positive(name, value)
    else:
        check.check_finite(name, value)
    return float(value)


def _parameters(w_r, w, b, z, b0, sigma, tau_y=None, tau_a=None) -> dict[str, float]:
    params = {
        "w_r": _scalar("w_r", w_r, positive=False),
        "w": _scalar("w", w, positive=True),
        "b": _scalar("b", b, positive=True),
        "z": _scalar("z", z, positive=False),
        "b0": _scalar("b0", b0, positive=True),
        "sigma": _scalar("sigma", sigma, positive=True),
    }
    if tau_y is not None:
        params["tau_y"] = _scalar("tau_y", tau_y, positive=True)
    if tau_a is not None:
        params["tau_a"] = _scalar("tau_a", tau_a, positive=True)
    return params


# ---------------------------------------------------------------------------------- public API
def quartic_coefficients(*, w_r: float, w: float, b: float, z: float, b0: float, sigma: float) -> np.ndarray:
    r"""Coefficients (highest power first) of the quartic Eq. 79 in ``m = sqrt(a_s)``.

    ::

        [w_r**2,
         2 (1 - w_r) w_r,
         (1 - w_r)**2 - w b**2 z**2 - b0**2 sigma**2 w_r**2,
         -2 (1 - w_r) w_r b0**2 sigma**2,
         -(1 - w_r)**2 b0**2 sigma**2]

    Equivalently ``(w_r m + 1 - w_r)**2 (m**2 - b0**2 sigma**2) - w b**2 z**2 m**2``. Its positive
    roots are the ``m`` of the main model's fixed points (Theorem E.1). Pass the result to
    ``numpy.roots``.
    """
    p = _parameters(w_r, w, b, z, b0, sigma)
    w_r, beta2 = p["w_r"], (p["b0"] * p["sigma"]) ** 2
    c = 1.0 - w_r
    drive2 = p["w"] * (p["b"] * p["z"]) ** 2
    return np.array(
        [
            w_r**2,
            2.0 * c * w_r,
            c**2 - drive2 - beta2 * w_r**2,
            -2.0 * c * w_r * beta2,
            -(c**2) * beta2,
        ]
    )


def two_d_jacobian(
    y: float,
    a: float,
    *,
    w_r: float,
    w: float,
    tau_y: float = 2e-3,
    tau_a: float = 2e-3,
    variant: TwoDVariant = "main",
) -> np.ndarray:
    r"""Jacobian of the 2-D circuit at ``(y, a)`` with ``a > 0``, in 1/s (Eqs. 80, 106, 107).

    For the main model, and the rectified model at ``y > 0``::

        [[(w_r - 1 - w_r sqrt(a)) / tau_y,   -w_r y / (2 sqrt(a) tau_y)],
         [2 w a y / tau_a,                   (-1 + w y**2) / tau_a]]

    (valid at any ``(y, a)`` with ``a > 0``, not only at fixed points). For the rectified model at
    ``y <= 0`` the derivative of ``[y]+`` is 0 and ``J = [[-1/tau_y, 0], [0, -1/tau_a]]``
    (Eq. 107).
    """
    check.check_choice("variant", variant, TWO_D_VARIANTS)
    if not a > 0:
        raise ValueError(f"a must be > 0 (the Jacobian of sqrt([a]+) is singular at a <= 0); got {a!r}")
    if variant == "rectified" and y <= 0:
        return np.array([[-1.0 / tau_y, 0.0], [0.0, -1.0 / tau_a]])
    m = np.sqrt(a)
    return np.array(
        [
            [(w_r - 1.0 - w_r * m) / tau_y, -w_r * y / (2.0 * m * tau_y)],
            [2.0 * w * a * y / tau_a, (-1.0 + w * y * y) / tau_a],
        ]
    )


def two_d_fixed_points(
    *,
    w_r: float,
    w: float,
    b: float,
    z: float,
    b0: float,
    sigma: float,
    tau_y: float = 2e-3,
    tau_a: float = 2e-3,
    variant: TwoDVariant = "main",
) -> list[TwoDFixedPoint]:
    r"""Every fixed point of the 2-D ORGaNICs circuit (Eq. 15, rectified Eq. 101), sorted by ``y_s``.

    Main model: the positive real roots ``m`` of the quartic Eq. 79 (:func:`quartic_coefficients`,
    solved with ``numpy.roots``), ``y_s = b z / (1 - w_r + w_r m)`` (Eq. 77), ``a_s = m**2``.
    Rectified model: the same roots restricted to ``y_s > 0`` (Eqs. 104-105), plus
    ``(b z, b0**2 sigma**2)`` when ``z < 0`` (Eq. 107). ``z = 0`` is handled in closed form (see
    the module docstring). Each point carries its Jacobian (Eq. 80), eigenvalues and the stability
    test ``tr J < 0, det J > 0`` (Eqs. 81-82).

    Parameters must be finite; ``w, b, b0, sigma, tau_y, tau_a > 0`` (ValueError otherwise).
    ``tau_y`` and ``tau_a`` (seconds) only scale the Jacobian: the fixed points do not depend on them.
    """
    check.check_choice("variant", variant, TWO_D_VARIANTS)
    p = _parameters(w_r, w, b, z, b0, sigma, tau_y, tau_a)
    w_r, w, b, z = p["w_r"], p["w"], p["b"], p["z"]
    tau_y, tau_a = p["tau_y"], p["tau_a"]
    beta = p["b0"] * p["sigma"]
    beta2 = beta * beta
    rectified = variant == "rectified"

    candidates: list[tuple[float, float, str]] = []
    if z == 0.0:
        candidates.append((0.0, beta2, "zero_input"))
        if w_r != 0.0:
            m0 = 1.0 - 1.0 / w_r
            if m0 > beta:
                y0 = np.sqrt((1.0 - beta2 / m0**2) / w)
                candidates.append((y0, m0 * m0, "zero_input"))
                if not rectified:
                    candidates.append((-y0, m0 * m0, "zero_input"))
    else:
        coefficients = quartic_coefficients(w_r=w_r, w=w, b=b, z=z, b0=p["b0"], sigma=p["sigma"])
        for m in _positive_real_roots(coefficients):
            d = 1.0 - w_r + w_r * m
            if abs(d) > 0.0 and w * (b * z / d) ** 2 < 1.0:  # Eq. 78 needs w y_s**2 < 1
                candidates.append((b * z / d, m * m, "quartic"))
            # Near z = 0 two roots nearly coincide at d = 0, numpy.roots cannot separate them and
            # Eq. 77 is ill-conditioned: also try |y_s| from Eq. 78 with both signs. Newton and
            # the residual test below decide; duplicates are merged.
            if m > beta:
                y_abs = np.sqrt((1.0 - beta2 / (m * m)) / w)
                candidates.extend([(y_abs, m * m, "quartic"), (-y_abs, m * m, "quartic")])
        if rectified:
            candidates = [c for c in candidates if c[0] > 0]
            if z < 0:
                candidates.append((b * z, beta2, "negative"))

    found: list[TwoDFixedPoint] = []
    for y0, a0, branch in candidates:
        y_s, a_s, residual = _polish(y0, a0, w_r=w_r, w=w, b=b, z=z, beta2=beta2, rectified=rectified)
        scale = max(1.0, abs(y_s), abs(a_s))
        if not (a_s > 0 and residual <= RESIDUAL_TOLERANCE * scale):
            continue
        if rectified and branch == "quartic" and not y_s > 0:
            continue
        tol = DEDUPE_TOLERANCE * scale
        if any(abs(fp.y - y_s) <= tol and abs(fp.a - a_s) <= tol for fp in found):
            continue
        found.append(
            _classify(y_s, a_s, branch, residual, w_r=w_r, w=w, tau_y=tau_y, tau_a=tau_a, rectified=rectified)
        )
    return sorted(found, key=lambda fp: (fp.y, fp.a))


def theorem_prediction(
    *, w_r: float, b0: float, sigma: float, z: float, variant: TwoDVariant = "main"
) -> TheoremPrediction:
    r"""The fixed-point structure guaranteed by Theorems 5.1, 5.2 (Appendix E) and Appendix F.3.

    * ``0 < w_r <= 1`` (Theorem 5.1, F.3.1): a unique fixed point; ``sign(y_s) = sign(z)``,
      ``a_s > 0``, asymptotically stable.
    * ``w_r > 1`` (Theorem 5.2, F.3.2): exactly one fixed point with ``sign(y_s) = sign(z)`` and
      ``a_s > 0``, asymptotically stable. If ``b0 sigma > 1 - 1/w_r`` no other fixed point; if
      ``b0 sigma < 1 - 1/w_r``, zero or two others with ``sign(y_s) = -sign(z)`` whose stability is
      not guaranteed. Rectified model with ``z > 0``: never any other (the ``y_s < 0`` branch needs
      ``z < 0``).

    Requires ``w_r > 0`` and ``z != 0`` (the theorems' hypotheses); ValueError otherwise.
    """
    check.check_choice("variant", variant, TWO_D_VARIANTS)
    w_r = _scalar("w_r", w_r, positive=False)
    if not w_r > 0:
        raise ValueError(f"w_r must be > 0 for Theorems 5.1/5.2 (they assume positive recurrence); got {w_r!r}")
    z = _scalar("z", z, positive=False)
    if z == 0.0:
        raise ValueError("z must be nonzero (> 0 or < 0) for Theorems 5.1/5.2; got 0.0")
    b0_sigma = _scalar("b0", b0, positive=True) * _scalar("sigma", sigma, positive=True)
    sign = 1 if z > 0 else -1
    threshold = 1.0 - 1.0 / w_r
    if w_r <= 1.0:
        regime, excluded = "contractive", True
    else:
        regime = "expansive"
        excluded = b0_sigma >= threshold or (variant == "rectified" and z > 0)
    return TheoremPrediction(
        regime=regime,
        sign=sign,
        n_sign_matching=1,
        threshold=threshold,
        b0_sigma=b0_sigma,
        extra_excluded=excluded,
        possible_extra_counts=(0,) if excluded else (0, 2),
        extra_sign=0 if excluded else -sign,
    )


# ---------------------------------------------------------------------------------- internals
def _positive_real_roots(coefficients: np.ndarray) -> list[float]:
    """Real roots ``m > 0`` of a polynomial (numerically real within IMAGINARY_TOLERANCE)."""
    roots = np.roots(coefficients)
    keep = []
    for root in roots:
        if abs(root.imag) <= IMAGINARY_TOLERANCE * max(1.0, abs(root)) and root.real > 0:
            keep.append(float(root.real))
    return keep


def _steady_state(y, a, *, w_r, w, b, z, beta2, rectified):
    """``tau * f(y, a)`` (right-hand sides of Eq. 73 / Eq. 101) and its Jacobian, for ``a > 0``."""
    g, dg = (max(y, 0.0), float(y > 0)) if rectified else (y, 1.0)
    m = np.sqrt(a)
    F = np.array([-y + b * z + (1.0 - m) * w_r * g, -a + beta2 + w * g * g * a])
    J = np.array(
        [
            [-1.0 + (1.0 - m) * w_r * dg, -w_r * g / (2.0 * m)],
            [2.0 * w * g * dg * a, -1.0 + w * g * g],
        ]
    )
    return F, J


def _polish(y, a, *, w_r, w, b, z, beta2, rectified, iterations: int = 30):
    """Newton refinement of a candidate fixed point; returns the best ``(y, a, max|tau f|)`` seen."""
    x = np.array([y, a], dtype=float)
    F, J = _steady_state(x[0], x[1], w_r=w_r, w=w, b=b, z=z, beta2=beta2, rectified=rectified)
    best = (x[0], x[1], float(np.max(np.abs(F))))
    for _ in range(iterations):
        if best[2] == 0.0:
            break
        try:
            step = np.linalg.solve(J, -F)
        except np.linalg.LinAlgError:
            break
        trial = x + step
        if not (np.all(np.isfinite(trial)) and trial[1] > 0):
            break
        x = trial
        F, J = _steady_state(x[0], x[1], w_r=w_r, w=w, b=b, z=z, beta2=beta2, rectified=rectified)
        residual = float(np.max(np.abs(F)))
        if residual < best[2]:
            best = (x[0], x[1], residual)
        elif residual <= 4.0 * np.finfo(float).eps * max(1.0, np.max(np.abs(x))):
            break
    return float(best[0]), float(best[1]), best[2]


def _classify(y, a, branch, residual, *, w_r, w, tau_y, tau_a, rectified) -> TwoDFixedPoint:
    variant = "rectified" if rectified else "main"
    J = two_d_jacobian(y, a, w_r=w_r, w=w, tau_y=tau_y, tau_a=tau_a, variant=variant)
    trace, determinant = float(np.trace(J)), float(np.linalg.det(J))
    stable = trace < 0 and determinant > 0
    if rectified and y == 0.0:
        # On the kink: also require the one-sided Jacobian from y > 0 to be Hurwitz.
        J_right = two_d_jacobian(y, a, w_r=w_r, w=w, tau_y=tau_y, tau_a=tau_a, variant="main")
        stable = stable and float(np.trace(J_right)) < 0 and float(np.linalg.det(J_right)) > 0
    return TwoDFixedPoint(
        y=float(y),
        a=float(a),
        jacobian=J,
        eigenvalues=np.linalg.eigvals(J).astype(complex),
        trace=trace,
        determinant=determinant,
        stable=bool(stable),
        branch=branch,
        residual=float(residual),
    )
