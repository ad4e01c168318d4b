"""Hypothesis profiles, registered explicitly (hypothesis auto-loads a profile named ``ci`` when CI=true).

- ``ci``: quick and derandomized (a fixed seed), small example counts, no example database;
- ``default``: the everyday local profile;
- ``thorough``: many examples, used by ``verify run --budget full``.
``deadline=None`` everywhere: torch calls have erratic first-call latency.
"""

from __future__ import annotations

from hypothesis import HealthCheck, settings

_COMMON = dict(deadline=None, database=None,
               suppress_health_check=(HealthCheck.too_slow, HealthCheck.data_too_large,
                                      HealthCheck.filter_too_much))
PROFILES = {
    "ci": dict(max_examples=30, derandomize=True, print_blob=True, **_COMMON),
    "default": dict(max_examples=100, **_COMMON),
    "thorough": dict(max_examples=1000, **_COMMON),
}
for _name, _kwargs in PROFILES.items():
    settings.register_profile(_name, **_kwargs)

BUDGET_PROFILE = {"quick": "ci", "full": "thorough"}


def settings_for_budget(budget: str, **overrides) -> settings:
    """Settings of the profile for a verify budget ('quick' → ci, 'full' → thorough), with overrides.

    ``max_examples`` given as an override is taken as the quick-budget count and scaled ×10 for 'full'.
    """
    base = dict(PROFILES[BUDGET_PROFILE[budget]])
    if "max_examples" in overrides and budget == "full":
        overrides["max_examples"] = overrides["max_examples"] * 10
    base.update(overrides)
    return settings(**base)
