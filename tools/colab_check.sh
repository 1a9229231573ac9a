#!/usr/bin/env bash
# make colab-check: does the notebooks' Colab install line keep a Colab-like torch and TensorFlow?
#
# Needs the network (PyPI) and about 5 GB of disk; not part of CI. It makes a fresh venv with torch and
# TensorFlow at versions other than the lock's (Colab brings its own), runs the install line of the
# notebooks' set-up cell (fmbook.notebook.SETUP_CELL) pointed at this working tree, checks that torch and
# TensorFlow were left as they were, and runs chapter 01 in smoke with that venv.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
VENV=${COLAB_VENV:-build/colab-venv}
TORCH=${COLAB_TORCH:-2.11.0}        # the lock has torch 2.13.0 (2.12.1: see the README)
TF=${COLAB_TF:-2.20.0}              # the lock has tensorflow 2.21.0
PYTHON=${PYTHON:-$(command -v python3.11 || command -v python3)}
export KERAS_BACKEND=${KERAS_BACKEND:-tensorflow} TF_CPP_MIN_LOG_LEVEL=${TF_CPP_MIN_LOG_LEVEL:-2}

if grep -qE "^torch==$TORCH$|^tensorflow==$TF$" requirements-lock.txt; then
    echo "colab-check: choose torch/TensorFlow versions other than the lock's (COLAB_TORCH, COLAB_TF)" >&2
    exit 2
fi

SECONDS=0
rm -rf "$VENV"
"$PYTHON" -m venv "$VENV"
"$VENV/bin/python" -m pip install -q --upgrade pip
echo "colab-check: the 'preinstalled' stack: torch==$TORCH tensorflow==$TF ipykernel"
"$VENV/bin/python" -m pip install -q "torch==$TORCH" "tensorflow==$TF" ipykernel
versions() { "$VENV/bin/python" -c "import torch, tensorflow as tf; print(f'torch {torch.__version__}, tensorflow {tf.__version__}')" 2>/dev/null; }
before=$(versions)
echo "colab-check: before: $before"
"$VENV/bin/python" -m pip freeze --exclude-editable | sort > "$VENV/freeze-before.txt"

# The install line of the set-up cell, with the repository URL replaced by this working tree.
requirement=$("$VENV/bin/python" - "$ROOT" <<'PY'
import re, sys
sys.path.insert(0, sys.argv[1])
from fmbook import REPOSITORY
from fmbook.notebook import SETUP_CELL   # imports only the standard library and fmbook's own modules
m = re.search(r'"(fmbook\[[^\]]+\] @ git\+[^"]+)"', SETUP_CELL)
if not m:
    sys.exit("no pip requirement 'fmbook[...] @ git+...' in fmbook.notebook.SETUP_CELL")
print(m.group(1).replace(f"git+{REPOSITORY}.git", f"file://{sys.argv[1]}"))
PY
)
echo "colab-check: pip install \"$requirement\""
"$VENV/bin/python" -m pip install -q "$requirement"
after=$(versions)
echo "colab-check: after:  $after"
"$VENV/bin/python" -m pip freeze --exclude-editable | grep -v -i '^fmbook' | sort > "$VENV/freeze-after.txt"
echo "colab-check: preinstalled packages the install line changed (informative; torch and TensorFlow must not be among them):"
comm -23 "$VENV/freeze-before.txt" "$VENV/freeze-after.txt" | sed 's/^/  was: /' || true
if [ "$before" != "$after" ]; then
    echo "colab-check: FAILED: the install line changed the preinstalled stack ($before -> $after)" >&2
    exit 1
fi
"$VENV/bin/python" -m pip check || { echo "colab-check: FAILED: pip check" >&2; exit 1; }

# Chapter 01 in smoke, with this venv (outside the working tree, so that the installed fmbook is used).
out="$ROOT/build/colab-check"
(cd "$VENV" && "$ROOT/$VENV/bin/python" -m fmbook run "$ROOT/notebooks/01_logistic_regression.ipynb" \
    --profile smoke --output-dir "$out")
echo "colab-check: passed in ${SECONDS} s ($after kept; chapter 01 ran in smoke)"
