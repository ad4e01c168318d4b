"""The built-in claims, one module per claim: verify/claims/<paper>/<name>.py holds the claim's spec
(``SPEC = ClaimSpec(...)``, literals only, read by verify.catalogue without importing the module) beside its
check (``@check(SPEC.id)``). ``verify.registry.load_checks`` imports every module of these packages, so adding a
claim is adding its module and naming it in its paper's ``ORDER``; modules starting with an underscore hold
helpers that several claims of a paper share. Each paper package's ``ORDER`` lists its claim modules in the
order of the specification (docs/THEORY.md); a claim module missing from it, or an entry without a module, is an
error (verify.catalogue.claim_modules)."""
