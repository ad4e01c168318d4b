"""Caputo fractional gradient descent (THEORY.md §1): Gauss–Jacobi quadrature, the scaled Caputo gradient
(closed form on quadratics, quadrature for any objective), Hutchinson's diagonal, NA-/AT-CFGD, L2O-CFGD.

Public names are resolved lazily from their modules, so importing one part never imports the rest.
"""

from __future__ import annotations

import importlib

from implementations.cfgd.gauss_jacobi import (
    gauss_jacobi as gauss_jacobi,  # same name as its module: bind the function eagerly
)

_EXPORTS = {
    "quadratic_direction": "implementations.cfgd.quadratic",
    "na_cfgd": "implementations.cfgd.quadratic",
    "at_cfgd": "implementations.cfgd.quadratic",
    "hutchinson_diagonal": "implementations.cfgd.hutchinson",
    "caputo_gradient": "implementations.cfgd.caputo",
    "authors_caputo_direction": "implementations.cfgd.caputo",
    "cfgd": "implementations.cfgd.optimizers",
    "FixedStep": "implementations.cfgd.optimizers",
    "ExactLineSearch": "implementations.cfgd.optimizers",
    "LookaheadGridSearch": "implementations.cfgd.optimizers",
    "LayerwiseLookahead": "implementations.cfgd.optimizers",
    "L2OCFGD": "implementations.cfgd.l2o",
    "LSTMOptimizer": "implementations.cfgd.l2o",
    "meta_train": "implementations.cfgd.training",
    "meta_train_model": "implementations.cfgd.training",
    "rollout": "implementations.cfgd.training",
    "MetaTrainConfig": "implementations.cfgd.training",
    "TaskConfig": "implementations.cfgd.training",
    "paper_config": "implementations.cfgd.training",
    "reduced_config": "implementations.cfgd.training",
    "save_checkpoint": "implementations.cfgd.training",
    "load_checkpoint": "implementations.cfgd.training",
    "grid_search_static": "implementations.cfgd.training",
    "static_runs": "implementations.cfgd.batched",
    "stack_problems": "implementations.cfgd.batched",
    "greedy_schedule_oracle": "implementations.cfgd.oracle",
    "OracleCandidates": "implementations.cfgd.oracle",
    "least_squares_floor": "implementations.cfgd.oracle",
}
__all__ = sorted([*_EXPORTS, "gauss_jacobi"])


def __getattr__(name: str):
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'implementations.cfgd' has no attribute {name!r}")
