"""Optimizees shared by all methods (each helper module documents its objective and source)."""

from implementations.problems.cnn import DigitCNN, DigitCNNObjective
from implementations.problems.digits import load_digit_data
from implementations.problems.flat_mlp import FlatMLPObjective
from implementations.problems.hfunctions import h_function, hfunction_regression
from implementations.problems.least_squares import LeastSquares
from implementations.problems.logistic import LogisticRegression
from implementations.problems.logsumexp import LogSumExp
from implementations.problems.mlp_classifier import digit_classifier
from implementations.problems.quadratic import Quadratic, random_spd
from implementations.problems.rosenbrock import Rosenbrock

__all__ = ["Quadratic", "random_spd", "LeastSquares", "LogisticRegression", "LogSumExp", "DigitCNN",
           "DigitCNNObjective", "FlatMLPObjective", "h_function", "hfunction_regression", "digit_classifier",
           "load_digit_data", "Rosenbrock"]
