#!/usr/bin/env bash
# A short GPU check (a few minutes on one GPU): LightGCN, NeuMF and item2vec on ML-100K with
# --device cuda and the same runs with --device cpu, then their metrics side by side; and, with
# more than one GPU, data-parallel BPR-MF with torchrun and nccl.
#
#   bash experiments/gpu_check.sh                 # cuda + cpu, then the comparison
#   EPOCHS=1 DEVICES=cpu bash experiments/gpu_check.sh   # the CPU part only (a smoke test)
#
# Environment: PYTHON (default: python), EPOCHS (default 10; item2vec uses ITEM2VEC_EPOCHS,
# default 3), DEVICES (default "cuda cpu"), OUT (default: runs/gpu_check), SEED (default 0),
# THREADS (torch threads; default torch's choice),
# and graphrec's GRAPHREC_DATA for the data root (ML-100K is read from its cache or fetched).
# The same seed on both devices gives the same data, split and sampled negatives; the weights
# differ in floating-point order only, so the metrics should agree to about +-0.01, not exactly.
set -euo pipefail

PYTHON=${PYTHON:-python}
EPOCHS=${EPOCHS:-10}
ITEM2VEC_EPOCHS=${ITEM2VEC_EPOCHS:-3}
DEVICES=${DEVICES:-"cuda cpu"}
OUT=${OUT:-runs/gpu_check}
SEED=${SEED:-0}
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
RUN="$HERE/run.py"

if [[ " $DEVICES " == *" cuda "* ]]; then
    "$PYTHON" -c "import torch, sys; sys.exit(0 if torch.cuda.is_available() else 'no CUDA device visible to torch')"
    nvidia-smi -L || true
fi
mkdir -p "$OUT"

for dev in $DEVICES; do
    for task in lightgcn neumf item2vec; do
        epochs=$EPOCHS
        extra=()
        if [[ $task == item2vec ]]; then
            epochs=$ITEM2VEC_EPOCHS
            extra=(--no-umap)
        fi
        echo "== $task on $dev ($epochs epochs)"
        start=$(date +%s)
        "$PYTHON" "$RUN" --task "$task" --dataset ml-100k --device "$dev" --seed "$SEED" \
            --epochs "$epochs" --quiet --out "$OUT/$task-$dev" --overwrite "${extra[@]}" \
            ${THREADS:+--threads "$THREADS"}
        echo "$(($(date +%s) - start))" > "$OUT/$task-$dev/wall_seconds.txt"
    done
done

"$PYTHON" - "$OUT" $DEVICES <<'EOF'
import json
import sys
from pathlib import Path

out, devices = Path(sys.argv[1]), sys.argv[2:]
keys = [("test", "sampled", "hr@10"), ("test", "sampled", "ndcg@10"),
        ("test", "full", "hr@10"), ("test", "full", "ndcg@10")]
report = {}
print(f"{'task':10s} {'metric':20s} " + " ".join(f"{d:>9s}" for d in devices)
      + ("      ratio" if len(devices) == 2 else ""))
for task in ("lightgcn", "neumf", "item2vec"):
    runs = {d: json.loads((out / f"{task}-{d}" / "metrics.json").read_text()) for d in devices}
    wall = {d: float((out / f"{task}-{d}" / "wall_seconds.txt").read_text()) for d in devices}
    for stage, protocol, metric in keys:
        vals = [runs[d][stage][protocol][metric] for d in devices]
        name = f"{stage} {protocol} {metric}"
        ratio = f" {vals[0] / vals[1]:10.3f}" if len(vals) == 2 and vals[1] else ""
        print(f"{task:10s} {name:20s} " + " ".join(f"{v:9.4f}" for v in vals) + ratio)
        report.setdefault(task, {})[name] = dict(zip(devices, vals))
    ratio = f" {wall[devices[0]] / max(wall[devices[1]], 1):10.3f}" if len(devices) == 2 else ""
    print(f"{task:10s} {'wall seconds':20s} " + " ".join(f"{wall[d]:9.0f}" for d in devices) + ratio)
    report[task]["wall_seconds"] = wall
(out / "compare.json").write_text(json.dumps(report, indent=2) + "\n")
print(f"wrote {out / 'compare.json'}")
EOF

# Data-parallel BPR-MF with nccl: only with more than one GPU, and only once run.py has
# --backend (torch.distributed support lands separately).
if [[ " $DEVICES " == *" cuda "* ]]; then
    ngpu=$(nvidia-smi -L 2>/dev/null | wc -l)
    if (( ngpu > 1 )); then
        if "$PYTHON" "$RUN" --task bpr --help 2>/dev/null | grep -q -- "--backend"; then
            echo "== DDP BPR-MF, nccl, $ngpu processes"
            "${TORCHRUN:-torchrun}" --nproc-per-node "$ngpu" "$RUN" --task bpr --backend nccl \
                --device cuda --seed "$SEED" --epochs "$EPOCHS" --quiet \
                --out "$OUT/bpr-ddp" --overwrite
        else
            echo "== skip DDP: this run.py has no --backend option yet"
        fi
    else
        echo "== skip DDP: $ngpu GPU(s); it needs more than one"
    fi
fi
