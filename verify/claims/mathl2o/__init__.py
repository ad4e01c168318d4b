"""The mathl2o claims: one module per claim, each holding its spec (SPEC, a ClaimSpec literal that
verify.catalogue reads without importing the module) beside its check (the function decorated with
@check). Modules starting with an underscore hold helpers that several claims share.

ORDER lists the claim modules in the order of the specification (THEORY.md), the order of the
catalogue, the README table and the reports; a claim module missing from it is an error."""

ORDER = (
    "init_equals_gd",
    "init_inner_grad_zero",
    "init_alpha0_homogeneity",
    "gd_sublinear_bound",
    "eq13_alpha0_condition",
    "eq14_lr_bound",
    "thm43_hypotheses_satisfiable",
    "thm43_linear_rate",
    "lemma_chain",
    "lemma5_e_requirements",
    "ntk_width",
    "beats_gd_fig5",
    "beats_gd_fig4a",
    "oracle_fig5",
    "random_init_explodes",
    "random_init_mlp_gradients",
)
