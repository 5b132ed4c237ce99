#!/usr/bin/env bash
# Runs the four phases of a sharded trajpipe run on Kubernetes, in order. Kubernetes has no dependencies
# between Jobs, so this applies each phase's Job and waits until it has completed before the next.
# usage: deploy/kubernetes/run.sh [kubectl options, e.g. -n trajpipe]
# Rerunning it resumes: a Job that already completed is kept (and skipped), a failed one is deleted and
# applied again, and trajpipe skips every finished shard and stage.
# Env: TRAJPIPE_K8S_TIMEOUT (per phase, default 24h).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
k=(kubectl "$@")
timeout=${TRAJPIPE_K8S_TIMEOUT:-24h}

"${k[@]}" apply -f "$here/0-volume.yaml"
for phase in 1-shard 2-reduce 3-shard 4-gather; do
  job="trajpipe-$phase"
  if "${k[@]}" get "job/$job" -o jsonpath='{.status.conditions[?(@.type=="Complete")].status}' 2>/dev/null | grep -q True; then
    echo "run.sh: $job already completed"
    continue
  fi
  # A Job's pod template cannot be changed and a failed Job does not start again: replace it.
  "${k[@]}" delete "job/$job" --ignore-not-found --wait=true >/dev/null
  "${k[@]}" apply -f "$here/$phase.yaml"
  echo "run.sh: waiting for $job (kubectl logs -f -l job-name=$job --prefix --max-log-requests 64)"
  # Wait for Complete or Failed, whichever comes first.
  "${k[@]}" wait "job/$job" --for=condition=Complete --timeout="$timeout" >/dev/null 2>&1 &
  ok=$!
  "${k[@]}" wait "job/$job" --for=condition=Failed --timeout="$timeout" >/dev/null 2>&1 &
  bad=$!
  while kill -0 "$ok" 2>/dev/null && kill -0 "$bad" 2>/dev/null; do sleep 5; done
  if "${k[@]}" get "job/$job" -o jsonpath='{.status.conditions[?(@.type=="Complete")].status}' | grep -q True; then
    kill "$bad" 2>/dev/null || true
    echo "run.sh: $job completed"
    continue
  fi
  kill "$ok" "$bad" 2>/dev/null || true
  {
    echo "*** run.sh: $job did not complete. Its failed pods (an exit code 3 means trajpipe stopped early:"
    echo "*** a labelling budget cap or an unreachable teacher; nothing is lost):"
    "${k[@]}" get pods -l "job-name=$job" --field-selector=status.phase=Failed \
      -o custom-columns='POD:.metadata.name,INDEX:.metadata.annotations.batch\.kubernetes\.io/job-completion-index,EXIT:.status.containerStatuses[0].state.terminated.exitCode' || true
    echo "*** Read their logs (kubectl logs POD), fix the cause, then run deploy/kubernetes/run.sh again: it resumes."
  } >&2
  exit 1
done
echo "run.sh: done; the dataset is in the volume at /data/runs/nightly/export/"
