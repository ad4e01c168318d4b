"""LISTA-CPSS (Chen et al., NeurIPS 2018) as the paper's Fig. 2 trains it on the QP: the authors'
``LISTACPSSWOnly`` (``optimizers/lista_cpss.py``; scripts ``scripts/lista_train/0_qp_lista_unroll_length_*.sh``;
written here from that description), unsupervised on the training loss F(X_T).

Step t = 1..T (X₀ = 0):  X_t = η_{θ,p_t}(X_{t−1} + W_t (y_i − M_i X_{t−1})),  W_t ∈ R^{d×b} shared by the N
instances, one per step (the scripts do not pass --w-shared) or one for all steps (``shared=True``). The
authors' weights-only variant fixes the threshold θ = 0, and the support-selecting shrinkage
η_{0,p}(x) = 1[|x| > 0, |x| > q_p]·x + shrink(1[…]ᶜ·x, 0) is then x itself for every support fraction p, so the
layer is the linear update above (its value and its gradient).

Initialisations: ``"random"`` draws every entry of W_t from N(0, (1/(b·d)²)²), the code's initialisation when no
fixed dictionary is given (the Fig. 2 runs), ``"zeros"`` sets W_t = 0; :meth:`LISTACPSS.from_gd` sets
W_t = mean_i (0.9999/β_i) M_iᵀ, the code's fixed-dictionary initialisation, which is gradient descent for N = 1.
"""

from __future__ import annotations

import torch

from implementations.mathl2o.qp import QP
from implementations.mathl2o.solvers import UnrolledSolver
from implementations.validation import (
    check_bool,
    check_choice,
    check_device,
    check_dtype,
    check_instance,
    check_positive,
    check_positive_int,
    check_seed,
)

INITS = ("random", "zeros")


class LISTACPSS(UnrolledSolver):
    """See the module docstring: d, b the instance sizes, ``steps`` the number of layers (the unroll length
    it is trained for; unrolling more steps is an error unless ``shared``)."""

    def __init__(self, d: int, b: int, steps: int, shared: bool = False, init: str = "random", seed: int = 0,
                 dtype: torch.dtype = torch.float64, device: str | torch.device = "cpu"):
        super().__init__()
        check_positive_int("d", d)
        check_positive_int("b", b)
        check_positive_int("steps", steps)
        check_bool("shared", shared)
        check_choice("init", init, INITS)
        check_seed("seed", seed)
        check_dtype("dtype", dtype)
        device = check_device("device", device)
        self.d, self.b, self.steps, self.shared, self.init = d, b, steps, shared, init
        gen = torch.Generator(device="cpu").manual_seed(int(seed))
        std = 1.0 / float(b * d) ** 2
        weights = []
        for _ in range(1 if shared else steps):
            w = torch.zeros(d, b, dtype=torch.float64, device=gen.device)  # drawn on the host, then moved
            if init == "random":
                w = torch.randn(d, b, generator=gen, dtype=torch.float64, device=gen.device) * std
            weights.append(torch.nn.Parameter(w.to(dtype=dtype, device=device)))
        self.weights = torch.nn.ParameterList(weights)

    @classmethod
    def from_gd(cls, qp: QP, steps: int, shared: bool = False, step_scale: float = 0.9999) -> "LISTACPSS":
        """W_t = mean_i (step_scale/β_i) M_iᵀ for every t (the code's initialisation from a fixed dictionary),
        on qp's dtype and device: gradient descent with step step_scale/β when qp has one instance."""
        check_instance("qp", qp, QP)
        check_positive("step_scale", step_scale)
        n, b, d = qp.shape
        model = cls(d, b, steps, shared, init="zeros", dtype=qp.M.dtype, device=qp.M.device)
        W = ((step_scale / qp.beta).view(n, 1, 1) * qp.M.transpose(-1, -2)).mean(0)
        with torch.no_grad():
            for w in model.weights:
                w.copy_(W)
        return model

    def weight(self, t: int) -> torch.Tensor:
        """W_t (d, b), t = 1..steps."""
        return self.weights[0] if self.shared else self.weights[t - 1]

    def trajectory(self, qp: QP, T: int, detach_inputs: bool = True, step_scale: float = 0.9999,
                   keep_inputs: bool = False):
        """F(X_t) for t = 0..T and X_T (no model inputs: ``detach_inputs`` has nothing to act on and the inputs
        list stays empty). LISTA-CPSS has no step size, so ``step_scale`` must keep its default."""
        from implementations.mathl2o.unroll import STEP_SCALE

        n, b, d = qp.shape
        if (b, d) != (self.b, self.d):
            raise ValueError(f"qp has instances of size b={b}, d={d}; this LISTA-CPSS was built for "
                             f"b={self.b}, d={self.d}")
        if not self.shared and T > self.steps:
            raise ValueError(f"T={T} exceeds the {self.steps} layers of this LISTA-CPSS (build it with steps >= T "
                             "or shared=True)")
        if step_scale != STEP_SCALE:
            raise ValueError(f"step_scale does not apply to LISTA-CPSS (it has no step size), got {step_scale!r}")
        X = qp.zeros()
        r = qp.residual(X)
        values = [0.5 * (r * r).sum()]
        for t in range(1, T + 1):
            X = X - r @ self.weight(t).T
            r = qp.residual(X)
            values.append(0.5 * (r * r).sum())
        return torch.stack(values), X, []
