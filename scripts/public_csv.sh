#!/usr/bin/env bash
# Run `tsflow inspect` on every CSV file in DIR and say, per file, whether it read with a time
# axis (its frequency and season), without one (an integer index), or was refused (the first
# line of the message; "asks" when the message names the option that makes it read, such as
# time_format for an ambiguous day/month order or time_unit for integer times), then the
# counts. The public files this was run on, and where to fetch them, are listed in
# docs/public-csv.md.
#
#   scripts/public_csv.sh DIR [TSFLOW]     (TSFLOW: default build/pipeline/cli/tsflow)
set -u
dir=${1:?usage: scripts/public_csv.sh DIR [TSFLOW]}
tsflow=${2:-$(dirname "$0")/../build/pipeline/cli/tsflow}
[ -x "$tsflow" ] || { echo "public_csv.sh: $tsflow is not an executable (build first)" >&2; exit 2; }
n_time=0 n_index=0 n_asks=0 n_refused=0 n=0
for f in "$dir"/*.csv; do
    [ -e "$f" ] || continue
    n=$((n + 1))
    name=$(basename "$f")
    if json=$("$tsflow" inspect --json "$f" 2>/tmp/public_csv.$$); then
        freq=$(printf '%s' "$json" | sed -n 's/.*"freq": \("[^"]*"\|null\).*/\1/p' | tr -d '"')
        season=$(printf '%s' "$json" | sed -n 's/.*"season": \([0-9a-z]*\).*/\1/p')
        kind=$(printf '%s' "$json" | sed -n 's/.*"step_seconds": \([0-9a-z]*\).*/\1/p')
        if [ -n "$freq" ] && [ "$freq" != null ]; then
            n_time=$((n_time + 1))
            printf '%-52s time     freq %s, season %s\n' "$name" "$freq" "${season:-?}"
        elif [ "$kind" = null ] || [ -z "$kind" ]; then
            n_index=$((n_index + 1))
            printf '%-52s no time  (integer index)\n' "$name"
        else
            n_time=$((n_time + 1))
            printf '%-52s time     step %s s, no frequency\n' "$name" "$kind"
        fi
    else
        msg=$(grep -v '^\[' /tmp/public_csv.$$ | head -1 | sed "s|$dir/||g")
        # a refusal that names the option which makes the file read is an answer, not a failure
        if printf '%s' "$msg" | grep -qE -- '--time-format|--time-unit|--time-column|--gaps|--id-column|(^|[^_])tz ='; then
            n_asks=$((n_asks + 1))
            printf '%-52s asks     %s\n' "$name" "$msg"
        else
            n_refused=$((n_refused + 1))
            printf '%-52s refused  %s\n' "$name" "$msg"
        fi
    fi
done
rm -f /tmp/public_csv.$$
echo "files: $n; with a time axis: $n_time; without time (integer index): $n_index;" \
    "asking for an option: $n_asks; refused: $n_refused"
