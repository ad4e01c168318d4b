"""The conditions the claims evaluate on one instance, as margins (positive: violated by that much), public so
that tests, notebooks and researchers can evaluate them on their own implementations: each takes the
implementation under test as a parameter (``rule=``, ``direction=``, ``runner=``, ``estimate=``, ``step=``),
defaulting to the project's own. Every round-off bound is derived in the margin's docstring from the working
precision of the dtype it is computed in.

- :mod:`verify.margins.cfgd`: Gauss–Jacobi exactness, the scaled derivative of affine and quadratic f, the
  AT-CFGD/heavy-ball identity, Hutchinson's estimator over all sign vectors (THEORY.md §1).
- :mod:`verify.margins.bfgs`: the exact-inverse-Hessian contraction of the CWSS step (THEORY.md §2, D4).
"""
