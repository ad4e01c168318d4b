"""Several independent L2O-CFGD (or black-box LSTM) models meta-trained and rolled out as one tensor program: row r
of every tensor belongs to model rows[r], its own problem and its own iterate (THEORY.md §1.4). The seeds of an
empirical claim are such independent models; on these sizes a step costs mostly per-operation overhead, which
rows share.

What each row computes is L2OCFGD.step / LSTMOptimizer.step and training.rollout / meta_train, written with a
leading row axis (tested equal to them to round-off):
- features: (log|g|/p, sign g) or (−1, e^p g) (preprocess_gradient) and t/T, g = ∇f(x) in closed form;
- two stacked LSTM cells (PyTorch's LSTMCell: gates i, f, g, o of xW_ihᵀ + b_ih + hW_hhᵀ + b_hh,
  c' = σ(f)c + σ(i)tanh(g), h' = σ(o)tanh(c')) and the linear head, with each row's model weights;
- L2O-CFGD: α = sigmoid(o₀) clamped to [α_min, 1 − α_min], β = o₁, c = o₂ and the one-node scaled Caputo
  direction, differentiable in α, β, c as caputo_gradient is (partials at the detached nodes, the first-order
  link ∂g/∂τ = ∂²_jj f, no ∂³f); ∂²_jj exact or Hutchinson's estimate with the model's number of Rademacher
  probes, drawn per step from each row's own generator as rollout draws them, both in closed form batched over
  rows (batched.LeastSquaresBatch / MLPBatch .partials, .probed_partials);
  x⁺ = x − ηD with η from the task's rule on detached (x, D);
- the black-box LSTM: x⁺ = x + scale·o₀;
- meta-training: every ``unroll`` steps one Adam step per model on log Σ_window f(x^(t+1)) (torch.optim.Adam's
  update written out per row, so that a model whose run diverged skips its update exactly as rollout does), then
  x and the LSTM states are detached; a row whose loss turns non-finite or exceeds blowup·max(1, |f(x⁰)|) stops
  for the rest of its run (its open window is dropped), as in rollout.
Supported: the default L2OCFGD (one node, any HESSIAN_MODES curvature, direction "caputo", no beta_scaling, no
fixed β/c) and LSTMOptimizer, on least squares (exact line search) and the one-hidden-layer H-function MLPs
(look-ahead grid); training.meta_train_many falls back to meta_train for anything else.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch

from implementations.cfgd import batched
from implementations.cfgd.gauss_jacobi import gauss_jacobi
from implementations.cfgd.hutchinson import rademacher_probes
from implementations.cfgd.l2o import L2OCFGD, LSTMOptimizer, order_floor, preprocess_gradient

ADAM_BETAS = (0.9, 0.999)
ADAM_EPS = 1e-8


def parameter_names(model: torch.nn.Module) -> list[str]:
    return [name for name, _ in model.named_parameters()]


def stack_weights(models: list[torch.nn.Module]) -> list[torch.Tensor]:
    """Each parameter of the models stacked along a new leading axis (leaf tensors requiring grad), in
    model.parameters() order."""
    per_model = [list(m.parameters()) for m in models]
    return [torch.stack([p[i].detach() for p in per_model]).clone().requires_grad_(True)
            for i in range(len(per_model[0]))]


def unstack_into(models: list[torch.nn.Module], weights: list[torch.Tensor]) -> None:
    """Copy row s of every stacked parameter into models[s]."""
    with torch.no_grad():
        for s, model in enumerate(models):
            for p, stacked in zip(model.parameters(), weights):
                p.copy_(stacked[s])


def lstm_cell(x, h, c, w_ih, w_hh, b_ih, b_hh):
    """PyTorch's LSTMCell with per-row weights: x (R, d, in), h, c (R, d, H), w_ih (R, 4H, in), w_hh (R, 4H, H),
    b (R, 4H)."""
    gates = (torch.baddbmm(b_ih.unsqueeze(1), x, w_ih.transpose(1, 2))
             + torch.baddbmm(b_hh.unsqueeze(1), h, w_hh.transpose(1, 2)))
    i, f, g, o = gates.chunk(4, dim=-1)
    c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
    return torch.sigmoid(o) * torch.tanh(c), c


def row_weights(weights: list[torch.Tensor], rows: torch.Tensor) -> list[torch.Tensor]:
    """Every stacked parameter with row r holding model rows[r]'s: the stacked tensors themselves when rows is
    0, 1, …, S−1 (each model one row, as in meta-training), else one gather (differentiable into ``weights``)."""
    if rows.shape[0] == weights[0].shape[0] and torch.equal(rows.cpu(), torch.arange(rows.shape[0])):
        return list(weights)
    return [p[rows] for p in weights]


def network(w: list[torch.Tensor], inputs: torch.Tensor, state):
    """CoordinateLSTM.forward for every row with the row's weights w (row_weights): outputs (R, d, out) and the
    state."""
    h1, c1 = lstm_cell(inputs, state[0], state[1], *w[0:4])
    h2, c2 = lstm_cell(h1, state[2], state[3], *w[4:8])
    return torch.baddbmm(w[9].unsqueeze(1), h2, w[8].transpose(1, 2)), (h1, c1, h2, c2)


def supported(model: torch.nn.Module) -> bool:
    """Whether the stacked program reproduces ``model``'s step (module docstring)."""
    if isinstance(model, LSTMOptimizer):
        return True
    return (isinstance(model, L2OCFGD) and model.nodes == 1
            and model.direction == "caputo" and not model.beta_scaling and model.fixed_beta is None
            and model.fixed_c is None)


@dataclass
class StackedRollout:
    """Per row: losses[r][t] = f_r(x^(t)) (truncated at divergence), diverged_at[r], and with keep_records the
    per-step α, β, c (R, d) tensors of L2O-CFGD rows."""

    losses: list[list[float]]
    diverged_at: list[int | None]
    records: list[dict] = field(default_factory=list)

    def summed_loss(self, row: int) -> float:
        return float(sum(self.losses[row]))


class RowAdam:
    """torch.optim.Adam (default settings but lr) on stacked parameters, one optimizer per model (row s of each
    tensor); ``step(active)`` updates only the models with active[s] (their step counts advance), the others keep
    parameters and moments."""

    def __init__(self, weights: list[torch.Tensor], lr: float):
        self.weights, self.lr = weights, lr
        count = weights[0].shape[0]
        self.steps = torch.zeros(count, dtype=torch.float64)
        self.exp_avg = [torch.zeros_like(w) for w in weights]
        self.exp_avg_sq = [torch.zeros_like(w) for w in weights]

    def step(self, active: torch.Tensor) -> None:
        beta1, beta2 = ADAM_BETAS
        with torch.no_grad():
            self.steps += active.to(self.steps.dtype)
            for w, m, v in zip(self.weights, self.exp_avg, self.exp_avg_sq):
                grad = torch.zeros_like(w) if w.grad is None else w.grad
                mask = active.view(-1, *([1] * (w.dim() - 1))).to(w.device)
                new_m = torch.lerp(m, grad, 1 - beta1)
                new_v = torch.addcmul(v * beta2, grad, grad, value=1 - beta2)
                m.copy_(torch.where(mask, new_m, m))
                v.copy_(torch.where(mask, new_v, v))
                for s in torch.nonzero(active).flatten().tolist():
                    step = float(self.steps[s])
                    step_size = self.lr / (1 - beta1 ** step)
                    denom = (v[s].sqrt() / (1 - beta2 ** step) ** 0.5).add_(ADAM_EPS)
                    w[s].addcdiv_(m[s], denom, value=-step_size)

    def row_state(self, s: int) -> dict:
        """Model s's per-parameter state in the form of torch.optim.Adam.state_dict()["state"] (empty before its
        first step), for a checkpoint that meta_train can resume."""
        if float(self.steps[s]) == 0:
            return {}
        return {i: {"step": torch.tensor(float(self.steps[s])), "exp_avg": m[s].detach().clone(),
                    "exp_avg_sq": v[s].detach().clone()} for i, (m, v) in enumerate(zip(self.exp_avg, self.exp_avg_sq))}


def _node_partials(problems, x: torch.Tensor, tau: torch.Tensor, hessian: str, probes: int,
                   generators: list[torch.Generator | None] | None, active: torch.Tensor):
    """(∂_j f, ∂²_jj f or its Hutchinson estimate) at x with x_j := τ_j, per row, in one batched closed form. The
    probes of an active row are drawn from that row's generator, as caputo_gradient draws them; a stopped row
    draws nothing (zero probes; its iterate is discarded)."""
    if hessian == "exact":
        return problems.partials(x, tau)
    probe_vectors = torch.zeros(x.shape[0], probes, x.shape[1], dtype=x.dtype, device=x.device)
    for r in torch.nonzero(active).flatten().tolist():
        probe_vectors[r] = rademacher_probes(probes, x[r], None if generators is None else generators[r])
    return problems.probed_partials(x, tau, probe_vectors, hessian)


def _direction(problems, x: torch.Tensor, alpha, beta, c, hessian: str, probes: int,
               generators: list[torch.Generator | None] | None, active: torch.Tensor):
    """caputo_gradient's one-node direction per row and coordinate (per-coordinate α, β, c)."""
    u, w = gauss_jacobi(1, alpha)
    constant = (1 - alpha) / torch.pow(2.0, 1 - alpha)
    x_const = x.detach()
    offset = x_const - c
    tau = c + offset * (1 + u[..., 0]) / 2
    with torch.no_grad():
        g, h = _node_partials(problems, x_const, tau.detach(), hessian, probes, generators, active)
    g = g + h * (tau - tau.detach())
    return constant * w[..., 0] * (g + beta * offset * h)


def stacked_rollout(template: torch.nn.Module, weights: list[torch.Tensor], rows: torch.Tensor, problems,
                    x0: torch.Tensor, iterations: int, step_size, unroll: int | None = None,
                    optimizer: RowAdam | None = None, keep_records: bool = False,
                    blowup: float = 1e12, generators: list[torch.Generator | None] | None = None) -> StackedRollout:
    """training.rollout for every row at once (module docstring): row r runs model rows[r] (weights: stacked
    parameters of models shaped like ``template``, an L2OCFGD or LSTMOptimizer) on problem r of ``problems``
    (batched.stack_problems) from x0[r]. With ``optimizer`` (a RowAdam over ``weights``; then rows must be
    distinct models) every ``unroll`` steps each model takes its Adam step; without one, nothing is trained.
    generators[r]: what rollout's ``generator`` is for row r (the Hutchinson probes of a probed L2OCFGD)."""
    training = optimizer is not None
    unroll = unroll or iterations
    cfgd = isinstance(template, L2OCFGD)
    count, dim = x0.shape
    hidden = template.net.hidden
    dtype = weights[0].dtype
    x = x0.detach().clone()
    state = tuple(torch.zeros(count, dim, hidden, dtype=dtype, device=x.device) for _ in range(4))
    first = problems.value(x)
    losses = [[float(v)] for v in first]
    limit = blowup * torch.clamp(first.abs(), min=1.0)
    active = torch.ones(count, dtype=torch.bool, device=x.device)
    diverged: list[int | None] = [None] * count
    records: list[dict] = []
    window: list[torch.Tensor] = []
    window_rows = torch.ones(count, dtype=torch.bool, device=x.device)
    gap = max(getattr(template, "alpha_min", 0.0), order_floor(1, x.dtype)) if cfgd else 0.0
    with torch.set_grad_enabled(training):
        w = row_weights(weights, rows)
    for t in range(iterations):
        with torch.set_grad_enabled(training):
            with torch.no_grad():
                gradient = problems.partials(x.detach(), x.detach())[0]
            features = torch.cat([preprocess_gradient(gradient, template.preprocessing),
                                  torch.full_like(gradient, t / iterations).unsqueeze(-1)], dim=-1).to(dtype)
            outputs, state = network(w, features, state)
            outputs = outputs.to(x.dtype)
            if cfgd:
                alpha = torch.sigmoid(outputs[..., 0]).clamp(template.alpha_min, 1 - gap)
                beta, c = outputs[..., 1], outputs[..., 2]
                direction = _direction(problems, x, alpha, beta, c, template.hessian, template.probes,
                                       generators, active)
                eta = batched.batched_step_size(problems, x.detach(), direction.detach(), step_size).detach()
                x = x - eta.unsqueeze(-1) * direction
                if keep_records:
                    records.append({"alpha": alpha.detach(), "beta": beta.detach(), "c": c.detach(), "eta": eta})
            else:
                x = x + template.scale * outputs[..., 0]
            loss = problems.value(x)
        values = loss.detach()
        bad = active & (~torch.isfinite(values) | (values.abs() > limit))
        for r in torch.nonzero(bad).flatten().tolist():
            diverged[r] = t + 1
        active = active & ~bad
        window_rows = window_rows & active
        for r in torch.nonzero(active).flatten().tolist():
            losses[r].append(float(values[r]))
        if training:
            window.append(loss)
            if len(window) == unroll or t == iterations - 1:
                for w in weights:
                    w.grad = None
                if bool(window_rows.any()):
                    sums = torch.stack(window).sum(0)
                    safe = torch.where(window_rows, sums, torch.ones_like(sums))
                    torch.log(safe)[window_rows].sum().backward()
                    optimizer.step(window_rows)
                window = []
                window_rows = active.clone()
                x, state = x.detach(), tuple(s.detach() for s in state)
                w = row_weights(weights, rows)  # a gather's graph went with the backward
        else:
            x, state = x.detach(), tuple(s.detach() for s in state)
        if not bool(active.any()):
            break
        if not bool(active.all()):  # a stopped row restarts from x⁰ (ignored from now on) to stay finite
            x = torch.where(active.unsqueeze(-1), x, x0)
    return StackedRollout(losses, diverged, records)
