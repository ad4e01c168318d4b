"""Symbolic derivations (sympy) and high-precision oracles (mpmath), one module per paper.

Independent of torch and of verify: these are the references the implementations are checked against.
"""
