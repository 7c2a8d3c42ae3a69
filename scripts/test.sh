#!/usr/bin/env bash
# Runs one test tier, or several: unit, store-sqlite, store-pg, api, integration, e2e.
#   scripts/test.sh unit store-sqlite          (what `make test-fast` runs)
#   scripts/test.sh all                        (what `make test` runs)
# Unit and store tests run files concurrently; integration and e2e tiers boot VMs or browsers
# and run one file at a time (--test-concurrency=1).
set -euo pipefail
cd "$(dirname "$0")/.."

NODE_TEST=(node --import tsx --test --test-reporter=spec)

list_tests() { # DIR [EXCLUDE_DIR]
  if [[ -d $1 ]]; then
    if [[ -n ${2:-} ]]; then
      find "$1" -name '*.test.ts' -not -path "$2/*" | sort
    else
      find "$1" -name '*.test.ts' | sort
    fi
  fi
}

run_files() { # LABEL CONCURRENCY FILES... ; extra env/flags via EXTRA_FLAGS
  local label=$1 conc=$2
  shift 2
  if (($# == 0)); then
    echo "== $label: no test files yet"
    return 0
  fi
  echo "== $label ($# files)"
  "${NODE_TEST[@]}" --test-concurrency="$conc" ${EXTRA_FLAGS:-} "$@"
}

tier_unit() {
  mkdir -p coverage
  mapfile -t files < <(list_tests test/unit)
  EXTRA_FLAGS="--experimental-test-coverage --test-reporter-destination=stdout --test-reporter=lcov --test-reporter-destination=coverage/lcov.info" \
    run_files "unit" 2 "${files[@]}"
  node --import tsx scripts/check-coverage.ts coverage/lcov.info src/domain 90
}

tier_store_sqlite() {
  mapfile -t files < <(list_tests test/integration/store)
  NIMBUS_TEST_DB=sqlite run_files "store on SQLite" 2 "${files[@]}"
}

tier_store_pg() {
  mapfile -t files < <(list_tests test/integration/store)
  local dir
  dir=$(mktemp -d /tmp/nimbus-pg.XXXXXX)
  chmod 755 "$dir"
  trap 'scripts/pg-test-cluster.sh stop "$dir" >/dev/null 2>&1 || true' RETURN
  local url
  url=$(scripts/pg-test-cluster.sh start "$dir" | tail -n 1)
  echo "== PostgreSQL test cluster at $url"
  NIMBUS_TEST_DB=$url run_files "store on PostgreSQL" 2 "${files[@]}"
}

tier_api() {
  mapfile -t files < <(list_tests test/integration/api)
  run_files "API and CLI against an in-process nimbusd" 2 "${files[@]}"
}

tier_integration() {
  # Everything else under test/integration boots VMs or networks: one file at a time.
  mapfile -t files < <(find test/integration -name '*.test.ts' -not -path 'test/integration/store/*' -not -path 'test/integration/api/*' | sort)
  run_files "integration (serial)" 1 "${files[@]}"
}

tier_e2e() {
  mapfile -t files < <(list_tests test/e2e)
  run_files "e2e" 1 "${files[@]}"
}

tiers=("$@")
if ((${#tiers[@]} == 0)) || [[ ${tiers[0]} == all ]]; then
  tiers=(unit store-sqlite store-pg api integration e2e)
fi
for t in "${tiers[@]}"; do
  case $t in
    unit) tier_unit ;;
    store-sqlite) tier_store_sqlite ;;
    store-pg) tier_store_pg ;;
    api) tier_api ;;
    integration) tier_integration ;;
    e2e) tier_e2e ;;
    *) echo "test.sh: unknown tier '$t' (unit, store-sqlite, store-pg, api, integration, e2e, all)" >&2; exit 2 ;;
  esac
done
echo "== all requested tiers passed: ${tiers[*]}"
