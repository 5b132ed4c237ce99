#!/usr/bin/env bash
# CI: the sharded pipeline on a real Slurm. Installs slurm-wlm and munge from the machine's Debian
# packages when missing, starts munged, slurmctld and slurmd on this machine with the project's
# one-node configuration (deploy/slurm/test-cluster/slurm.conf, rendered into a fresh folder with free
# ports), then
#   1. checks the batch scripts' plumbing with a stand-in trajpipe (test/fixtures/slurm/fake-trajpipe.sh):
#      a task that stops early (exit 3) fails its array job and cancels the later phases, and the same
#      submit command run again completes; a task near its time limit requeues itself;
#   2. submits the sample pipeline with deploy/slurm/submit.sh (sbatch --array, four chained jobs),
#      requeues one running phase-3 task on the way (what a preemption does), waits for the jobs, and
#      compares the export byte for byte with a single-process run of the same pipeline.
# If Slurm cannot be installed or started it says so LOUDLY and exits 1: the check fails, it never
# passes in silence. Daemons and jobs are stopped at the end, on failure too.
# Usage: scripts/slurm-check.sh   (as root; SLURM_CHECK_SHARDS=4, SLURM_CHECK_KEEP=1 keeps the state folder)
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)
shards=${SLURM_CHECK_SHARDS:-4}
t0=$(date +%s)

say() { echo "slurm-check: $*"; }
fail() {
  printf '\n*****************************************************************\n' >&2
  printf '***** SLURM CHECK FAILED: %s\n' "$*" >&2
  printf '*****************************************************************\n\n' >&2
  exit 1
}

[ "$(id -u)" = 0 ] || fail "it must run as root (it installs slurm-wlm and munge and starts their daemons); the Slurm check did NOT run"

state=$(mktemp -d /tmp/trajpipe-slurm-check.XXXXXX)
daemons=() # pids of the daemons this script started, stopped in reverse order
cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  if [ ${#daemons[@]} -gt 0 ]; then
    # Our slurmctld knows only this check's jobs: cancel them all before the daemons go.
    timeout 10 scancel --user=root >/dev/null 2>&1 || true
    sleep 1
    local i pid
    for ((i = ${#daemons[@]} - 1; i >= 0; i--)); do
      pid=${daemons[$i]}
      kill -TERM "$pid" 2>/dev/null || continue
      for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
      kill -KILL "$pid" 2>/dev/null || true
    done
  fi
  if [ "$rc" != 0 ]; then
    for f in "$state"/slurmctld.log "$state"/slurmd.log "$state"/*/slurm-logs/*.out; do
      [ -f "$f" ] || continue
      echo "----- last lines of $f" >&2
      tail -n 15 "$f" >&2
    done
  fi
  if [ "${SLURM_CHECK_KEEP:-0}" = 1 ]; then echo "slurm-check: state kept in $state" >&2; else rm -rf "$state"; fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- install --------------------------------------------------------------------------------------
missing=0
for bin in munged slurmctld slurmd sbatch squeue scontrol; do command -v "$bin" >/dev/null 2>&1 || missing=1; done
if [ "$missing" = 1 ]; then
  say "installing slurm-wlm and munge from the Debian packages"
  if ! { DEBIAN_FRONTEND=noninteractive apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq slurm-wlm munge; } >"$state/apt.log" 2>&1; then
    tail -n 20 "$state/apt.log" >&2
    fail "cannot install slurm-wlm and munge with apt-get (log above): the Slurm check did NOT run"
  fi
fi

# --- start a one-node cluster ---------------------------------------------------------------------
free_port() {
  local p
  for _ in $(seq 100); do
    p=$((20000 + RANDOM % 40000))
    [ "$p" = "${1:-}" ] && continue
    # Nothing answers on it: free (good enough on a CI machine).
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then echo "$p"; return 0; fi
  done
  return 1
}
ctld_port=$(free_port) || fail "no free TCP port for slurmctld"
slurmd_port=$(free_port "$ctld_port") || fail "no free TCP port for slurmd"
cpus=$(nproc)
[ "$cpus" -ge 2 ] || cpus=2
host=$(hostname -s)
mkdir -p "$state/ctld" "$state/slurmd"
sed -e "s#@STATE@#$state#g" -e "s#@HOSTNAME@#$host#g" -e "s#@CTLD_PORT@#$ctld_port#g" \
  -e "s#@SLURMD_PORT@#$slurmd_port#g" -e "s#@CPUS@#$cpus#g" -e "s#@MEMORY_MB@#1024#g" \
  deploy/slurm/test-cluster/slurm.conf >"$state/slurm.conf"
export SLURM_CONF="$state/slurm.conf"

# A private munged (own key and socket, named in slurm.conf's AuthInfo): the machine's own is not touched.
dd if=/dev/urandom of="$state/munge.key" bs=1024 count=1 status=none
chmod 600 "$state/munge.key"
munged --foreground --force --socket="$state/munge.socket" --key-file="$state/munge.key" \
  --pid-file="$state/munged.pid" --log-file="$state/munged.log" --seed-file="$state/munged.seed" >/dev/null 2>&1 &
daemons+=($!)
for _ in $(seq 50); do [ -S "$state/munge.socket" ] && break; sleep 0.2; done
[ -S "$state/munge.socket" ] || fail "munged did not start (see $state/munged.log): the Slurm check did NOT run"
slurmctld -D -f "$SLURM_CONF" >>"$state/slurmctld.log" 2>&1 &
daemons+=($!)
slurmd -D -f "$SLURM_CONF" -N trajpipe-node >>"$state/slurmd.log" 2>&1 &
daemons+=($!)
up=0
for _ in $(seq 60); do
  if [ "$(sinfo -h -n trajpipe-node -o %t 2>/dev/null)" = idle ]; then up=1; break; fi
  sleep 1
done
[ "$up" = 1 ] || fail "the one-node Slurm did not come up within a minute (logs below): the Slurm check did NOT run"
say "Slurm $(sinfo -V | cut -d' ' -f2) up in $(($(date +%s) - t0)) s: node trajpipe-node, $cpus CPUs, ports $ctld_port/$slurmd_port"

# --- helpers --------------------------------------------------------------------------------------
# The state of every task of the given jobs (scontrol keeps finished jobs for MinJobAge).
# A job scontrol cannot show at this moment counts as UNKNOWN (not finished).
states() {
  local id out
  for id in "$@"; do
    out=$(scontrol show job -o "$id" 2>/dev/null | grep -oE 'JobState=[A-Z_]+' | cut -d= -f2 || true)
    echo "${out:-UNKNOWN}"
  done
}
wait_jobs() { # wait_jobs SECONDS ID...
  local limit=$1 s now
  shift
  for ((s = 0; s < limit; s++)); do
    # (into a variable first: with pipefail, grep -q closing the pipe early would fail the pipeline)
    now=$(states "$@")
    if ! grep -qvE '^(COMPLETED|FAILED|CANCELLED|TIMEOUT|NODE_FAIL|OUT_OF_MEMORY|BOOT_FAIL|DEADLINE)$' <<<"$now"; then return 0; fi
    sleep 1
  done
  squeue >&2
  fail "jobs $* did not finish within $limit s"
}
expect_all() { # expect_all STATE ID...
  local want=$1 id got
  shift
  for id in "$@"; do
    got=$(states "$id" | sort -u | tr '\n' ' ')
    [ "$got" = "$want " ] || fail "job $id ended $got, expected $want"
  done
}

# --- 1. the scripts' plumbing, with a stand-in trajpipe -------------------------------------------
fake="$repo/test/fixtures/slurm/fake-trajpipe.sh"
say "plumbing: shard 0 stops early (exit 3) -> its array job fails and the later phases are cancelled"
ids=$(TRAJPIPE_BIN="$fake" FAKE_STOP_SHARD=0 deploy/slurm/submit.sh pipelines/sample.yaml "$state/fake" 2 2>/dev/null) || fail "submit.sh failed"
read -r a b c d <<<"$ids"
wait_jobs 120 "$a" "$b" "$c" "$d"
got=$(states "$a" | sort | tr '\n' ' ')
[ "$got" = "COMPLETED FAILED " ] || fail "phase 1 ended $got, expected one task FAILED (exit 3) and one COMPLETED"
expect_all CANCELLED "$b" "$c" "$d"
grep -q 'STOPPED EARLY' "$state/fake/slurm-logs/trajpipe-1-shard-${a}_0.out" || fail "the stopped task's log does not say it STOPPED EARLY"
say "plumbing: the same submit command again completes all four phases"
ids=$(TRAJPIPE_BIN="$fake" deploy/slurm/submit.sh pipelines/sample.yaml "$state/fake" 2 2>/dev/null) || fail "submit.sh failed"
read -r a b c d <<<"$ids"
wait_jobs 120 "$a" "$b" "$c" "$d"
expect_all COMPLETED "$a" "$b" "$c" "$d"
[ -f "$state/fake/export/done" ] || fail "the stand-in gather wrote no export"

# Near the time limit the batch script stops trajpipe and requeues the task (--signal=B:USR1@120; here
# @55 of a one-minute limit). It runs while the single-process reference below runs.
say "plumbing: a task near its time limit stops trajpipe and requeues itself (in the background)"
limit=$(TRAJPIPE_BIN="$fake" FAKE_SLEEP=600 sbatch --parsable --array=0 --time=1 --signal=B:USR1@55 \
  --output="$state/limit-%A_%a.out" deploy/slurm/trajpipe.sbatch shard "$repo/pipelines/sample.yaml" "$state/limit" 1) ||
  fail "sbatch failed"

# --- 2. the real pipeline: sharded on Slurm against one process -----------------------------------
say "reference: trajpipe run pipelines/sample.yaml in one process"
node bin/trajpipe.js run pipelines/sample.yaml --out "$state/single" --quiet

limit_log="$state/limit-${limit}_0.out"
for _ in $(seq 120); do grep -q 'requeueing' "$limit_log" 2>/dev/null && break; sleep 1; done
grep -q 'the time limit is near' "$limit_log" 2>/dev/null && grep -q 'requeueing' "$limit_log" ||
  fail "the task near its time limit did not stop and requeue itself"
# Slurm holds a requeued job back for about two minutes: let it start again at once, see attempt 2, cancel it.
for _ in $(seq 30); do
  scontrol update JobId="${limit}_0" StartTime=now >/dev/null 2>&1 || true
  grep -q 'attempt 2' "$limit_log" && break
  sleep 1
done
grep -q 'attempt 2' "$limit_log" || fail "the requeued task did not start again"
scancel "$limit"
say "plumbing: the time-limit requeue works (attempt 2 started)"
say "submitting pipelines/sample.yaml as $shards shards: deploy/slurm/submit.sh"
ids=$(deploy/slurm/submit.sh pipelines/sample.yaml "$state/sharded" "$shards") || fail "submit.sh failed"
read -r a b c d <<<"$ids"

# A preemption, as Slurm does it: requeue one running phase-3 task (SIGTERM, back to the queue). Slurm
# holds a requeued job back for about two minutes; the check lets it start again at once.
victim=''
for _ in $(seq 600); do
  victim=$(squeue -h -j "$c" -t RUNNING -o %i 2>/dev/null | head -n 1)
  [ -n "$victim" ] && break
  now=$(states "$c")
  grep -qE '^(PENDING|RUNNING|CONFIGURING)$' <<<"$now" || break
  sleep 0.5
done
if [ -n "$victim" ]; then
  sleep 1
  scontrol requeue "$victim" || fail "scontrol requeue $victim failed"
  for _ in $(seq 20); do scontrol update JobId="$victim" StartTime=now >/dev/null 2>&1 && break; sleep 0.5; done
  say "requeued running task $victim (a preemption); it must resume and change nothing"
else
  fail "no phase-3 task was seen running, so the preemption was not exercised"
fi
wait_jobs 900 "$a" "$b" "$c" "$d"
expect_all COMPLETED "$a" "$b" "$c" "$d"
restarts=$(scontrol show job -o "$victim" | grep -oE 'Restarts=[0-9]+' | cut -d= -f2)
[ "${restarts:-0}" -ge 1 ] || fail "task $victim shows Restarts=${restarts:-?}: the requeue did not happen"

# --- compare --------------------------------------------------------------------------------------
compare_stage() { # every file byte for byte, except the manifest, whose timings differ: its outputs must match
  local stage=$1 f
  [ -d "$state/sharded/$stage" ] || fail "the sharded run has no $stage/ folder"
  diff <(cd "$state/single/$stage" && find . -type f | sort) <(cd "$state/sharded/$stage" && find . -type f | sort) >&2 ||
    fail "$stage/: the sharded run wrote other files than the single-process run (diff above)"
  while IFS= read -r f; do
    [ "$(basename "$f")" = manifest.json ] && continue
    cmp "$state/single/$stage/$f" "$state/sharded/$stage/$f" >&2 || fail "$stage/$f differs from the single-process run"
  done < <(cd "$state/single/$stage" && find . -type f | sort)
  node -e '
    const [a, b] = process.argv.slice(1).map((p) => JSON.parse(require("fs").readFileSync(p, "utf8")));
    const pick = (m) => JSON.stringify({ records_out: m.records_out, outputs: m.outputs });
    if (pick(a) !== pick(b)) { console.error("manifest outputs differ"); process.exit(1); }
  ' "$state/single/$stage/manifest.json" "$state/sharded/$stage/manifest.json" || fail "$stage/manifest.json: outputs differ"
}
compare_stage export
compared="export/"
# The stages gather runs after export (tokenize, formats), where the pipeline has them.
for stage in tokenize formats; do
  [ -d "$state/single/$stage" ] || continue
  compare_stage "$stage"
  compared="$compared $stage/"
done
files=$(cd "$state/single" && find $compared -type f | wc -l)
say "PASSED: $compared of $shards Slurm shards (one task requeued mid-run) byte-identical to the single-process run ($files files); $(($(date +%s) - t0)) s in all"
