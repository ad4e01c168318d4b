"""Math-L2O (Song, Lin, Xu, arXiv 2501.18092): QP family, coordinate-wise step-size model, unrolled solver,
SGD training, α₀ and the empirical NTK; the paper's Fig. 2 models (the LSTM Math-L2O, LISTA-CPSS); oracle step-size
schedules; certified constants of the reconstructed Eq. 13 at T = 1."""

from implementations.mathl2o.analysis import alpha0, empirical_ntk, jacobian, step_features
from implementations.mathl2o.certified import certified_constants_t1
from implementations.mathl2o.lista_cpss import LISTACPSS
from implementations.mathl2o.lstm_math_l2o import LSTMMathL2O
from implementations.mathl2o.model import MathL2O
from implementations.mathl2o.momentum import momentum_rollout, train_momentum
from implementations.mathl2o.oracle import optimal_schedule, oracle_gains, schedule_values
from implementations.mathl2o.qp import QP
from implementations.mathl2o.unroll import Rollout, TrainHistory, rollout, train, training_step, unroll

__all__ = ["QP", "MathL2O", "unroll", "rollout", "Rollout", "train", "TrainHistory", "alpha0",
           "empirical_ntk", "jacobian", "step_features", "training_step", "momentum_rollout", "train_momentum",
           "LSTMMathL2O", "LISTACPSS", "schedule_values", "optimal_schedule", "oracle_gains",
           "certified_constants_t1"]
