"""The claims of coordinate-wise step sizes for BFGS (docs/THEORY.md §2);
the layout is described in verify/claims/__init__.py."""

#: The claim modules in the specification's order (that of the catalogue, the README table and the reports).
ORDER = (
    "update_secant_spd",
    "cwss_curvature_strongly_convex",
    "cwss_interval_not_sufficient",
    "cwss_descent_condition",
    "cwss_exact_hessian_contraction",
    "cwss_spectral_stability",
    "cwss_sufficient_decrease",
    "cwss_superlinear",
    "l2o_output_range",
    "l2o_speedup",
    "l2o_identity_limit",
    "l2o_oracle_speedup",
)
