"""Margins of the Math-L2O initialisation claims and of GD's sublinear bound (THEORY.md §3), positive means violated
by that much, and the batched instance distributions their sweeps draw from (verify.sweep).

Batching: the model of implementations.mathl2o applies its layers as ``h @ W``; with weights stacked per instance,
W_l of shape (n, fan_in, fan_out), and a QP of n instances (N = n, inputs (n, d, 2)), the same code
(MathL2O.features / forward with the dense kernel, rollout, unroll) evaluates instance i with its own weights W_l[i]:
a batched matmul. One instance is the same code with unstacked weights (fan_in, fan_out) and a QP of N = 1. The
margins are batched over instances (one value per instance); the one-instance forms (``gd_bound_margin``) call the
batched one on a batch of one. The implementation under test is the ``model`` passed in, and ``runner=`` (default
implementations.mathl2o.rollout, or unroll for the gradients).

Round-off bounds use |fl(xᵀy) − xᵀy| ≤ γ_n|x|ᵀ|y|, γ_n = n·eps/(1 − n·eps) ≈ n·eps, with eps that of float64 (these
claims declare float64 only)."""

from __future__ import annotations

import math

import numpy as np
import torch

from implementations.mathl2o import QP, MathL2O, rollout, unroll
from implementations.mathl2o.model import layer_sizes
from implementations.mathl2o.unroll import STEP_SCALE
from verify.sweep import DRAW_LIKE, host_tensor

EPS = float(np.finfo(np.float64).eps)


# --- the initialisation claims' instances: a QP instance with its own deterministically initialised model ---


def orthogonal(n: int, fan_in: int, fan_out: int, generator: torch.Generator, like: dict) -> torch.Tensor:
    """n matrices (n, fan_in, fan_out) drawn as torch.nn.init.orthogonal_ draws one (the deterministic
    initialisation's Q): Q of the QR factorisation of a Gaussian (max × min) matrix, columns multiplied by the signs
    of diag(R) (Haar measure), transposed when fan_in < fan_out (orthonormal rows)."""
    rows, cols = max(fan_in, fan_out), min(fan_in, fan_out)
    q, r = torch.linalg.qr(torch.randn(n, rows, cols, generator=generator, **like))
    q = q * torch.sign(torch.diagonal(r, dim1=-2, dim2=-1)).unsqueeze(-2)
    return q if fan_in >= fan_out else q.mT


def draw_init(d: int, b: int, width: int, depth: int, like: dict = DRAW_LIKE):
    """The distribution of the initialisation claims' sweeps, as ``draw(n, generator) → batch`` (verify.sweep):
    M (n, b, d) Gaussian with unit-norm columns and Y = M x_gt, x_gt ~ N(0, I) (QP.random's distribution, one
    instance each); e log-uniform on [1, 100] (e = exp(U·ln 100), U uniform on [0, 1)); a flag ``nonnegative``
    (1 with probability ½, else 0); the orthogonal factors Q1 … Q{L−1} of the inner layers (:func:`orthogonal`; W_l =
    e·Q_l, or e·|Q_l| when non-negative: :func:`inner_weights`), of the layer sizes of MathL2O(width, ·, depth).
    ``like``: the ``dtype=`` and ``device=`` to draw in (default verify.sweep.DRAW_LIKE, float64 on the CPU, which
    batched_sweep then casts and moves to the run's)."""
    sizes = layer_sizes(width, depth)

    def draw(n: int, generator: torch.Generator) -> dict:
        M = torch.randn(n, b, d, generator=generator, **like)
        M = M / M.norm(dim=1, keepdim=True)
        x_gt = torch.randn(n, d, 1, generator=generator, **like)
        batch = {"M": M, "Y": (M @ x_gt).squeeze(-1),
                 "e": torch.exp(torch.rand(n, generator=generator, **like) * math.log(100.0)),
                 "nonnegative": (torch.rand(n, generator=generator, **like) < 0.5).to(like["dtype"])}
        for layer, (fan_in, fan_out) in enumerate(zip(sizes[:-2], sizes[1:-1]), start=1):
            batch[f"Q{layer}"] = orthogonal(n, fan_in, fan_out, generator, like)
        return batch

    return draw


def as_tensors(instance: dict) -> dict:
    """A sweep's worst instance (plain lists, verify.sweep) as float64 CPU tensors, one instance unstacked (the
    re-check's: float64 on the CPU whatever the run's device)."""
    return {k: host_tensor(v) for k, v in instance.items()}


def inner_weights(batch: dict, depth: int, scale: torch.Tensor | None = None) -> list[torch.Tensor]:
    """W_1 … W_{L−1} of a batch of :func:`draw_init`: ``scale``·Q_l (default the instances' e), ``scale``·|Q_l| where
    ``nonnegative``; stacked (n, fan_in, fan_out) for a batch, (fan_in, fan_out) for one instance."""
    scale = batch["e"] if scale is None else scale
    flag = batch["nonnegative"] > 0
    out = []
    for layer in range(1, depth):
        q = batch[f"Q{layer}"]
        extra = (...,) + (None,) * 2
        out.append(scale[extra] * torch.where(flag[extra], q.abs(), q))
    return out


def init_model(batch: dict, width: int, depth: int, scale: torch.Tensor | None = None) -> MathL2O:
    """MathL2O(width, ·, depth) (dense kernel) in the batch's dtype and device with the batch's inner weights
    (:func:`inner_weights`) and the implementation's own deterministic W_L (zero), stacked per instance."""
    inner = inner_weights(batch, depth, scale)
    model = MathL2O(width, 1.0, depth, kernel="dense", dtype=inner[0].dtype, device=inner[0].device)
    last = model.last.detach().expand(*inner[0].shape[:-2], *model.last.shape).clone()
    model.weights = torch.nn.ParameterList([torch.nn.Parameter(w) for w in inner + [last]])
    return model


def init_qp(batch: dict) -> QP:
    """The QP of a batch of :func:`draw_init`: one QP instance per sweep instance (N = n), or N = 1 for one
    unstacked instance."""
    M, Y = batch["M"], batch["Y"]
    return QP.create(M, Y) if M.dim() == 3 else QP.create(M[None], Y[None])


# --- mathl2o.init.equals-gd ---


def numpy_gd_values(M: np.ndarray, Y: np.ndarray, T: int, step_scale: float = STEP_SCALE) -> np.ndarray:
    """f_i(x_t), t = 0..T, per instance (N, T+1) of GD x ← x − (c/β_i)M_iᵀ(M_i x − y_i) from x = 0, in numpy
    (independent of the torch code; β_i = σ_max(M_i)² by numpy's SVD), for M (N, b, d), Y (N, b)."""
    beta = np.linalg.svd(M, compute_uv=False)[:, 0] ** 2
    X = np.zeros((M.shape[0], M.shape[2]))
    values = []
    for _ in range(T + 1):
        r = np.einsum("nbd,nd->nb", M, X) - Y
        values.append(0.5 * (r * r).sum(-1))
        X = X - (step_scale / beta)[:, None] * np.einsum("nbd,nb->nd", M, r)
    return np.stack(values, axis=-1)


def gd_gap_margins(model: MathL2O, qp: QP, T: int, runner=rollout) -> torch.Tensor:
    """max_t |f_i(X_t) − f_i^GD(X_t)|/f_i(X₀) − tol per instance i of ``qp`` (shape (N,)): X_t the iterates of
    ``runner`` (default implementations.mathl2o.rollout) with ``model`` (weights shared by the instances, or stacked
    one per instance), f^GD those of :func:`numpy_gd_values`. With W_L = 0 the model's P is 2σ(0) = 1, so both are GD
    with step c/β_i. tol = (4·T·(b+d) + 10)·eps: both compute the same T steps of d- and b-term dot products, each
    ≤ γ_{b+d} relative per step, compounded over T steps (≤ 2·T·γ_{b+d} per code, twice for the two codes), and β
    from two SVD codes adds ≤ 10·eps."""
    with torch.no_grad():
        run = runner(model, qp, T, keep_inputs=True)
    iterates = [z[..., 1] for z in run.inputs] + [run.X]  # X_{t−1} is the second input of step t
    ours = torch.stack([qp.values(X) for X in iterates], dim=-1)
    reference = torch.as_tensor(numpy_gd_values(qp.M.cpu().numpy(), qp.Y.cpu().numpy(), T), dtype=ours.dtype,
                                device=ours.device)
    n, b, d = qp.shape
    tol = (4 * T * (b + d) + 10) * EPS
    return (ours - reference).abs().amax(-1) / reference[:, 0].clamp_min(1e-300) - tol


# --- mathl2o.init.inner-grad-zero ---


def inner_gradients(model: MathL2O, qp: QP, T: int, runner=unroll) -> tuple[torch.Tensor, torch.Tensor]:
    """(max_l<L max|∂𝓕/∂W_l|, whether ∂𝓕/∂W_L ≠ 0) of 𝓕 = F(X_T) (``runner``, default
    implementations.mathl2o.unroll, by autograd). The first is the margin, tolerance 0: every path from W_l (l < L)
    to the output passes through W_L = 0, so the chain rule multiplies by an exact floating-point 0 and no round-off
    enters. 0-d for weights shared by the instances of ``qp``; one value per instance (n,) for weights stacked one
    per instance (n, fan_in, fan_out), where instance i's loss depends on W_l[i] only, so the gradient of the summed
    loss holds each instance's gradient in its slice."""
    loss = runner(model, qp, T)[-1]
    grads = torch.autograd.grad(loss, list(model.parameters()))
    inner = torch.stack([g.abs().amax((-2, -1)) for g in grads[:-1]]).amax(0)
    return inner.detach(), (grads[-1] != 0).flatten(-2).any(-1)


# --- mathl2o.init.alpha0-homogeneity ---


def step_inputs(model: MathL2O, qp: QP, T: int, runner=rollout) -> torch.Tensor:
    """The step-T model inputs z_T = (∇F(X_{T−1}), X_{T−1}) per instance (N, d, 2) along the model's own trajectory
    (``runner``, default implementations.mathl2o.rollout), the weights shared or stacked per instance."""
    with torch.no_grad():
        return runner(model, qp, T, keep_inputs=True).inputs[-1]


def feature_magnitudes(model: MathL2O, z: torch.Tensor) -> torch.Tensor:
    """A = |z||W_1|⋯|W_{L−1}| (…, H): the features' magnitudes without cancellation, the scale of their round-off
    (:func:`homogeneity_margins`)."""
    A = z.abs()
    for w in model.inner:
        A = A @ w.detach().abs()
    return A


def homogeneity_margins(G1: torch.Tensor, Ge: torch.Tensor, magnitude: torch.Tensor, e: torch.Tensor | float,
                        depth: int) -> torch.Tensor:
    """max_i |s_i(e) − e^{L−1}s_i(1)| − tol over the singular values of the feature matrices G_{L−1,T} (…, rows,
    H) at the inner layers Q (G1) and e·Q (Ge), one margin per leading index. tol = 4·(L−1)·(H+2)·eps·‖A‖_F +
    8·(L−1)·√(rows·H)·eps·s_max(e): the first term bounds ‖fl(Ge) − e^{L−1}fl(G1)‖₂ ≥ |s_i(e) − e^{L−1}s_i(1)|
    (Weyl), entrywise ≤ (2(L−1)γ_H + (L−1)·eps)·A with A = |Z||W_1|⋯|W_{L−1}| (``magnitude``, at e:
    :func:`feature_magnitudes`; each layer's products err by ≤ γ_H relative to the product of the magnitudes, which a
    cancellation in a pre-activation can make far larger than the feature itself; ReLU is 1-Lipschitz; e·Q is
    rounded once); the second the SVD's backward error ≤ √(rows·H)·eps·‖G‖."""
    rows, width = Ge.shape[-2:]
    scale = torch.as_tensor(e, dtype=Ge.dtype, device=Ge.device) ** (depth - 1)
    s1, se = torch.linalg.svdvals(G1), torch.linalg.svdvals(Ge)
    tol = (4 * (depth - 1) * (width + 2) * EPS * torch.linalg.matrix_norm(magnitude)
           + 8 * (depth - 1) * math.sqrt(rows * width) * EPS * se.amax(-1).clamp_min(1e-300))
    return (se - scale.unsqueeze(-1) * s1).abs().amax(-1) - tol


# --- mathl2o.gd.sublinear-bound ---


def worst_directions(M: torch.Tensor, T: int, step_scale: float = STEP_SCALE) -> torch.Tensor:
    """The worst x₀ − x* ∈ range(Mᵀ) for GD from x₀ = 0 per instance of M (n, b, d), as a unit vector (n, d): along
    the eigenvector v_k of MᵀM (λ_k > 10⁻¹²β) the ratio (f(x_T) − f*)/(β‖x₀ − x*‖²/(2cT)) is
    cT·(λ_k/β)(1 − cλ_k/β)^{2T}; returns the v_k that maximises it."""
    lam, vec = torch.linalg.eigh(M.mT @ M)
    u = lam / lam[..., -1:]
    ratios = step_scale * T * u * (1 - step_scale * u) ** (2 * T)
    k = torch.where(u > 1e-12, ratios, -math.inf).argmax(-1)
    return vec.gather(-1, k[..., None, None].expand(*vec.shape[:-1], 1)).squeeze(-1)


def draw_worst_direction(d: int, b: int, T: int, like: dict = DRAW_LIKE):
    """The distribution of the GD bound's sweeps, as ``draw(n, generator) → batch`` (verify.sweep): M (n, b, d)
    Gaussian with unit-norm columns (QP.random's), x_gt (n, d) its worst direction at T
    (:func:`worst_directions`), so that x* = x_gt (full row rank: x_gt ∈ range(Mᵀ))."""
    def draw(n: int, generator: torch.Generator) -> dict:
        M = torch.randn(n, b, d, generator=generator, **like)
        M = M / M.norm(dim=1, keepdim=True)
        return {"M": M, "x_gt": worst_directions(M, T)}
    return draw


def gd_ratios(M: torch.Tensor, x_gt: torch.Tensor, T: int, runner=rollout) -> torch.Tensor:
    """(f_i(x_T) − f_i*)/(β_i‖x₀ − x_i*‖²/(2cT)) per instance (n,) of M (n, b, d) and y_i = M_i x_gt,i (x_gt (n, d)):
    x_T by ``runner`` (default implementations.mathl2o.rollout; GD, P ≡ 1, from x₀ = 0), x* = M⁺y the minimiser GD
    converges to (QP.minimum_norm_solution), f* = 0 (full row rank), β_i = λ_max(M_iᵀM_i) (QP.create); the bound is
    that of theory.gd_sublinear_bound. 0 where x* = 0."""
    qp = QP.create(M, (M @ x_gt.unsqueeze(-1)).squeeze(-1))
    with torch.no_grad():
        value = qp.values(runner(None, qp, T).X)
    dist_sq = (qp.minimum_norm_solution() ** 2).sum(-1)
    bound = qp.beta * dist_sq / (2.0 * STEP_SCALE * T)
    return torch.where(dist_sq > 0, value / torch.where(dist_sq > 0, bound, 1.0), 0.0)


def gd_bound_margins(M: torch.Tensor, x_gt: torch.Tensor, T: int, runner=rollout) -> torch.Tensor:
    """The bound's margin ratio − 1 − 100·T·eps per instance (:func:`gd_ratios`), the allowance 100·T·eps for the
    round-off of the unrolled value. Its derivation: each of the T steps x ← x − (c/β)Mᵀ(Mx − y) rounds with
    ≲ γ_{b+d} relative error, and GD's error map e ↦ (I − cMᵀM/β)e is non-expansive, so the steps' errors add up
    rather than compound: the iterate's error is ≲ T·γ_{b+d}·‖x₀ − x*‖ (from x₀ = 0, ‖x_t‖ ≤ 2‖x*‖). It moves
    f(x_T) by ≤ √β‖Mx_T − y‖ times that, i.e. the ratio by ≤ 2cT·‖Mx_T − y‖/(√β‖x₀ − x*‖)·T·γ_{b+d}
    ≤ 2√(0.2·cT)·T·γ_{b+d} ≈ 0.9√T·T·γ_{b+d} (‖Mx_T − y‖² = 2f(x_T) and the ratio is ≤ 1/(2e) < 0.2 on quadratics:
    theory.gd_quadratic_worst_ratio), ≈ 7·T·(b+d)·eps at T = 60. So 100·T·eps covers the claims' b + d ≤ 13 and
    T ≤ 60 up to the constants of turning the entrywise γ bounds into norms: an allowance of the derived order,
    not a proved constant (the bound's own margin, ≈ −0.8 at the worst direction, dwarfs it)."""
    return gd_ratios(M, x_gt, T, runner) - 1 - 100 * T * EPS


def gd_bound_margin(M: np.ndarray, x_gt: np.ndarray, T: int, like: dict | None = None, runner=rollout) -> float:
    """:func:`gd_bound_margins` of one instance (M (b, d), x_gt (d,)), with the ``dtype=`` and ``device=`` of
    ``like`` (default float64 on the CPU: the sweep's re-check); the allowance is subtracted in Python's float64."""
    like = {"dtype": torch.float64, "device": "cpu"} if like is None else like
    ratio = float(gd_ratios(torch.as_tensor(np.asarray(M), **like)[None],
                            torch.as_tensor(np.asarray(x_gt), **like)[None], T, runner)[0])
    return ratio - 1 - 100 * T * EPS
