"""The claims' figures: where a check saves one and the non-interactive pyplot it draws with (one helper)."""

from __future__ import annotations

import os

from verify.registry import Context


def figure_path(ctx: Context, name: str) -> str | None:
    """``<ctx.figure_dir>/<name>`` (the folder is created), or None when the run keeps no figures."""
    if not ctx.figure_dir:
        return None
    os.makedirs(ctx.figure_dir, exist_ok=True)
    return os.path.join(ctx.figure_dir, name)


def pyplot():
    """matplotlib.pyplot on the file-only Agg backend (a run never opens a window), imported on first use so
    that checks without figures do not pay matplotlib's import."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def save(fig, path: str, dpi: int = 120) -> str:
    """Lay out ``fig``, write it to ``path`` at ``dpi`` and close it; returns ``path``."""
    import matplotlib.pyplot as plt

    fig.tight_layout()
    fig.savefig(path, dpi=dpi)
    plt.close(fig)
    return path
