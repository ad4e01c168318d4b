#!/usr/bin/env bash
# Put a runnable copy of the authors' Math-L2O code (github:NetX-lab/MathL2OProof-Official) into .theirs/ for
# benchmarks/gpu_session.sh and benchmarks/mathl2o_train_step.py --theirs .theirs. Never commit it: .theirs/ is
# added to .git/info/exclude here. Argument: a git clone of that repository (or its .git directory).
# The two local import fixes of benchmarks/mathl2o_train_step.md are applied to the copy only.
set -euo pipefail
mirror=${1:?usage: benchmarks/prepare_theirs.sh PATH-TO-A-CLONE-OF-MathL2OProof-Official}
[ -d "$mirror/.git" ] && mirror="$mirror/.git"
grep -qx '/.theirs/' .git/info/exclude 2>/dev/null || echo '/.theirs/' >> .git/info/exclude
rm -rf .theirs && mkdir .theirs
git --git-dir "$mirror" archive HEAD | tar -x -C .theirs
echo 'from .utils import *' > .theirs/utils/__init__.py
python3 - <<'PY'
from pathlib import Path
init = Path(".theirs/optimizees/__init__.py")
text = init.read_text()
line = next(l for l in text.splitlines() if "from .cnn import" in l)
init.write_text(text.replace(line, f"try:\n    {line.strip()}\nexcept ImportError:  # needs torchvision\n    MnistCNN = None"))
PY
du -sh .theirs
