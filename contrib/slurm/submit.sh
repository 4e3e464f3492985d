#!/bin/bash
# contrib/slurm/submit.sh N — submits the N-shard array and its merge; prints
# "ARRAY_JOB_ID MERGE_JOB_ID".  Same environment as the two job scripts;
# extra sbatch options (partition, account) in NM_SBATCH_ARGS.
set -euo pipefail
N=${1:?usage: submit.sh N (number of shards)}
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
# shellcheck disable=SC2206
extra=(${NM_SBATCH_ARGS:-})
array=$(sbatch --parsable "${extra[@]}" --array="1-$N" "$HERE/nearmiss-shard.sbatch")
array=${array%%;*}
merge=$(sbatch --parsable "${extra[@]}" --dependency="afterok:$array" --kill-on-invalid-dep=yes \
    --export="ALL,NM_ARRAY_JOB=$array" "$HERE/nearmiss-merge.sbatch")
echo "$array ${merge%%;*}"
