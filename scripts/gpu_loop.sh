#!/usr/bin/env bash
# The real-engine loop on a GPU machine: serve vLLM or SGLang with cache reporting, replay a dataset, calibrate a
# GPU preset, replay an unseen dataset against the engine and against serve-sim with the preset, compare.
#
#   scripts/gpu_loop.sh MODEL_DIR [vllm|sglang]          (run from the project root, after ./dev setup)
#
# MODEL_DIR is a local Hugging Face model folder (no weights are downloaded). The engine must be importable by
# $ENGINE_PYTHON (default: python3 on PATH). Environment knobs: PORT (8000), SESSIONS (40), PRESET (gpu-<engine>),
# OUT (outputs/gpu_loop/<UTC stamp>), MAX_BATCHED (8192), MAX_SEQS (256), MATCH_REPLAY (0), SWEEP (agenttrace calibrate options),
# KV_BLOCKS (unset: the engine sizes its cache; vLLM reports it in /metrics),
# BLOCK (tokens per KV block: vLLM's GPU default 16; SGLang's radix cache is token-granular, use 1).
# The engine runs in its own process group and is stopped on exit, error or Ctrl-C.
set -euo pipefail
cd "$(dirname "$0")/.."
MODEL=${1:?usage: scripts/gpu_loop.sh MODEL_DIR [vllm|sglang]}
ENGINE=${2:-vllm}
PORT=${PORT:-8000}
SESSIONS=${SESSIONS:-40}
PRESET=${PRESET:-gpu-$ENGINE}
BLOCK=${BLOCK:-16}
MAXB=${MAX_BATCHED:-8192}  # prefill tokens per step, given to the engine and to the preset
SWEEP=${SWEEP:---prompt-sizes 128,1024,4096,8192,16000 --concurrency 1,4,16,64}  # agenttrace calibrate options
PY=${ENGINE_PYTHON:-python3}
OUT=${OUT:-outputs/gpu_loop/$(date -u +%Y%m%d-%H%M%S)}
AT=.venv/bin/agenttrace
mkdir -p "$OUT"
URL=http://127.0.0.1:$PORT

case "$ENGINE" in
  vllm)
    # --enable-prompt-tokens-details puts usage.prompt_tokens_details.cached_tokens in every response
    cmd=("$PY" -m vllm.entrypoints.openai.api_server --model "$MODEL" --served-model-name served --host 127.0.0.1
         --port "$PORT" --enable-prefix-caching --enable-prompt-tokens-details --max-model-len 16384
         --max-num-batched-tokens "$MAXB" --max-num-seqs "${MAX_SEQS:-256}")
    [ -n "${KV_BLOCKS:-}" ] && cmd+=(--num-gpu-blocks-override "$KV_BLOCKS")
    [ "$BLOCK" != 16 ] && cmd+=(--block-size "$BLOCK") ;;
  sglang)
    # --enable-cache-report: cached_tokens in usage; --enable-metrics: sglang:cached_tokens_total / prompt_tokens_total
    cmd=("$PY" -m sglang.launch_server --model-path "$MODEL" --served-model-name served --host 127.0.0.1
         --port "$PORT" --enable-cache-report --enable-metrics --context-length 16384 --chunked-prefill-size "$MAXB"
         --max-running-requests "${MAX_SEQS:-256}") ;;
  *) echo "engine must be vllm or sglang, got $ENGINE" >&2; exit 2 ;;
esac

setsid "${cmd[@]}" >"$OUT/engine.log" 2>&1 &
pgid=$!
stop() { kill -TERM -- "-$pgid" 2>/dev/null || true; sleep 5; kill -KILL -- "-$pgid" 2>/dev/null || true; }
trap stop EXIT
trap 'exit 130' INT TERM
echo "waiting for $ENGINE on $URL (log $OUT/engine.log) ..."
for _ in $(seq 900); do
  curl -sf "$URL/health" >/dev/null && break
  kill -0 "$pgid" 2>/dev/null || break  # the engine exited: no use waiting
  sleep 1
done
curl -sf "$URL/health" >/dev/null || { tail -n 5 "$OUT/engine.log" >&2; echo "error: $ENGINE did not start; see $OUT/engine.log" >&2; exit 1; }

# KV geometry: vLLM reports what it really uses (its CPU build, for one, picks 128-token blocks); for SGLang pass
# KV_BLOCKS (its max_total_num_tokens / BLOCK) for the prediction
if [ "$ENGINE" = vllm ]; then
  info=$(curl -s "$URL/metrics" | grep '^vllm:cache_config_info{' || true)
  n=$(sed -n 's/.*[{,]num_gpu_blocks="\([0-9]*\)".*/\1/p' <<<"$info")
  b=$(sed -n 's/.*[{,]block_size="\([0-9]*\)".*/\1/p' <<<"$info")
  KV_BLOCKS=${n:-${KV_BLOCKS:-}}
  BLOCK=${b:-$BLOCK}
fi
geo=(); [ -n "${KV_BLOCKS:-}" ] && geo=(--capacity-blocks "$KV_BLOCKS" --block-tokens "$BLOCK")
echo "KV cache: ${KV_BLOCKS:-unknown} blocks × $BLOCK tokens"

# two datasets that fit a 16k context: A (profile cpu-agent, seed 1) to replay and calibrate, B (cpu-chat, seed 2)
# unseen — the same profiles as the CPU loop (agenttrace_pipeline/calibration/workloads.py)
mapfile -t DS < <(.venv/bin/python -c "
from pathlib import Path
from agenttrace_pipeline.calibration.workloads import make_dataset
for name, seed in (('cpu-agent', 1), ('cpu-chat', 2)):
    print(make_dataset(name, sessions=$SESSIONS, seed=seed, root=Path('$OUT/datasets')))")
A=${DS[0]}
B=${DS[1]}

$AT replay --input "$A" --url "$URL" --model served --kind "$ENGINE" "${geo[@]}" --json "$OUT/replay_A.json" \
  --requests "$OUT/replay_A.parquet"
# the sweep; with MATCH_REPLAY=1 the preset is then matched to replay A by simulation (calibration/refine.py)
match=(); [ "${MATCH_REPLAY:-0}" = 1 ] && match=(--replay-requests "$OUT/replay_A.parquet" --replay-dataset "$A")
# shellcheck disable=SC2086  # SWEEP is a list of options
$AT calibrate --url "$URL" --model served --name "$PRESET" --output "$OUT/presets/$PRESET.json" "${geo[@]}" \
  --max-model-len 16384 --max-batch-tokens "$MAXB" --max-seqs "${MAX_SEQS:-256}" $SWEEP "${match[@]}"
$AT replay --input "$B" --url "$URL" --model served --kind "$ENGINE" "${geo[@]}" --json "$OUT/replay_B_engine.json" \
  --predict-engine "$OUT/presets/$PRESET.json"
stop; trap - EXIT

# the same unseen dataset against the simulated engine with the calibrated preset and the engine's geometry
# (vLLM counts in num_gpu_blocks one block it never caches in: its null block)
SIM_BLOCKS=${KV_BLOCKS:-25000}
[ "$ENGINE" = vllm ] && [ -n "${KV_BLOCKS:-}" ] && SIM_BLOCKS=$((KV_BLOCKS - 1))
simgeo=(--capacity-blocks "$SIM_BLOCKS" --block-tokens "$BLOCK")
SIMPORT=$((PORT + 1))
setsid $AT serve-sim --port "$SIMPORT" --engine "$OUT/presets/$PRESET.json" --capacity-blocks "$SIM_BLOCKS" \
  --block-tokens "$BLOCK" --max-seqs "${MAX_SEQS:-256}" >"$OUT/serve-sim.log" 2>&1 &
simpg=$!
trap 'kill -TERM -- "-$simpg" 2>/dev/null || true' EXIT
for _ in $(seq 60); do curl -sf "http://127.0.0.1:$SIMPORT/health" >/dev/null && break; sleep 0.5; done
$AT replay --input "$B" --url "http://127.0.0.1:$SIMPORT" --model sim --kind sim "${simgeo[@]}" --json "$OUT/replay_B_sim.json" \
  --predict-engine "$OUT/presets/$PRESET.json"

.venv/bin/python - "$OUT/replay_B_engine.json" "$OUT/replay_B_sim.json" <<'PY'
import json, sys
e, s = (json.load(open(p)) for p in sys.argv[1:3])
rows = [("TTFT p50", e["summary"]["ttft_ms"]["p50"], s["summary"]["ttft_ms"]["p50"], 0.15),
        ("TTFT p90", e["summary"]["ttft_ms"]["p90"], s["summary"]["ttft_ms"]["p90"], 0.25),
        ("e2e p50", e["summary"]["e2e_ms"]["p50"], s["summary"]["e2e_ms"]["p50"], 0.15)]
for name, a, b, tol in rows:
    err = (b - a) / a
    print(f"{name:9} engine {a:9.1f} ms  sim {b:9.1f} ms  error {err:+7.1%}  (target {tol:.0%}) {'ok' if abs(err) <= tol else 'MISSED'}")
he, hs = e["hit_rates"]["server_counters"], s["hit_rates"]["server_counters"]
if he is not None and hs is not None:
    pp = 100 * (hs - he)
    print(f"hit rate  engine {100 * he:6.2f} %  sim {100 * hs:6.2f} %  error {pp:+.2f} pp (target 1 pp) {'ok' if abs(pp) <= 1 else 'MISSED'}")
PY
echo "outputs in $OUT (preset $OUT/presets/$PRESET.json)"
