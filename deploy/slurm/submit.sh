#!/usr/bin/env bash
# Submits a sharded trajpipe run to Slurm as four jobs, each waiting for the one before (afterok):
#
#   1. array of N: trajpipe run --shard I/N    ingest, filter, dedup map      RUN/shards/I-of-N/
#   2. one task:   trajpipe reduce --shards N  the global dedup decision      RUN/dedup-reduce/
#   3. array of N: trajpipe run --shard I/N    dedup apply, label, segment, export part
#   4. one task:   trajpipe gather --shards N  one dataset                    RUN/export/ (and later stages)
#
# usage: deploy/slurm/submit.sh PIPELINE RUN N [sbatch options for every job ...]
#   e.g. deploy/slurm/submit.sh pipelines/nightly.yaml /shared/trajpipe/runs/2026-12-02 16 --partition=cpu --time=04:00:00
# RUN must be on a filesystem every node mounts (NFS, Lustre, ...). Prints the four job ids on stdout.
# Running the same command again resumes: finished shards and stages are skipped.
#
# Environment (all optional):
#   TRAJPIPE_BIN            the trajpipe to run (default: this clone's bin/trajpipe.js)
#   TRAJPIPE_MAX_PARALLEL   at most this many array tasks at once (sbatch --array=0-(N-1)%M)
#   TRAJPIPE_LOG_DIR        where the jobs' logs go (default: RUN/slurm-logs)
#   TRAJPIPE_SBATCH_SHARD, TRAJPIPE_SBATCH_REDUCE, TRAJPIPE_SBATCH_GATHER
#                           extra sbatch options for those jobs only (e.g. TRAJPIPE_SBATCH_REDUCE=--mem=16G)
#   TRAJPIPE_REQUEUE_STOPPED  requeue a task that stopped early (exit 3) up to this many times (default 0)
set -euo pipefail

if [ $# -lt 3 ]; then
  sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//' >&2
  exit 2
fi
pipeline=$1 run=$2 shards=$3
shift 3
case "$shards" in '' | *[!0-9]* | 0) echo "submit.sh: N must be a positive integer, got '$shards'" >&2; exit 2 ;; esac
[ -f "$pipeline" ] || { echo "submit.sh: no pipeline file $pipeline" >&2; exit 1; }
command -v sbatch >/dev/null 2>&1 || { echo "submit.sh: sbatch not found: run this on a Slurm login node" >&2; exit 1; }

here=$(cd "$(dirname "$0")" && pwd)
# Absolute paths: the jobs may start in another working directory on another node.
pipeline=$(realpath "$pipeline")
run=$(realpath -m "$run")
export TRAJPIPE_BIN=${TRAJPIPE_BIN:-$(realpath "$here/../../bin/trajpipe.js")}
logs=${TRAJPIPE_LOG_DIR:-$run/slurm-logs}
mkdir -p "$logs" # Slurm does not create the folder of --output
array="0-$((shards - 1))${TRAJPIPE_MAX_PARALLEL:+%$TRAJPIPE_MAX_PARALLEL}"
script="$here/trajpipe.sbatch"
# shellcheck disable=SC2206 # these are lists of options, split on spaces on purpose
shard_opts=(${TRAJPIPE_SBATCH_SHARD:-}) reduce_opts=(${TRAJPIPE_SBATCH_REDUCE:-}) gather_opts=(${TRAJPIPE_SBATCH_GATHER:-})

# --kill-on-invalid-dep=yes: when a phase fails the later ones are cancelled, instead of waiting
# forever with DependencyNeverSatisfied.
submit() { sbatch --parsable --kill-on-invalid-dep=yes "$@" | cut -d';' -f1; }

j1=$(submit "$@" "${shard_opts[@]}" --job-name=trajpipe-1-shard --array="$array" --output="$logs/%x-%A_%a.out" \
  "$script" shard "$pipeline" "$run" "$shards")
j2=$(submit "$@" "${reduce_opts[@]}" --job-name=trajpipe-2-reduce --dependency="afterok:$j1" --output="$logs/%x-%j.out" \
  "$script" reduce "$pipeline" "$run" "$shards")
j3=$(submit "$@" "${shard_opts[@]}" --job-name=trajpipe-3-shard --array="$array" --dependency="afterok:$j2" --output="$logs/%x-%A_%a.out" \
  "$script" shard "$pipeline" "$run" "$shards")
j4=$(submit "$@" "${gather_opts[@]}" --job-name=trajpipe-4-gather --dependency="afterok:$j3" --output="$logs/%x-%j.out" \
  "$script" gather "$pipeline" "$run" "$shards")

cat >&2 <<EOF
submitted $shards shards of $pipeline -> $run
  1 shard  (array) $j1
  2 reduce         $j2  after $j1
  3 shard  (array) $j3  after $j2
  4 gather         $j4  after $j3
watch:  squeue -j $j1,$j2,$j3,$j4      logs: $logs/
cancel: scancel $j1 $j2 $j3 $j4        resume: run this same command again
EOF
echo "$j1 $j2 $j3 $j4"
