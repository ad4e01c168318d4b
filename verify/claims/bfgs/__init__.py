"""The bfgs claims: one module per claim, each holding its spec (SPEC, a ClaimSpec literal that
verify.catalogue reads without importing the module) beside its check (the function decorated with
@check). Modules starting with an underscore hold helpers that several claims share.

ORDER lists the claim modules in the order of the specification (THEORY.md), the order of the
catalogue, the README table and the reports; a claim module missing from it is an error."""

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
