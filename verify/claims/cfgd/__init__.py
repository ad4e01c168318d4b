"""The claims of L2O-CFGD and Caputo fractional gradient descent (docs/THEORY.md §1);
the layout is described in verify/claims/__init__.py."""

#: The claim modules in the specification's order (that of the catalogue, the README table and the reports).
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
