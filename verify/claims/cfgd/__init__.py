"""The cfgd claims: one module per claim, each holding its spec (SPEC, a ClaimSpec literal that
verify.catalogue reads without importing the module) beside its check (the function decorated with
@check). Modules starting with an underscore hold helpers that several claims share.

ORDER lists the claim modules in the order of the specification (THEORY.md), the order of the
catalogue, the README table and the reports; a claim module missing from it is an error."""

ORDER = (
    "caputo_power_rule",
    "caputo_identity_normaliser",
    "quadrature_change_of_variables",
    "scaled_linear_exact",
    "gj_nodes_weights",
    "gj_exactness",
    "gj_spectral_convergence",
    "quadratic_closed_form",
    "na_fixed_point",
    "na_stability",
    "at_heavy_ball",
    "hutchinson_unbiased",
    "hutchinson_abs_bias",
    "code_sign_for_x_below_c",
    "l2o_static_reduction",
    "l2o_beats_static",
    "l2o_generalizes",
    "l2o_alpha_schedule",
    "l2o_oracle_schedule",
    "l2o_authors_code",
)
