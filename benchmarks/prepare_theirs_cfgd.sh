#!/usr/bin/env bash
# Put a runnable copy of the authors' L2O-CFGD code (github:Johnny1188/fractional-learning-to-optimize, package
# fl2o) into .theirs-cfgd/ for benchmarks/cfgd_authors_side_by_side.py and the claim cfgd.l2o.authors-code (which
# reads the copy from $L2O_THEIRS_CFGD, default .theirs-cfgd/). Never commit it: .theirs-cfgd/ is added to
# .git/info/exclude here. Argument: a git clone of that repository (or its .git directory).
# Only import fixes are applied, to the copy only (the computations are left as published):
#   1. fl2o/data.py imports torchvision (for its MNIST class only; not installed here): the import is wrapped in
#      try/except ImportError, so MNIST alone is unusable;
#   2. fl2o/data.py evaluates os.path.join(os.getenv("DATA_PATH")) at import, a TypeError when DATA_PATH is unset:
#      the default "." is used instead (DATA_PATH is only read by MNIST);
#   3. fl2o/utils.py imports seaborn (plotting only; not installed here): wrapped in try/except ImportError;
#   4. fl2o/training.py imports dill (only for their checkpoint files, which the side-by-side run does not write:
#      ckpt_config=None): wrapped in try/except ImportError.
set -euo pipefail
mirror=${1:?usage: benchmarks/prepare_theirs_cfgd.sh PATH-TO-A-CLONE-OF-fractional-learning-to-optimize}
[ -d "$mirror/.git" ] && mirror="$mirror/.git"
target=.theirs-cfgd
mkdir -p .git/info
grep -qx "/$target/" .git/info/exclude 2>/dev/null || echo "/$target/" >> .git/info/exclude
rm -rf "$target" && mkdir "$target"
git --git-dir "$mirror" archive HEAD | tar -x -C "$target"
git --git-dir "$mirror" rev-parse HEAD > "$target/COMMIT"
python3 - "$target" <<'PY'
import sys
from pathlib import Path

root = Path(sys.argv[1]) / "fl2o"


def wrap(path: Path, line: str, fallback: str) -> None:
    """Replace the import ``line`` by try: line / except ImportError: fallback (fails if the line is absent)."""
    text = path.read_text()
    if line not in text.splitlines():
        raise SystemExit(f"{path}: expected line {line!r} not found; the copy differs from the known commit")
    wrapped = f"try:\n    {line}\nexcept ImportError:  # not installed here\n    {fallback}"
    path.write_text(text.replace(line, wrapped, 1))


wrap(root / "data.py", "from torchvision import datasets, transforms", "datasets = transforms = None")
data = root / "data.py"
line = 'DATA_PATH = os.path.join(os.getenv("DATA_PATH"))'
text = data.read_text()
if line not in text:
    raise SystemExit(f"{data}: expected line {line!r} not found")
data.write_text(text.replace(line, 'DATA_PATH = os.path.join(os.getenv("DATA_PATH", "."))', 1))
wrap(root / "utils.py", "import seaborn as sns", "sns = None")
wrap(root / "training.py", "import dill", "dill = None")
PY
echo "prepared $target at commit $(cat "$target/COMMIT")"
du -sh "$target"
