"""The claims of Math-L2O (docs/THEORY.md §3); the layout is described in verify/claims/__init__.py."""

#: The claim modules in the specification's order (that of the catalogue, the README table and the reports).
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
