"""Claim specs and check IDs read from a module's source without importing it (importing the claims pulls in
torch, scipy and sympy: seconds, where listing the catalogue should be instant). Used for the built-in claim
modules (verify.catalogue) and for the modules of the ``l2o_verify.claims`` entry points (verify.external)."""

from __future__ import annotations

import ast

from verify.spec import ClaimSpec


class NotLiteral(Exception):
    """The source holds something that only importing the module can evaluate."""


def literal(node: ast.AST):
    """``ast.literal_eval`` of ``node``; NotLiteral when it is not a literal (a name, an f-string, a call)."""
    try:
        return ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        raise NotLiteral from None


def is_call_to(node: ast.AST, name: str) -> bool:
    """Whether ``node`` calls ``name`` or ``something.name``."""
    return isinstance(node, ast.Call) and (getattr(node.func, "id", None) == name
                                           or getattr(node.func, "attr", None) == name)


def top_level_value(tree: ast.Module, name: str) -> ast.AST | None:
    """The value last assigned to ``name`` at module level, or None."""
    value = None
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == name for t in node.targets):
            value = node.value
        elif isinstance(node, ast.AnnAssign) and getattr(node.target, "id", None) == name:
            value = node.value
    return value


def spec_from_call(node: ast.AST) -> ClaimSpec:
    """The ClaimSpec of a ``ClaimSpec(...)`` call with literal arguments; NotLiteral otherwise."""
    if not is_call_to(node, "ClaimSpec") or any(isinstance(a, ast.Starred) for a in node.args) \
            or any(k.arg is None for k in node.keywords):
        raise NotLiteral
    return ClaimSpec(*(literal(a) for a in node.args), **{k.arg: literal(k.value) for k in node.keywords})


def module_spec(tree: ast.Module) -> tuple[ClaimSpec, int] | None:
    """The module's ``SPEC = ClaimSpec(...)`` and its line, or None when it has no SPEC; NotLiteral when SPEC is
    not a ClaimSpec call with literal arguments."""
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == "SPEC" for t in node.targets):
            return spec_from_call(node.value), node.lineno
    return None


def checked_ids(tree: ast.AST, strict: bool = False) -> set[str]:
    """The IDs of the ``@check("ID")`` and ``@check(SPEC.id)`` decorators in a parsed module (SPEC: the module's
    :func:`module_spec`). ``strict``: a ``@check`` whose ID is neither raises NotLiteral (the module must then be
    imported to know its checks)."""
    ids = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            for decorator in node.decorator_list:
                if not is_call_to(decorator, "check"):
                    continue
                argument = decorator.args[0] if decorator.args else None
                if isinstance(argument, ast.Constant) and isinstance(argument.value, str):
                    ids.add(argument.value)
                elif argument is not None and ast.unparse(argument) == "SPEC.id" \
                        and (found := module_spec(tree)) is not None:
                    ids.add(found[0].id)
                elif strict:
                    raise NotLiteral
    return ids
