"""Every public name of the README's "Public names other code relies on" list rejects bad input clearly.

A table maps each public name (module-qualified) to its bad-argument cases: (argument, strategy of bad values,
builder that calls the name with that argument replaced in a valid call). A hypothesis property asserts that
each bad value raises ValueError or TypeError whose message names the argument. The README list is parsed, and
a public name without an entry in the table fails the coverage test, so a new public name needs bad-input cases.
Classes are covered through their constructors (data classes and result containers too).
"""

from __future__ import annotations

import importlib
import math
import re
import tempfile
import types
from functools import lru_cache
from pathlib import Path

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import implementations.bfgs as bfgs
import implementations.cfgd as cfgd
import implementations.cfgd.training as training
import implementations.mathl2o as mathl2o
import implementations.problems as problems

README = Path(__file__).resolve().parents[1] / "README.md"
UNUSED_PATH = str(Path(tempfile.mkdtemp(prefix="bad-input-")) / "never-written.pt")
SECTION = "Public names other code relies on"
PROPERTY = settings(max_examples=20, deadline=None, database=None,
                    suppress_health_check=(HealthCheck.too_slow, HealthCheck.filter_too_much))

NAN, INF = math.nan, math.inf
F64 = torch.float64


# ---- the README list ---------------------------------------------------------------------------------

def _section_bullets(text: str) -> list[str]:
    """The bullets (continuation lines joined) of the list right after a line that mentions SECTION."""
    lines = text.splitlines() + [""]
    start = next(i for i, line in enumerate(lines[:-1]) if SECTION in line and lines[i + 1].startswith("- "))
    bullets: list[str] = []
    for line in lines[start + 1:]:
        if line.startswith("- "):
            bullets.append(line[2:])
        elif line.startswith("  ") and bullets:
            bullets[-1] += " " + line.strip()
        else:
            break
    return bullets


def _resolve(dotted: str):
    """(module, attribute) for 'implementations.x.y': y an attribute of module implementations.x, or (the
    module implementations.x.y itself, None)."""
    parent, _, last = dotted.rpartition(".")
    module = importlib.import_module(parent)
    attribute = getattr(module, last, None)
    if attribute is None or isinstance(attribute, types.ModuleType):
        return importlib.import_module(dotted), None
    return module, last


def readme_public_names(text: str | None = None) -> set[str]:
    """'module.name' for each backticked public name of the README section. A span's leading dotted identifier
    counts: a full path ('implementations.cfgd.gauss_jacobi(s, alpha)') names itself and sets the bullet's
    module; a module path ('in `implementations.cfgd.training`:') switches the module for the rest of the
    bullet; a bare name ('`cwss_step`', '`QP.random(...)`' → QP) counts when it is a non-module attribute of
    the current module, so argument names, attributes like ``qp.M`` and file paths drop out."""
    text = README.read_text(encoding="utf-8") if text is None else text
    names = set()
    for bullet in _section_bullets(text):
        module = None
        for span in re.findall(r"`([^`]+)`", bullet):
            head = re.match(r"[A-Za-z_][\w.]*", span)
            if head is None:
                continue
            dotted = head.group(0).rstrip(".")
            if dotted.startswith("implementations."):
                module, name = _resolve(dotted)
                if name is not None:
                    names.add(f"{module.__name__}.{name}")
            elif module is not None:
                first = dotted.split(".")[0]
                attribute = getattr(module, first, None)
                if attribute is not None and not isinstance(attribute, types.ModuleType):
                    names.add(f"{module.__name__}.{first}")
    return names


# ---- strategies of bad values --------------------------------------------------------------------------

NOT_A_NUMBER = st.sampled_from(["1", None, True, 1j])
NOT_A_SCALAR = st.one_of(NOT_A_NUMBER, st.sampled_from([[1.0], (1.0,)]))  # for arguments that take no array
NOT_AN_INT = st.one_of(st.sampled_from([1.5, "3", None, True, [1], NAN, 2.0]),
                       st.floats(allow_nan=False).filter(lambda v: not float(v).is_integer()))
NOT_A_TENSOR = st.sampled_from(["x", None, ["a"], True, 1j, {}])
NOT_CALLABLE = st.sampled_from([None, 3, "f", 1.5])
NOT_A_BOOL = st.sampled_from(["yes", None, 0, 1, 2, 1.5])
BAD_GENERATOR = st.sampled_from(["g", 3, 1.5, True, 0])
BAD_DTYPE = st.sampled_from(["float64", torch.int64, torch.bool, torch.complex128, 3, None])
BAD_DEVICE = st.sampled_from(["gpu0", "nonsense", 3, None, 1.5])
BAD_SEED = st.sampled_from([1.5, "a", None, True, 2 ** 64, -(2 ** 63) - 1])
BAD_INTERVAL = st.sampled_from([(2.0, 1.0), (-1.0, 1.0), (0.0, 3.0), (NAN, 1.0), (0.5, INF), "ab", (1.0,), None, 3,
                                (1.0, 1.0), (True, 1.5)])


def bad_int(minimum: int = 1) -> st.SearchStrategy:
    """Ints below ``minimum`` and non-ints (floats, strings, None, bools)."""
    return st.one_of(st.integers(max_value=minimum - 1), NOT_AN_INT)


def bad_positive() -> st.SearchStrategy:
    """Zero, negatives, −inf, NaN, +inf and non-numbers (bools and sequences included)."""
    return st.one_of(st.floats(max_value=0.0), st.sampled_from([NAN, INF]), NOT_A_SCALAR)


def bad_nonnegative() -> st.SearchStrategy:
    return st.one_of(st.floats(max_value=0.0, exclude_max=True), st.sampled_from([NAN, INF]), NOT_A_SCALAR)


def bad_finite(optional: bool = False, arrays: bool = False) -> st.SearchStrategy:
    """NaN, ±inf and non-numbers; without None when the argument is ``optional``, without sequences when it
    takes ``arrays``."""
    others = (NOT_A_NUMBER if arrays else NOT_A_SCALAR).filter(lambda v: not (optional and v is None))
    return st.one_of(st.sampled_from([NAN, INF, -INF]), others)


def outside(low: float, high: float) -> st.SearchStrategy:
    """Numbers outside the closed interval [low, high], NaN, ±inf and non-numbers."""
    return st.one_of(st.floats(max_value=low, exclude_max=True), st.floats(min_value=high, exclude_min=True),
                     st.sampled_from([NAN, INF, -INF]), NOT_A_SCALAR)


def bad_choice(*choices: str) -> st.SearchStrategy:
    return st.one_of(st.text(max_size=6).filter(lambda s: s not in choices), st.sampled_from([None, 3, True, ["a"]]))


@st.composite
def _spoilt(draw, shape: tuple[int, ...]) -> torch.Tensor:
    """A float64 tensor of ``shape`` with one entry NaN or ±inf."""
    tensor = torch.ones(shape, dtype=F64)
    tensor.view(-1)[draw(st.integers(0, tensor.numel() - 1))] = draw(st.sampled_from([NAN, INF, -INF]))
    return tensor


def bad_tensor(shape: tuple[int, ...], wrong_shapes: tuple[tuple[int, ...], ...] = ()) -> st.SearchStrategy:
    """Non-tensors, boolean and complex tensors, a non-finite entry, and tensors of the wrong shape."""
    odd = [torch.ones(shape, dtype=torch.bool), torch.ones(shape, dtype=torch.complex128)]
    odd += [torch.ones(s, dtype=F64) for s in wrong_shapes]
    return st.one_of(NOT_A_TENSOR, st.sampled_from(odd), _spoilt(shape))


def sampled(*values) -> st.SearchStrategy:
    return st.sampled_from(values)


# ---- valid calls (small, cheap; built once) -----------------------------------------------------------

@lru_cache(maxsize=None)
def spd3() -> torch.Tensor:
    return problems.random_spd(3, 10.0, torch.Generator().manual_seed(0))


def least_squares() -> problems.LeastSquares:
    return problems.LeastSquares.random_cfgd(3, 3, torch.Generator().manual_seed(0))


def quadratic() -> problems.Quadratic:
    return problems.Quadratic.create(spd3(), torch.zeros(3, dtype=F64))


@lru_cache(maxsize=None)
def small_qp() -> mathl2o.QP:
    return mathl2o.QP.random(1, 3, 2)


def small_config() -> training.MetaTrainConfig:
    return training.MetaTrainConfig(training.TaskConfig("least-squares", d=3, m=3, iterations=2), runs=1,
                                    unroll=2, hidden=3, hessian="exact")


@lru_cache(maxsize=None)
def digits() -> tuple[torch.Tensor, torch.Tensor]:
    return problems.load_digit_data(8, flatten=False)


INDEFINITE = torch.diag(torch.tensor([1.0, -1.0, 1.0], dtype=F64))
ASYMMETRIC = torch.tensor([[2.0, 1.0, 0.0], [0.0, 2.0, 0.0], [0.0, 0.0, 2.0]], dtype=F64)
Z = torch.linspace(-1, 1, 5, dtype=F64).unsqueeze(-1)


def cases(function, base, **strategies) -> list[tuple[str, st.SearchStrategy, object]]:
    """(argument, strategy, builder) for each keyword: builder(value) calls function(**base()) with that
    argument replaced by value."""
    def builder(argument):
        return lambda value: function(**{**base(), argument: value})
    return [(argument, strategy, builder(argument)) for argument, strategy in strategies.items()]


def matrix3(*extra, optional: bool = False) -> st.SearchStrategy:
    """Bad 3×3 matrices (and ``extra`` ones); without None when the argument is ``optional``."""
    bad = st.one_of(bad_tensor((3, 3), ((3,), (3, 2), (0, 0))), sampled(*extra) if extra else st.nothing())
    return bad.filter(lambda v: not (optional and v is None))


def not_none(strategy: st.SearchStrategy) -> st.SearchStrategy:
    """``strategy`` without None (for arguments whose default None is valid)."""
    return strategy.filter(lambda v: v is not None)


TABLE: dict[str, list] = {}
CFGD, TRAIN, BFGS, MATH, PROB = ("implementations.cfgd", "implementations.cfgd.training", "implementations.bfgs",
                                 "implementations.mathl2o", "implementations.problems")

# implementations.cfgd
TABLE[f"{CFGD}.gauss_jacobi"] = cases(
    cfgd.gauss_jacobi, lambda: dict(s=3, alpha=0.5), s=st.one_of(bad_int(), sampled(10 ** 9)),
    alpha=st.one_of(outside(0.0, 1.0), st.floats(1 - 1.4e-8, 1.0), sampled(0.9999999999999999, 0.0, 1.0),
                    bad_tensor((2,))))


def _QUADRATIC():
    return dict(A=spd3(), b=torch.zeros(3, dtype=F64), x=torch.ones(3, dtype=F64), alpha=0.5, beta=0.1,
                c=0.0)


TABLE[f"{CFGD}.quadratic_direction"] = cases(
    cfgd.quadratic_direction, _QUADRATIC, A=matrix3(ASYMMETRIC), b=bad_tensor((3,), ((5,),)),
    x=bad_tensor((3,), ((5,), ())), alpha=outside(0.0, 1.0), beta=bad_finite(arrays=True),
    c=bad_finite(arrays=True))


def _RUN():
    return dict(A=spd3(), b=torch.zeros(3, dtype=F64), x0=torch.ones(3, dtype=F64), alpha=0.5, beta=0.1,
                lr=0.1, steps=2)


TABLE[f"{CFGD}.na_cfgd"] = cases(
    cfgd.na_cfgd, lambda: {**_RUN(), "c": 0.0}, A=matrix3(ASYMMETRIC), x0=bad_tensor((3,), ((4,),)),
    alpha=outside(0.0, 1.0), c=bad_finite(arrays=True),
    lr=st.one_of(bad_positive(), sampled(torch.tensor(-1.0, dtype=F64))),
    steps=bad_int(), blowup=bad_positive(), keep_trajectory=NOT_A_BOOL)
TABLE[f"{CFGD}.at_cfgd"] = cases(
    cfgd.at_cfgd, _RUN, A=matrix3(), b=bad_tensor((3,), ((2,),)), beta=bad_finite(arrays=True), lr=bad_positive(),
    steps=bad_int(), lag=bad_int(), keep_trajectory=NOT_A_BOOL)
_CAPUTO = lambda: dict(f=least_squares(), x=torch.ones(3, dtype=F64), alpha=0.5, beta=0.1, c=0.0)  # noqa: E731
TABLE[f"{CFGD}.caputo_gradient"] = cases(
    cfgd.caputo_gradient, _CAPUTO, f=st.one_of(NOT_CALLABLE, sampled(lambda x: "s", lambda x: x.outer(x))),
    x=bad_tensor((3,), ((5,), (3, 1), (0,))), alpha=outside(0.0, 1.0), beta=bad_finite(arrays=True),
    c=bad_finite(arrays=True), nodes=st.one_of(bad_int(), sampled(1001)),
    hessian=bad_choice("exact", "hutchinson", "hutchinson-abs"), probes=bad_int(),
    generator=BAD_GENERATOR, chunk_size=not_none(bad_int()), structured=NOT_A_BOOL)
TABLE[f"{CFGD}.authors_caputo_direction"] = cases(
    cfgd.authors_caputo_direction, _CAPUTO, f=NOT_CALLABLE, x=bad_tensor((3,), ((5,),)),
    alpha=outside(0.0, 1.0), nodes=sampled(0, -1, 1.5, True, 10 ** 6),
    probes=bad_int(), generator=BAD_GENERATOR, hessian=bad_choice("exact", "hutchinson", "hutchinson-abs"))
TABLE[f"{CFGD}.hutchinson_diagonal"] = cases(
    cfgd.hutchinson_diagonal, lambda: dict(hvp=lambda V: V @ spd3(), dim_or_like=3, probes=4),
    hvp=st.one_of(NOT_CALLABLE, sampled(lambda V: "x", lambda V: V.sum(-1))),
    dim_or_like=st.one_of(bad_int(), sampled(torch.ones(5, dtype=F64), torch.ones(0, dtype=F64),
                                             torch.ones(3, dtype=torch.long))),
    probes=bad_int(), generator=BAD_GENERATOR)
TABLE[f"{CFGD}.cfgd"] = cases(
    cfgd.cfgd, lambda: dict(f=least_squares(), x0=torch.zeros(3, dtype=F64), steps=2, alpha=0.5),
    f=NOT_CALLABLE, x0=bad_tensor((3,), ((5,), (3, 1))), steps=bad_int(), alpha=outside(0.0, 1.0),
    beta=bad_finite(arrays=True), c=bad_finite(optional=True, arrays=True), variant=bad_choice("NA", "AT"),
    initial_terminals=st.one_of(NOT_A_TENSOR.filter(lambda v: v is not None), sampled(torch.ones(1, 3, dtype=F64))),
    step_size=sampled(3, "x"), nodes=bad_int(), hessian=bad_choice("exact", "hutchinson", "hutchinson-abs"),
    probes=bad_int(), generator=BAD_GENERATOR, blowup=bad_positive())
TABLE[f"{CFGD}.FixedStep"] = cases(cfgd.FixedStep, lambda: dict(eta=0.1), eta=bad_positive())
TABLE[f"{CFGD}.ExactLineSearch"] = cases(
    lambda f, x, direction: cfgd.ExactLineSearch()(f, x, direction),
    lambda: dict(f=least_squares(), x=torch.ones(3, dtype=F64), direction=torch.ones(3, dtype=F64)),
    f=NOT_CALLABLE, x=bad_tensor((3,), ((0,),)), direction=bad_tensor((3,), ((5,), (3, 1))))
TABLE[f"{CFGD}.LookaheadGridSearch"] = cases(
    cfgd.LookaheadGridSearch, lambda: dict(grid=(0.1, 0.2)),
    grid=sampled((), (0.0,), (NAN,), (-1.0, 0.5), ("a",), (True,), None, 3, "ab", (INF,)))
TABLE[f"{CFGD}.L2OCFGD"] = cases(
    cfgd.L2OCFGD, lambda: dict(hidden=3), hidden=bad_int(), preprocessing=st.one_of(bad_positive(), sampled(1e300)),
    alpha_min=st.one_of(outside(1e-300, 0.5), sampled(0.5, 1e-300)), nodes=bad_int(),
    hessian=bad_choice("exact", "hutchinson", "hutchinson-abs"), probes=bad_int(),
    fixed_beta=bad_finite(optional=True), fixed_c=bad_finite(optional=True))
TABLE[f"{CFGD}.LSTMOptimizer"] = cases(
    cfgd.LSTMOptimizer, lambda: dict(hidden=3), hidden=bad_int(), preprocessing=bad_positive(), scale=bad_positive())

# implementations.cfgd.training


def _TRAIN_MODEL():
    return dict(model=cfgd.L2OCFGD(hidden=3), make_problem=lambda g: (least_squares(), torch.zeros(3)),
                iterations=2, step_size=cfgd.ExactLineSearch(), runs=1, unroll=2, lr=1e-3,
                generator=torch.Generator().manual_seed(0))


BAD_MODEL = sampled(None, "m", 3, torch.nn.Linear(2, 2))
TABLE[f"{TRAIN}.meta_train"] = cases(
    training.meta_train, lambda: dict(config=small_config()), config=sampled(None, 3, "c", {}, small_config().task),
    log_every=bad_int(0), checkpoint_path=sampled(3, ["a"], 1.5), checkpoint_every=bad_int())
TABLE[f"{TRAIN}.meta_train_model"] = cases(
    training.meta_train_model, _TRAIN_MODEL, model=BAD_MODEL,
    make_problem=st.one_of(NOT_CALLABLE, sampled(lambda g: 3)),
    iterations=bad_int(), step_size=sampled(None, 3), runs=bad_int(), unroll=bad_int(), lr=bad_positive(),
    generator=BAD_GENERATOR, log_every=bad_int(0), meta_optimizer=sampled(3, "x"), log=sampled(3, "x", {}),
    after_run=sampled(3, "x"))
TABLE[f"{TRAIN}.rollout"] = cases(
    training.rollout, lambda: dict(model=cfgd.L2OCFGD(hidden=3), f=least_squares(), x0=torch.zeros(3, dtype=F64),
                                   iterations=2, step_size=cfgd.ExactLineSearch()),
    model=BAD_MODEL, f=NOT_CALLABLE, x0=bad_tensor((3,), ((5,), (3, 1))), iterations=bad_int(),
    step_size=sampled(None, 3), unroll=not_none(bad_int()), meta_optimizer=sampled(3, "x"), generator=BAD_GENERATOR,
    keep_records=NOT_A_BOOL, blowup=bad_positive())
TABLE[f"{TRAIN}.MetaTrainConfig"] = cases(
    training.MetaTrainConfig, dict, task=sampled(None, 3, "least-squares"), kind=bad_choice("cfgd", "lstm"),
    runs=bad_int(), unroll=bad_int(), lr=bad_positive(), hidden=bad_int(), nodes=bad_int(),
    hessian=bad_choice("exact", "hutchinson", "hutchinson-abs"), probes=bad_int(), seed=BAD_SEED,
    dtype=bad_choice("float64", "float32", "float16", "bfloat16"), fixed_beta=bad_finite(optional=True),
    fixed_c=bad_finite(optional=True))
TABLE[f"{TRAIN}.TaskConfig"] = cases(
    training.TaskConfig, dict, name=bad_choice(*training.TASKS), d=bad_int(), m=bad_int(), n=bad_int(),
    hidden=bad_int(), iterations=bad_int())
TABLE[f"{TRAIN}.reduced_config"] = cases(training.reduced_config, dict, task=bad_choice(*training.TASKS),
                                         kind=bad_choice("cfgd", "lstm"))
TABLE[f"{TRAIN}.paper_config"] = cases(training.paper_config, dict, task=bad_choice(*training.TASKS),
                                       kind=bad_choice("cfgd", "lstm"))
TABLE[f"{TRAIN}.save_checkpoint"] = cases(
    training.save_checkpoint, lambda: dict(path=UNUSED_PATH, model=cfgd.L2OCFGD(hidden=3), config=small_config()),
    path=sampled(None, 3, ["a"]), model=sampled(None, "m", 3), config=sampled(None, 3, {}))
TABLE[f"{TRAIN}.load_checkpoint"] = cases(training.load_checkpoint, lambda: dict(path=UNUSED_PATH),
                                          path=sampled(None, 3, ["a"]))
TABLE[f"{TRAIN}.grid_search_static"] = cases(
    training.grid_search_static,
    lambda: dict(task=training.TaskConfig("least-squares", d=3, m=3, iterations=2),
                 problems=[(least_squares(), torch.zeros(3, dtype=F64))], variant="NA",
                 grid=training.StaticGrid(alphas=(0.5,), betas=(0.0,), terminals=(0.0,), histories=(1,))),
    task=sampled(None, 3, "least-squares"), problems=sampled([], None, 3, [(1, 2)], [3], "ab"),
    variant=bad_choice("NA", "AT"), grid=sampled(None, 3), seed=BAD_SEED,
    hessian=bad_choice("exact", "hutchinson", "hutchinson-abs"))

# the switches and the batched/stacked/oracle names of the CFGD side-by-side and oracle work
TABLE[f"{TRAIN}.grid_search_static"] += cases(
    training.grid_search_static,
    lambda: dict(task=training.TaskConfig("least-squares", d=3, m=3, iterations=2),
                 problems=[(least_squares(), torch.zeros(3, dtype=F64))], variant="NA",
                 grid=training.StaticGrid(alphas=(0.5,), betas=(0.0,), terminals=(0.0,), histories=(1,))),
    batched_runs=sampled("yes", 0, 1, 2.5))
TABLE[f"{TRAIN}.MetaTrainConfig"] += cases(training.MetaTrainConfig, dict, direction=bad_choice("caputo", "authors"),
                                           beta_scaling=NOT_A_BOOL)
TABLE[f"{TRAIN}.TaskConfig"] += cases(training.TaskConfig, dict, start=bad_choice("zeros", "normal"),
                                      step_rule=bad_choice("default", "layerwise"))
TABLE[f"{CFGD}.LayerwiseLookahead"] = cases(
    cfgd.LayerwiseLookahead, lambda: dict(grid=(0.1, 0.2)),
    grid=sampled((), (0.0,), (NAN,), (-1.0, 0.5), ("a",), (True,), None, 3, "ab", (INF,)))
TABLE[f"{CFGD}.LayerwiseLookahead"] += cases(
    lambda f, x, direction: cfgd.LayerwiseLookahead()(f, x, direction),
    lambda: dict(f=problems.hfunction_regression("h2", 5, 2, torch.Generator().manual_seed(0)),
                 x=torch.zeros(6, dtype=F64), direction=torch.ones(6, dtype=F64)),
    f=sampled(None, 3, least_squares()), x=bad_tensor((6,), ((0,),)), direction=bad_tensor((6,), ((5,), (6, 1))))
TABLE[f"{CFGD}.L2OCFGD"] += cases(cfgd.L2OCFGD, lambda: dict(hidden=3), direction=bad_choice("caputo", "authors"),
                                  beta_scaling=NOT_A_BOOL)
TABLE[f"{TRAIN}.meta_train_many"] = cases(
    training.meta_train_many, lambda: dict(configs=[small_config()]), configs=sampled(None, 3, [3], "c"),
    checkpoint_paths=sampled(3, [3], [UNUSED_PATH, UNUSED_PATH]), checkpoint_every=bad_int())


def _STATIC():
    return dict(problems=cfgd.stack_problems([least_squares()]), x0=torch.zeros(1, 3, dtype=F64), steps=2,
                alpha=torch.tensor([0.5], dtype=F64), beta=torch.tensor([0.0], dtype=F64),
                c=torch.zeros(1, 3, dtype=F64))


TABLE[f"{CFGD}.static_runs"] = cases(
    cfgd.static_runs, _STATIC, problems=sampled(None, 3, least_squares()), x0=bad_tensor((1, 3), ((2, 3), (3,))),
    steps=bad_int(), alpha=st.one_of(bad_tensor((1,), ((2,),)), sampled(torch.tensor([1.0], dtype=F64))),
    beta=bad_tensor((1,), ((2,),)), c=bad_tensor((1, 3), ((1, 2),)), variant=bad_choice("NA", "AT"),
    step_size=sampled(3, "exact", cfgd.FixedStep(0.1)), blowup=bad_positive())
TABLE[f"{CFGD}.stack_problems"] = cases(cfgd.stack_problems, lambda: dict(problems=[least_squares()]),
                                        problems=sampled(None, [], [3], 3, [least_squares(), quadratic()]))
TABLE[f"{CFGD}.greedy_schedule_oracle"] = cases(
    cfgd.greedy_schedule_oracle, lambda: dict(f=least_squares(), x0=torch.zeros(3, dtype=F64), steps=2,
                                              step_size=cfgd.ExactLineSearch()),
    f=sampled(None, 3, quadratic()), x0=bad_tensor((3,), ((4,), (3, 1))), steps=bad_int(),
    step_size=sampled(None, 3, cfgd.FixedStep(0.1)), candidates=sampled(3, "grid"))
TABLE[f"{CFGD}.OracleCandidates"] = cases(
    cfgd.OracleCandidates, dict, alphas=sampled((), (0.0,), (1.0,), (NAN,), [0.5], None),
    betas=sampled((), (NAN,), (INF,), None, [0.0]), terminals=sampled((NAN,), None, ("a",)),
    histories=sampled((0,), (1.5,), None, [1]))
TABLE[f"{CFGD}.least_squares_floor"] = cases(
    cfgd.least_squares_floor, lambda: dict(f=least_squares(), x0=torch.zeros(3, dtype=F64), steps=2),
    f=sampled(None, 3, quadratic()), x0=bad_tensor((3,), ((4,),)), steps=bad_int())

# implementations.bfgs
_SOLVE = lambda: dict(objective=quadratic(), x0=torch.ones(3, dtype=F64), iterations=2)  # noqa: E731
BAD_OBJECTIVE = sampled(None, 3, "f", object(), lambda x: x)
TABLE[f"{BFGS}.cwss_bfgs"] = cases(
    bfgs.cwss_bfgs, lambda: {**_SOLVE(), "policy": bfgs.FixedSteps(1.0)}, objective=BAD_OBJECTIVE,
    x0=bad_tensor((3,), ((5,), (0,), (1, 1, 3))), policy=sampled(None, 3, "p", object()), iterations=bad_int(),
    safeguard=bad_choice("skip", "damp", "none"),
    H0=matrix3(INDEFINITE, ASYMMETRIC, torch.eye(2, dtype=F64), optional=True),
    cond_every=bad_int(0), keep_iterates=NOT_A_BOOL, blowup=bad_positive())
TABLE[f"{BFGS}.Trace"] = cases(
    bfgs.Trace, lambda: dict(f0=torch.zeros(1, dtype=F64), grad_norm0=torch.zeros(1, dtype=F64)),
    f0=st.one_of(NOT_A_TENSOR, sampled(torch.zeros((), dtype=F64), torch.zeros(1, dtype=torch.long))),
    grad_norm0=st.one_of(NOT_A_TENSOR, sampled(torch.zeros(2, dtype=F64))), rows=sampled(None, {}, 3),
    diverged_at=sampled(3, torch.zeros(1, dtype=F64), torch.zeros(2, dtype=torch.long)), evaluations=bad_int(0),
    wall_time=bad_nonnegative(), started=bad_finite())
TABLE[f"{BFGS}.cwss_step"] = cases(
    bfgs.cwss_step, lambda: dict(x=torch.zeros(3, dtype=F64), g=torch.ones(3, dtype=F64), H=torch.eye(3, dtype=F64),
                                 P=torch.ones(3, dtype=F64)),
    x=bad_tensor((3,)), g=bad_tensor((3,), ((5,),)), H=matrix3(INDEFINITE, ASYMMETRIC),
    P=st.one_of(bad_tensor((3,), ((5,),)), sampled(torch.full((3,), 2.5, dtype=F64))),
    interval=not_none(BAD_INTERVAL))
TABLE[f"{BFGS}.FixedSteps"] = cases(
    bfgs.FixedSteps, lambda: dict(schedule=1.0),
    schedule=st.one_of(st.floats(max_value=0.0, exclude_max=True), st.floats(min_value=2.0, exclude_min=True),
                       sampled(NAN, "1", None, True, 1j, torch.tensor([NAN], dtype=F64))),
    interval=not_none(BAD_INTERVAL))
TABLE[f"{BFGS}.inverse_bfgs_update"] = cases(
    bfgs.inverse_bfgs_update, lambda: dict(H=torch.eye(3, dtype=F64), s=torch.ones(3, dtype=F64),
                                           y=torch.ones(3, dtype=F64)),
    H=matrix3(INDEFINITE, ASYMMETRIC), s=bad_tensor((3,), ((5,),)), y=bad_tensor((3,), ((2,),)),
    safeguard=bad_choice("skip", "damp", "none"), curvature_eps=outside(0.0, 1.0),
    bs=not_none(bad_tensor((3,), ((5,),))))
TABLE[f"{BFGS}.HypergradientSteps"] = cases(bfgs.HypergradientSteps, dict, beta=bad_positive(),
                                            interval=BAD_INTERVAL)
TABLE[f"{BFGS}.bfgs_line_search"] = cases(
    bfgs.bfgs_line_search, _SOLVE, objective=BAD_OBJECTIVE, x0=bad_tensor((3,), ((5,), (0,), (1, 3))),
    iterations=bad_int(), line_search=bad_choice("armijo", "wolfe"), safeguard=bad_choice("skip", "damp", "none"),
    gtol=bad_nonnegative(), blowup=bad_positive())
TABLE[f"{BFGS}.lbfgs_torch"] = cases(
    bfgs.lbfgs_torch, _SOLVE, objective=BAD_OBJECTIVE, x0=st.one_of(bad_tensor((3,), ((5,),)),
                                                                   sampled(torch.full((3,), 1e300, dtype=F64))),
    iterations=bad_int(), history=bad_int())
TABLE[f"{BFGS}.adam"] = cases(bfgs.adam, _SOLVE, objective=BAD_OBJECTIVE, x0=bad_tensor((3,), ((5,),)),
                              iterations=bad_int(), lr=bad_positive())
TABLE[f"{BFGS}.StepSizeLSTM"] = cases(
    bfgs.StepSizeLSTM, lambda: dict(hidden=3), hidden=bad_int(),
    interval=st.one_of(BAD_INTERVAL, sampled((0.5, 0.9), (1.1, 1.5))), coordinatewise=NOT_A_BOOL)
TABLE[f"{BFGS}.LearnedSteps"] = cases(
    bfgs.LearnedSteps, lambda: dict(model=bfgs.StepSizeLSTM(3)), model=BAD_MODEL, lr=bad_positive(),
    reg=bad_nonnegative(), learning=NOT_A_BOOL)
TABLE[f"{BFGS}.meta_train"] = cases(
    bfgs.meta_train, lambda: dict(model=bfgs.StepSizeLSTM(3), instances=[(quadratic(), torch.ones(3, dtype=F64))],
                                  iterations=2),
    model=BAD_MODEL, instances=sampled(None, 3, [], [3], [(None, torch.ones(3))], "ab"), iterations=bad_int(),
    lr=bad_positive(), reg=bad_nonnegative(), epochs=bad_int(), safeguard=bad_choice("skip", "damp"))
TABLE[f"{BFGS}.StepSizeMLP"] = cases(
    bfgs.StepSizeMLP, lambda: dict(hidden=3), hidden=bad_int(), depth=bad_int(), interval=BAD_INTERVAL,
    coordinatewise=NOT_A_BOOL)
TABLE[f"{BFGS}.StepSizeTransformer"] = cases(
    bfgs.StepSizeTransformer, lambda: dict(hidden=4), hidden=st.one_of(bad_int(), sampled(3, 5)), heads=bad_int(),
    layers=bad_int(), interval=BAD_INTERVAL, coordinatewise=NOT_A_BOOL)
TABLE[f"{BFGS}.step_features"] = cases(
    bfgs.step_features,
    lambda: dict(x=torch.ones(3, dtype=F64), g=torch.ones(3, dtype=F64), d=torch.ones(3, dtype=F64)),
    x=bad_tensor((3,), ((0,), (1, 1, 3))), g=bad_tensor((3,), ((5,),)), d=bad_tensor((3,), ((2,),)))
TABLE[f"{BFGS}.bounded_steps"] = cases(
    bfgs.bounded_steps, lambda: dict(raw=torch.zeros(3, dtype=F64), interval=(0.1, 1.9)),
    raw=st.one_of(NOT_A_TENSOR, sampled(torch.tensor([NAN, 0.0], dtype=F64), torch.zeros(0, dtype=F64),
                                        torch.zeros((), dtype=F64), torch.zeros(3, dtype=torch.complex128),
                                        torch.zeros(3, dtype=torch.bool))),
    interval=st.one_of(BAD_INTERVAL, sampled((0.0, 2.5), (-0.5, 1.5))), coordinatewise=NOT_A_BOOL)
TABLE[f"{BFGS}.StepSizeModel"] = cases(
    bfgs.StepSizeModel, lambda: dict(hidden=3), hidden=bad_int(), interval=BAD_INTERVAL, coordinatewise=NOT_A_BOOL,
    cell=sampled(3, "x", torch.zeros(3)))
TABLE[f"{BFGS}.cwss_bfgs"] += cases(
    bfgs.cwss_bfgs, lambda: {**_SOLVE(), "policy": bfgs.FixedSteps(1.0)},
    stop_at=sampled(NAN, "x", torch.ones(3, dtype=F64), torch.tensor([1.0, NAN], dtype=F64)))
TABLE[f"{BFGS}.lbfgs_torch"] += cases(bfgs.lbfgs_torch, _SOLVE, gtol=bad_nonnegative())
TABLE[f"{BFGS}.GreedyOracleSteps"] = cases(
    bfgs.GreedyOracleSteps, lambda: dict(objective=quadratic()), objective=BAD_OBJECTIVE, interval=BAD_INTERVAL,
    gtol=bad_positive(), max_inner=bad_int())
TABLE[f"{BFGS}.LookaheadOracleSteps"] = cases(
    bfgs.LookaheadOracleSteps, lambda: dict(objective=quadratic()), objective=BAD_OBJECTIVE, horizon=bad_int(),
    interval=BAD_INTERVAL, gtol=bad_positive(), max_inner=bad_int())
TABLE[f"{BFGS}.box_minimise"] = cases(
    bfgs.box_minimise, lambda: dict(fun=lambda p: (p.sum(-1), torch.ones_like(p)), p0=torch.ones(1, 3, dtype=F64),
                                    low=0.0, high=2.0),
    fun=NOT_CALLABLE, p0=bad_tensor((1, 3), ((3,),)), low=st.one_of(sampled(NAN, INF, 2.0, 3.0), NOT_A_SCALAR),
    high=st.one_of(sampled(NAN, -INF, 0.0, -1.0), NOT_A_SCALAR), gtol=bad_positive(), max_iterations=bad_int(),
    scales=not_none(st.one_of(bad_tensor((1, 3), ((3,), (1, 2))), sampled(-torch.ones(1, 3, dtype=F64)))),
    memory=bad_int())
TABLE[f"{BFGS}.StackedLSTMSteps"] = cases(
    bfgs.StackedLSTMSteps, lambda: dict(models=[bfgs.StepSizeLSTM(3)]),
    models=sampled(None, [], [3], "ab", [bfgs.StepSizeLSTM(3), bfgs.StepSizeLSTM(4)]), lr=bad_positive(),
    reg=bad_nonnegative(), learning=NOT_A_BOOL)
TABLE[f"{BFGS}.stacked_meta_train"] = cases(
    bfgs.stacked_meta_train, lambda: dict(models=[bfgs.StepSizeLSTM(3)],
                                          instances=[(quadratic(), torch.ones(1, 3, dtype=F64))], iterations=2),
    models=sampled(None, [], [3], [bfgs.StepSizeLSTM(3), bfgs.StepSizeLSTM(4)]),
    instances=sampled(None, 3, [], [3], [(None, torch.ones(1, 3))], "ab"), iterations=bad_int(),
    lr=bad_positive(), reg=bad_nonnegative(), safeguard=bad_choice("skip", "damp"))

# implementations.mathl2o
_QP_PARTS = lambda: dict(M=small_qp().M, Y=small_qp().Y, beta=small_qp().beta)  # noqa: E731
TABLE[f"{MATH}.QP"] = (
    cases(mathl2o.QP.random, lambda: dict(N=1, d=3, b=2), N=bad_int(), d=bad_int(), b=st.one_of(bad_int(), sampled(4)),
          seed=BAD_SEED, dtype=BAD_DTYPE, device=BAD_DEVICE)
    + cases(mathl2o.QP, _QP_PARTS, M=bad_tensor((1, 2, 3), ((1, 3, 2), (2, 3), (0, 2, 3))),
            Y=bad_tensor((1, 2), ((1, 3), (2,))),
            beta=st.one_of(bad_tensor((1,), ((2,),)), sampled(torch.tensor([-1.0], dtype=F64),
                                                              torch.tensor([100.0], dtype=F64))))
    + cases(mathl2o.QP.create, lambda: dict(M=small_qp().M, Y=small_qp().Y),
            M=st.one_of(bad_tensor((1, 2, 3), ((2, 3),)), sampled(torch.ones(1, 2, 3, dtype=F64))),
            Y=bad_tensor((1, 2), ((1, 3),))))
TABLE[f"{MATH}.MathL2O"] = cases(
    mathl2o.MathL2O, lambda: dict(width=4), width=bad_int(),
    e=st.one_of(st.floats(max_value=1.0, exclude_max=True), sampled(NAN, INF, 0.5), NOT_A_SCALAR),
    depth=bad_int(2), init=bad_choice("deterministic", "random_last", "random"), nonnegative=NOT_A_BOOL,
    seed=BAD_SEED, dtype=BAD_DTYPE, device=BAD_DEVICE, kernel=bad_choice("auto", "dense", "planar"))
_UNROLL = lambda: dict(model=mathl2o.MathL2O(4), qp=small_qp(), T=2)  # noqa: E731
BAD_QP = sampled(None, 3, "qp", problems.Quadratic.create(torch.eye(2, dtype=F64), torch.zeros(2, dtype=F64)))
TABLE[f"{MATH}.unroll"] = cases(
    mathl2o.unroll, _UNROLL, model=sampled("m", 3, torch.nn.Linear(2, 2), mathl2o.MathL2O(4, dtype=torch.float32)),
    qp=BAD_QP, T=bad_int(), detach_inputs=NOT_A_BOOL, step_scale=bad_positive())
TABLE[f"{MATH}.train"] = cases(
    mathl2o.train, lambda: {**_UNROLL(), "lr": 1e-3, "iters": 1}, model=BAD_MODEL, qp=BAD_QP, T=bad_int(),
    lr=bad_positive(), iters=bad_int(0), detach_inputs=NOT_A_BOOL, step_scale=bad_positive(),
    checkpoint_steps=NOT_A_BOOL, callback=sampled(3, "x"), checkpoint_path=sampled(3, ["a"]),
    checkpoint_every=bad_int())
TABLE[f"{MATH}.alpha0"] = cases(mathl2o.alpha0, _UNROLL, model=BAD_MODEL, qp=BAD_QP, T=bad_int(),
                                step_scale=st.one_of(bad_positive(), sampled(1e300)))
TABLE[f"{MATH}.empirical_ntk"] = cases(
    mathl2o.empirical_ntk, _UNROLL, model=BAD_MODEL, qp=BAD_QP, T=bad_int(), which=bad_choice("all", "last"),
    detach_inputs=NOT_A_BOOL, step_scale=st.one_of(bad_positive(), sampled(1e300)))

TABLE[f"{MATH}.MathL2O"] += cases(mathl2o.MathL2O, lambda: dict(width=4), first_width=bad_int())
TABLE[f"{MATH}.LSTMMathL2O"] = cases(
    mathl2o.LSTMMathL2O, lambda: dict(hidden=3), hidden=bad_int(), layers=bad_int(),
    init=bad_choice("random", "zero_last"), state_init=bad_choice("random", "zeros"), biases=NOT_A_BOOL,
    seed=BAD_SEED, state_seed=not_none(BAD_SEED), dtype=BAD_DTYPE, device=BAD_DEVICE)
TABLE[f"{MATH}.LISTACPSS"] = (
    cases(mathl2o.LISTACPSS, lambda: dict(d=3, b=2, steps=2), d=bad_int(), b=bad_int(), steps=bad_int(),
          shared=NOT_A_BOOL, init=bad_choice("random", "zeros"), seed=BAD_SEED, dtype=BAD_DTYPE, device=BAD_DEVICE)
    + cases(mathl2o.LISTACPSS.from_gd, lambda: dict(qp=small_qp(), steps=2), qp=BAD_QP, steps=bad_int(),
            shared=NOT_A_BOOL, step_scale=bad_positive()))
_SCHEDULE = lambda: dict(qp=small_qp(), P=torch.ones(2, 1, 1, dtype=F64))  # noqa: E731
TABLE[f"{MATH}.schedule_values"] = cases(
    mathl2o.schedule_values, _SCHEDULE, qp=BAD_QP,
    P=st.one_of(bad_tensor((2, 1, 1), ((2, 2, 3), (2, 3), (0, 1, 1))), sampled(torch.ones(2, 1, 1, dtype=torch.long))),
    step_scale=bad_positive())
_OPTIMAL = lambda: dict(qp=small_qp(), T=2, iters=2)  # noqa: E731
TABLE[f"{MATH}.optimal_schedule"] = cases(
    mathl2o.optimal_schedule, _OPTIMAL, qp=BAD_QP, T=bad_int(), family=bad_choice("coordinate", "step", "constant"),
    iters=bad_int(), start=sampled(3, "x", torch.full((2, 1, 1), 2.5, dtype=F64), torch.ones(2, dtype=F64)),
    step_scale=bad_positive())
TABLE[f"{MATH}.oracle_gains"] = cases(
    mathl2o.oracle_gains, lambda: dict(qp=small_qp(), T=2, iters=2, random_starts=0), qp=BAD_QP, T=bad_int(),
    iters=bad_int(), random_starts=bad_int(0), seed=BAD_SEED, step_scale=bad_positive())
TABLE[f"{MATH}.certified_constants_t1"] = cases(
    mathl2o.certified_constants_t1, lambda: dict(model=mathl2o.MathL2O(4, depth=2), qp=small_qp()),
    model=sampled(None, 3, mathl2o.MathL2O(4, depth=3), mathl2o.MathL2O(4, depth=2, init="random_last"),
                  mathl2o.MathL2O(4, depth=2, dtype=torch.float32)),
    qp=BAD_QP, step_scale=bad_positive())

# implementations.problems
TABLE[f"{PROB}.Quadratic"] = (
    cases(problems.Quadratic, lambda: dict(A=spd3(), b=torch.zeros(3, dtype=F64)), A=matrix3(ASYMMETRIC),
          b=bad_tensor((3,), ((5,),)))
    + cases(problems.Quadratic.create, lambda: dict(A=spd3(), b=torch.zeros(3, dtype=F64)),
            A=matrix3(INDEFINITE, ASYMMETRIC), b=bad_tensor((3,), ((5,),)), require_spd=NOT_A_BOOL))
_DATA = lambda: dict(A=torch.ones(3, 2, dtype=F64))  # noqa: E731
TABLE[f"{PROB}.LeastSquares"] = (
    cases(problems.LeastSquares, lambda: {**_DATA(), "y": torch.ones(3, dtype=F64)},
          A=bad_tensor((3, 2), ((3,), (0, 2))), y=bad_tensor((3,), ((2,),)))
    + cases(problems.LeastSquares.random_cfgd, lambda: dict(d=3, m=3), d=bad_int(), m=bad_int(),
            generator=BAD_GENERATOR, dtype=BAD_DTYPE))
_LABELS = torch.tensor([1.0, -1.0, 1.0], dtype=F64)
TABLE[f"{PROB}.LogisticRegression"] = (
    cases(problems.LogisticRegression, lambda: {**_DATA(), "labels": _LABELS, "reg": 0.1},
          A=bad_tensor((3, 2), ((3,),)),
          labels=st.one_of(bad_tensor((3,), ((2,),)), sampled(torch.tensor([1.0, 0.0, 2.0], dtype=F64))),
          reg=bad_positive())
    + cases(problems.LogisticRegression.random, lambda: dict(d=2, m=3), d=bad_int(), m=bad_int(), reg=bad_positive(),
            batch=sampled(3, "a", (0,), (-1,), (1.5,), (True,)), generator=BAD_GENERATOR, dtype=BAD_DTYPE,
            noise=bad_nonnegative()))
TABLE[f"{PROB}.LogSumExp"] = (
    cases(problems.LogSumExp, lambda: {**_DATA(), "b": torch.ones(3, dtype=F64), "rho": 1.0},
          A=bad_tensor((3, 2), ((3,),)), b=bad_tensor((3,), ((2,),)), rho=bad_positive(), reg=bad_nonnegative())
    + cases(problems.LogSumExp.random, lambda: dict(d=2, m=3), d=bad_int(), m=bad_int(), rho=bad_positive(),
            reg=bad_nonnegative(), batch=sampled(3, "a", (0,), (-1,)), generator=BAD_GENERATOR, dtype=BAD_DTYPE))
TABLE[f"{PROB}.DigitCNN"] = cases(
    lambda images: problems.DigitCNN()(images), lambda: dict(images=torch.zeros(2, 1, 8, 8, dtype=F64)),
    images=st.one_of(NOT_A_TENSOR, sampled(torch.zeros(2, 8, 8, dtype=F64), torch.zeros(8, dtype=F64),
                                           torch.zeros(2, 1, 8, 8, dtype=torch.float32))))
_CNN = lambda: dict(images=digits()[0], labels=digits()[1])  # noqa: E731
TABLE[f"{PROB}.DigitCNNObjective"] = (
    cases(problems.DigitCNNObjective, _CNN, images=bad_tensor((8, 1, 8, 8), ((8, 64),)),
          labels=st.one_of(NOT_A_TENSOR, sampled(torch.full((8,), 10), torch.full((8,), -1), torch.zeros(8, dtype=F64),
                                                 torch.zeros(3, dtype=torch.long))),
          reg=bad_nonnegative(), module=sampled(None, 3, torch.nn.Linear(2, 2)))
    + cases(problems.DigitCNNObjective.create, lambda: dict(n=8), n=st.one_of(not_none(bad_int()), sampled(1798)),
            reg=bad_nonnegative(), seed=BAD_SEED, dtype=BAD_DTYPE, device=BAD_DEVICE))


def _MLP():
    return dict(sizes=(1, 3, 1), activation="tanh", output_bias=False, inputs=Z, targets=Z,
                loss="half-sse")


_MLP_MODULE = problems.FlatMLPObjective.create(**_MLP()).module
TABLE[f"{PROB}.FlatMLPObjective"] = (
    cases(problems.FlatMLPObjective.create, _MLP,
          sizes=sampled(None, 3, (1,), (1, 0, 1), ("a", 2), (1.5, 3, 1), (2, 3, 1)),
          activation=bad_choice("tanh", "relu"), output_bias=NOT_A_BOOL, inputs=bad_tensor((5, 1), ((5,), (5, 2))),
          targets=st.one_of(NOT_A_TENSOR, sampled(torch.ones(5, dtype=F64), torch.ones(5, 2, dtype=F64))),
          loss=bad_choice("half-sse", "cross-entropy"))
    + cases(problems.FlatMLPObjective, lambda: {**_MLP(), "module": _MLP_MODULE},
            sizes=sampled(None, 3, (1,), (1, 4, 1)), loss=bad_choice("half-sse", "cross-entropy"),
            targets=sampled(torch.ones(5, dtype=F64), torch.zeros(5, dtype=torch.long)), module=sampled(None, 3)))
TABLE[f"{PROB}.hfunction_regression"] = cases(
    problems.hfunction_regression, lambda: dict(name="h1", n=5, hidden=3), name=bad_choice("h1", "h2", "h3"),
    n=bad_int(), hidden=bad_int(), generator=BAD_GENERATOR, dtype=BAD_DTYPE, device=BAD_DEVICE)
TABLE[f"{PROB}.digit_classifier"] = cases(
    problems.digit_classifier, lambda: dict(n=8, hidden=3), n=st.one_of(not_none(bad_int()), sampled(1798)),
    hidden=bad_int(), seed=BAD_SEED, dtype=BAD_DTYPE, device=BAD_DEVICE)
TABLE[f"{PROB}.random_spd"] = cases(
    problems.random_spd, lambda: dict(dim=3, cond=10.0), dim=bad_int(),
    cond=st.one_of(st.floats(max_value=1.0, exclude_max=True), st.floats(min_value=4.6e15), sampled(NAN),
                   NOT_A_SCALAR),  # 1/eps ≈ 4.5e15: beyond it QΛQᵀ need not be positive definite
    generator=BAD_GENERATOR, dtype=BAD_DTYPE, device=BAD_DEVICE,
    smallest=st.one_of(bad_positive(), sampled(1e-320, 1e307)))
TABLE[f"{PROB}.load_digit_data"] = cases(
    problems.load_digit_data, lambda: dict(n=8), n=st.one_of(not_none(bad_int()), sampled(1798)),
    flatten=NOT_A_BOOL, dtype=BAD_DTYPE, device=BAD_DEVICE, seed=BAD_SEED)
TABLE[f"{PROB}.Rosenbrock"] = cases(problems.Rosenbrock, lambda: dict(dim=3), dim=bad_int(2), a=bad_positive())

#: Public names whose bad input is not yet rejected clearly, with the reason (strict xfail: a fix makes them pass,
#: and the mark must then go).
KNOWN_GAPS: dict[str, str] = {}


# ---- tests ---------------------------------------------------------------------------------------------

def test_readme_list_parses_to_the_public_names():
    names = readme_public_names()
    assert len(names) >= 50
    for expected in (f"{CFGD}.gauss_jacobi", f"{BFGS}.cwss_bfgs", f"{MATH}.QP", f"{PROB}.Rosenbrock",
                     f"{TRAIN}.meta_train", f"{BFGS}.meta_train", f"{BFGS}.Trace", f"{TRAIN}.MetaTrainConfig",
                     f"{TRAIN}.TaskConfig", f"{CFGD}.cfgd", f"{BFGS}.StepSizeModel"):
        assert expected in names
    assert not any(name.rsplit(".", 1)[1] in ("alpha", "fixed_beta", "interval", "qp", "trace", "theory")
                   for name in names)


def test_parser_follows_module_switches_and_skips_non_names():
    text = (f"{SECTION}:\n- `implementations.bfgs`: `cwss_step`, `x0`, `trace.diverged_at`, `interval=None`;\n"
            "  in `implementations.cfgd.training`: `rollout(model, f)`\n- `implementations.mathl2o`: `QP.random(N)`, "
            "`qp.M`\n\nAfter the list: `implementations.problems.Rosenbrock`\n")
    assert readme_public_names(text) == {f"{BFGS}.cwss_step", f"{TRAIN}.rollout", f"{MATH}.QP"}


def test_every_public_name_has_bad_input_cases():
    missing = readme_public_names() - set(TABLE)
    assert not missing, f"public names without bad-input cases in TABLE: {sorted(missing)}"
    stale = set(TABLE) - readme_public_names()
    assert not stale, f"TABLE entries that are not public names of the README: {sorted(stale)}"
    assert all(TABLE[name] for name in TABLE)


def _case_params():
    for name, entries in sorted(TABLE.items()):
        marks = [pytest.mark.xfail(strict=True, reason=KNOWN_GAPS[name])] if name in KNOWN_GAPS else []
        for index, (argument, strategy, build) in enumerate(entries):
            yield pytest.param(argument, strategy, build, id=f"{name.rsplit('.', 1)[1]}-{argument}-{index}",
                               marks=marks)


@pytest.mark.parametrize("argument, bad_values, build", list(_case_params()))
@PROPERTY
@given(data=st.data())
def test_bad_argument_is_rejected_with_a_message_naming_it(argument, bad_values, build, data):
    value = data.draw(bad_values, label=argument)
    with pytest.raises((ValueError, TypeError)) as caught:
        build(value)
    assert argument in str(caught.value), f"{type(caught.value).__name__}: {caught.value}"


def _qp_with_beta(scale: float) -> mathl2o.QP:
    qp = small_qp()
    return mathl2o.QP(qp.M, qp.Y, qp.beta * scale)


#: The defects a fuzzer reported (each raised a bare torch/Python error or was accepted silently), kept as
#: deterministic regressions next to the property above: (call, argument its error must name).
REPORTED = {
    "gauss_jacobi-alpha-near-1": (lambda: cfgd.gauss_jacobi(2, 0.9999999999999999), "alpha"),
    "empirical_ntk-T-0": (lambda: mathl2o.empirical_ntk(mathl2o.MathL2O(4), small_qp(), 0), "T"),
    "empirical_ntk-T-negative": (lambda: mathl2o.empirical_ntk(mathl2o.MathL2O(4), small_qp(), -1), "T"),
    "empirical_ntk-T-bool": (lambda: mathl2o.empirical_ntk(mathl2o.MathL2O(4), small_qp(), True), "T"),
    "empirical_ntk-step_scale-0": (lambda: mathl2o.empirical_ntk(mathl2o.MathL2O(4), small_qp(), 2, step_scale=0.0),
                                   "step_scale"),
    "empirical_ntk-step_scale-nan": (lambda: mathl2o.empirical_ntk(mathl2o.MathL2O(4), small_qp(), 2,
                                                                   step_scale=NAN), "step_scale"),
    "random_spd-smallest-negative": (lambda: problems.random_spd(3, 10.0, smallest=-1.0), "smallest"),
    "inverse_bfgs_update-H-asymmetric": (lambda: bfgs.inverse_bfgs_update(ASYMMETRIC, torch.ones(3, dtype=F64),
                                                                          torch.ones(3, dtype=F64)), "H"),
    "inverse_bfgs_update-H-indefinite": (lambda: bfgs.inverse_bfgs_update(INDEFINITE, torch.ones(3, dtype=F64),
                                                                          torch.ones(3, dtype=F64)), "H"),
    "bfgs_line_search-gtol-nan": (lambda: bfgs.bfgs_line_search(quadratic(), torch.ones(3, dtype=F64), 2, gtol=NAN),
                                  "gtol"),
    "lbfgs_torch-history-0": (lambda: bfgs.lbfgs_torch(quadratic(), torch.ones(3, dtype=F64), 2, history=0),
                              "history"),
    "QP-beta-inconsistent": (lambda: _qp_with_beta(100.0), "beta"),
    "QP-M-not-a-tensor": (lambda: mathl2o.QP("M", small_qp().Y, small_qp().beta), "M"),
    "Quadratic-A-asymmetric": (lambda: problems.Quadratic(ASYMMETRIC, torch.zeros(3, dtype=F64)), "A"),
    "bounded_steps-interval-above-2": (lambda: bfgs.bounded_steps(torch.zeros(3, dtype=F64), (0.0, 3.0)), "interval"),
    "bounded_steps-interval-below-0": (lambda: bfgs.bounded_steps(torch.zeros(3, dtype=F64), (-0.5, 1.5)),
                                       "interval"),
    "DigitCNNObjective-labels-10": (lambda: problems.DigitCNNObjective(digits()[0], torch.full((8,), 10)), "labels"),
    "DigitCNNObjective-labels-negative": (lambda: problems.DigitCNNObjective(digits()[0], torch.full((8,), -1)),
                                          "labels"),
    "FlatMLPObjective-targets-broadcast": (lambda: problems.FlatMLPObjective.create(
        (1, 3, 1), "tanh", False, Z, Z.squeeze(-1), "half-sse"), "targets"),
}


@pytest.mark.parametrize("case", sorted(REPORTED))
def test_reported_defect_is_rejected_naming_the_argument(case):
    call, argument = REPORTED[case]
    with pytest.raises((ValueError, TypeError)) as caught:
        call()
    assert argument in str(caught.value)
