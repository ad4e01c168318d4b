"""Optimizees shared by all methods."""

from implementations.problems.digits import load_digit_data
from implementations.problems.quadratic import Quadratic, random_spd

__all__ = ["Quadratic", "random_spd", "load_digit_data"]
