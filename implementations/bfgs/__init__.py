"""BFGS with coordinate-wise step sizes (THEORY.md §2): the update, the CWSS solver, line-search and
hypergradient baselines, the learned step-size models (LSTM; MLP and Transformer variants; independent LSTM copies
run as one batch), and oracle step-size rules (the best P per step, or by a look-ahead)."""

from implementations.bfgs.baselines import HypergradientSteps, adam, bfgs_line_search, lbfgs_torch
from implementations.bfgs.diagnostics import Trace, iterations_to_tolerance
from implementations.bfgs.line_search import LineSearchResult, backtracking_armijo, strong_wolfe
from implementations.bfgs.model import (
                                       LearnedSteps,
                                       StepSizeLSTM,
                                       StepSizeModel,
                                       bounded_steps,
                                       meta_train,
                                       preprocess,
                                       step_features,
)
from implementations.bfgs.models_alt import StepSizeMLP, StepSizeTransformer
from implementations.bfgs.oracle import GreedyOracleSteps, LookaheadOracleSteps, box_minimise
from implementations.bfgs.solver import FixedSteps, cwss_bfgs, cwss_step
from implementations.bfgs.stability import (
                                       descent_failure_threshold,
                                       descent_threshold_bounds,
                                       spectral_stability_bound,
                                       spectral_stability_threshold,
)
from implementations.bfgs.stacked import StackedLSTMSteps, stacked_meta_train
from implementations.bfgs.update import condition_number, inverse_bfgs_formula, inverse_bfgs_update, powell_damped_y

__all__ = ["HypergradientSteps", "adam", "bfgs_line_search", "lbfgs_torch", "Trace", "iterations_to_tolerance",
           "LineSearchResult", "backtracking_armijo", "strong_wolfe", "LearnedSteps", "StepSizeLSTM",
           "StepSizeModel", "StepSizeMLP", "StepSizeTransformer", "bounded_steps", "step_features",
           "meta_train", "preprocess", "FixedSteps", "cwss_bfgs", "cwss_step", "condition_number",
           "inverse_bfgs_formula", "inverse_bfgs_update", "powell_damped_y", "descent_failure_threshold",
           "descent_threshold_bounds", "spectral_stability_bound", "spectral_stability_threshold",
           "GreedyOracleSteps", "LookaheadOracleSteps", "box_minimise", "StackedLSTMSteps", "stacked_meta_train"]
