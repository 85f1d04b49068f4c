#!/usr/bin/env bash
# A seed-style steering study through the command line alone, on the embedded SmolLM2, offline, on a CPU:
#   extract -> sweep -> generate -> judge (a local llama.cpp judge behind a Batch API stand-in) -> report.
# Every step reads the files the step before wrote; each is one `steernb` command (see `steernb CMD --help`).
# With a real provider, replace the served judge by `--judge https://api.openai.com/v1 --judge-model gpt-4o-mini`.
#   usage: tools/cli_pipeline.sh [OUT_DIR]      (default: ./cli_pipeline; a re-run resumes what is there)
set -euo pipefail
out=${1:-cli_pipeline}
mkdir -p "$out"
SECONDS=0
step() { printf '\n== %s (%ss)\n' "$1" "$SECONDS"; }

step 'extract: joy vectors at three layers from the shipped contrastive prompts'
steernb extract --concept joy --layers 9,12,15 --out "$out/joy.safetensors"

step 'sweep: P(joy tokens) on neutral contexts over layers x alphas (a resumable store)'
steernb sweep --vectors "$out/joy.safetensors" --alphas 2,4,8 --n-contexts 8 --store "$out/sweep" \
  --out "$out/sweep.parquet"

step 'generate: greedy replies, unsteered and steered at layer 12'
steernb generate --vectors "$out/joy.safetensors" --layer 12 --alphas 0,4,8 --max-new-tokens 24 \
  --prompt 'How was your weekend?' --prompt 'What do you think about rainy days?' \
  --out "$out/generations.parquet"

step 'judge: serve the embedded GGUF with llama.cpp and a local Batch API stand-in'
rm -f "$out/judge.json"
steernb judge serve --batch --url-file "$out/judge.json" > "$out/judge-server.log" 2>&1 &
server=$!
trap 'kill $server 2>/dev/null || true' EXIT
for _ in $(seq 300); do [[ -s $out/judge.json ]] && break; sleep 0.2; done
[[ -s $out/judge.json ]] || { echo "the judge server did not start:"; cat "$out/judge-server.log"; exit 1; }
url() { python -c "import json, sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])" "$out/judge.json" "$1"; }
batch=$(url batch)
completions=$(url completions)
# digit rounds with the embedded tokenizer (<= 3 requests a score), scores to within 2 points (fewer prompts), and
# no llama.cpp prompt cache: every reading is then independent of the ones before, so batch equals direct
judge=(--judge-model smollm2 --tokenizer default --tol 2 --no-prompt-cache)

step 'judge: 0-100 joy scores through the Batch API (dry run, submit, status, collect)'
# (add coherence with --metrics trait,coherence: grammar digits and a relevance question, twice the requests)
steernb judge batch submit "$out/generations.parquet" --folder "$out/judge-batch" --judge "$batch" "${judge[@]}" \
  --metrics trait --trait joy --dry-run
steernb judge batch submit "$out/generations.parquet" --folder "$out/judge-batch" --judge "$batch" "${judge[@]}" \
  --metrics trait --trait joy
steernb judge batch status --folder "$out/judge-batch"
steernb judge batch collect --folder "$out/judge-batch" --out "$out/judged.parquet" --wait --poll-s 1

step 'judge: the same readings directly (no Batch API), to compare'
steernb judge score "$out/generations.parquet" --out "$out/judged-direct.parquet" --judge "$completions" \
  "${judge[@]}" --concurrency 1 --metrics trait --trait joy

step 'judge: pairwise, each steered reply against the unsteered one (both orders)'
steernb judge rank "$out/generations.parquet" --rubric joy --out "$out/ranked.parquet" --judge "$completions" \
  "${judge[@]}"

step 'report: one steering-strength run of joy, judged by the served model'
steernb report steering_strength -p concept=joy -p layers=9-15 -p n_layers=3 -p 'alphas=[0, 4, 8]' \
  -p n_contexts=6 -p n_chunks=2 -p chunk_tokens=64 -p n_mmlu=6 -p n_judge_prompts=1 -p max_new_tokens=16 \
  -p "judge=$completions" -p judge_model=smollm2 --out "$out/runs"

step "done: the tables and the report's figures are in $out"
