#!/usr/bin/env bash
# Create (or refresh) the virtual environment that runs the RecBole 1.2.1 peer.
#
# Usage:  bash experiments/benchmarks/peers/setup_recbole_env.sh VENV_DIR
#         RECBOLE_VENV=VENV_DIR bash experiments/benchmarks/peers/setup_recbole_env.sh
# then    export RECBOLE_PYTHON=VENV_DIR/bin/python   (what bench_neumf.py looks for)
#
# Idempotent: an existing venv is reused, and pip skips what is already satisfied.
#
# Pins (each one found necessary on this machine, see experiments/benchmarks/peers/README.md):
#   torch==2.13.0          installed FIRST, alone: its CPU wheel lies on this machine's disk
#                          (pip find-links). Letting recbole pull a plain "torch" would fetch
#                          a multi-GB CUDA build instead.
#   numpy<2                RecBole 1.2.1 and its ray 2.6 dependency use aliases removed in
#                          NumPy 2 (np.float_, np.bool8, ...).
#   scipy==1.11.4          kept from the earlier measurement on this machine (not re-verified
#                          against newer SciPy; 1.11.4 is the last line built for numpy<2-era
#                          code that RecBole 1.2.1 was released against).
#   setuptools>=77.0.3,<81 `from recbole.quick_start import ...` imports ray, whose
#                          ray._private.parameter does `import pkg_resources`; setuptools 81+
#                          no longer ships pkg_resources. (An older note said setuptools<70,
#                          but torch 2.13.0 itself requires setuptools>=77.0.3, so <70 makes
#                          pip's resolution impossible.)
#   pandas<3               RecBole's Dataset does `df[col].fillna(..., inplace=True)`, which
#                          is a silent no-op under pandas 3's copy-on-write
#                          (ChainedAssignmentError warnings).
# At run time recbole_run.py also sets TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD=1: RecBole's
# Trainer reloads its best checkpoint with torch.load(), which torch>=2.6 refuses by
# default (weights_only=True) because the checkpoint pickles RecBole's Config object.
set -euo pipefail

VENV="${1:-${RECBOLE_VENV:-}}"
if [[ -z "$VENV" ]]; then
    echo "usage: bash $0 VENV_DIR (or set RECBOLE_VENV): where to make RecBole's venv" >&2
    exit 2
fi
PYTHON="${PYTHON:-python3}"
RECBOLE_VERSION="1.2.1"
TORCH_VERSION="2.13.0"

say() { echo "[setup_recbole_env] $*"; }

if [[ -x "$VENV/bin/python" ]]; then
    say "reusing existing venv: $VENV"
else
    say "creating venv: $VENV (with $($PYTHON --version 2>&1))"
    "$PYTHON" -m venv "$VENV"
fi
PIP=("$VENV/bin/python" -m pip --disable-pip-version-check)

CONSTRAINTS="$(mktemp)"
trap 'rm -f "$CONSTRAINTS"' EXIT
cat >"$CONSTRAINTS" <<EOF
torch==${TORCH_VERSION}
numpy<2
scipy==1.11.4
setuptools>=77.0.3,<81
pandas<3
EOF

say "step 1/3: torch==${TORCH_VERSION} (CPU wheel from local disk), installed first and alone"
"${PIP[@]}" install -q "torch==${TORCH_VERSION}" 2> >(grep -v "^WARNING: Location " >&2)

say "step 2/3: recbole==${RECBOLE_VERSION} with constraints: $(tr '\n' ' ' <"$CONSTRAINTS")"
# pip's file:// extra-index warnings ("Location ... is ignored") are noise: filter them
"${PIP[@]}" install -q -c "$CONSTRAINTS" "setuptools>=77.0.3,<81" "numpy<2" "scipy==1.11.4" \
    "pandas<3" "recbole==${RECBOLE_VERSION}" 2> >(grep -v "^WARNING: Location " >&2)

say "step 3/3: checking the installation"
TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD=1 "$VENV/bin/python" -W ignore - <<'EOF'
import os, importlib.metadata as md
import recbole, torch, numpy, scipy, pandas
from recbole.quick_start import run_recbole  # imports ray -> needs pkg_resources
d = os.path.join(os.path.dirname(recbole.__file__), "dataset_example", "ml-100k")
files = sorted(f for f in os.listdir(d) if f.startswith("ml-100k."))
print("[setup_recbole_env] recbole", recbole.__version__, "| torch", torch.__version__,
      "| numpy", numpy.__version__, "| scipy", scipy.__version__, "| pandas", pandas.__version__,
      "| setuptools", md.version("setuptools"))
print("[setup_recbole_env] ml-100k atomic files:", d, files)
EOF
say "done. Point the benchmark at it with: export RECBOLE_PYTHON=$VENV/bin/python"
say "(or run the peer itself: $VENV/bin/python experiments/benchmarks/peers/recbole_run.py --help)"
