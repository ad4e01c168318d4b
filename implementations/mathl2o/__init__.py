"""Math-L2O (Song, Lin, Xu, arXiv 2501.18092): QP family, coordinate-wise step-size model, unrolled solver,
SGD training, α₀ and the empirical NTK."""

from implementations.mathl2o.analysis import alpha0, empirical_ntk, jacobian, step_features
from implementations.mathl2o.model import MathL2O
from implementations.mathl2o.momentum import momentum_rollout, train_momentum
from implementations.mathl2o.qp import QP
from implementations.mathl2o.unroll import Rollout, TrainHistory, rollout, train, training_step, unroll

__all__ = ["QP", "MathL2O", "unroll", "rollout", "Rollout", "train", "TrainHistory", "alpha0",
           "empirical_ntk", "jacobian", "step_features", "training_step", "momentum_rollout", "train_momentum"]
