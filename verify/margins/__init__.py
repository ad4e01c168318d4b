"""The conditions the claims evaluate on one instance, as margins (positive: violated by that much), public so
that tests, notebooks and researchers can evaluate them on their own implementations: each takes the
implementation under test as a parameter (``rule=``, ``direction=``, ``runner=``, ``estimate=``, ``step=``),
defaulting to the project's own. Every round-off bound is derived in the margin's docstring from the working
precision of the dtype it is computed in.

- :mod:`verify.margins.cfgd`: Gauss–Jacobi exactness, the scaled derivative of affine and quadratic f, the
  AT-CFGD/heavy-ball identity, Hutchinson's estimator over all sign vectors (THEORY.md §1).
- :mod:`verify.margins.bfgs`: the CWSS conditions (THEORY.md §2): the inverse BFGS update's secant equation and
  definiteness, non-descent (D0), curvature under strong convexity (D5), the exact-inverse-Hessian contraction
  (D4), sufficient decrease (D2/D3), the spectral-stability bound, the rate band (D6) and a step-size model's
  output range; beside them the random instances the bfgs claims' sweeps draw (``draw_*``).
- :mod:`verify.margins.mathl2o`: the initialisation's trajectory = GD, zero inner-layer gradients and α₀'s
  homogeneity in e, GD's sublinear bound, with the batched instance distributions of their sweeps (THEORY.md §3).
"""
