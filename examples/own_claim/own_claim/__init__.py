"""An example package adding its own claims to l2o-verify through the ``l2o_verify.claims`` entry point: a
step-size model for CWSS-BFGS (own_claim.model), what THEORY.md §2.1 says a run with it must do
(own_claim.descent), and the claims and checks verify discovers (own_claim.claims)."""
