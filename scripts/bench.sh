#!/usr/bin/env bash
# Runs every benchmark in bench/, or one: scripts/bench.sh template
# Each benchmark prints figures for people and, as its last line, one JSON object.
set -euo pipefail
cd "$(dirname "$0")/.."
if (($# > 0)) && [[ -n $1 ]]; then
  names=("$1")
else
  mapfile -t names < <(find bench -maxdepth 1 -name '*.ts' -printf '%f\n' | sed 's/\.ts$//' | sort)
fi
pg_dir=
cleanup() { [[ -n $pg_dir ]] && scripts/pg-test-cluster.sh stop "$pg_dir" >/dev/null 2>&1 || true; }
trap cleanup EXIT
for name in "${names[@]}"; do
  file=bench/$name.ts
  if [[ ! -f $file ]]; then
    echo "bench: no benchmark '$name' (have: $(find bench -maxdepth 1 -name '*.ts' -printf '%f ' | sed 's/\.ts//g'))" >&2
    exit 2
  fi
  # The store benchmark also measures PostgreSQL: give it a private cluster.
  if [[ $name == store && -z ${NIMBUS_BENCH_PG_URL:-} ]]; then
    pg_dir=$(mktemp -d /tmp/nimbus-pg.XXXXXX)
    chmod 755 "$pg_dir"
    NIMBUS_BENCH_PG_URL=$(scripts/pg-test-cluster.sh start "$pg_dir" | tail -n 1)
    export NIMBUS_BENCH_PG_URL
  fi
  echo "== bench $name"
  node --expose-gc --import tsx "$file"
done
