#!/usr/bin/env bash
# A throw-away PostgreSQL cluster for the store tests and benchmarks, without systemd.
#
#   scripts/pg-test-cluster.sh start DIR    initdb + start; prints postgres://postgres@127.0.0.1:PORT/nimbus_test
#                                           on stdout (and writes it to DIR/url); already running: prints it again
#   scripts/pg-test-cluster.sh stop DIR     pg_ctl stop -m fast, then removes DIR; nothing there: does nothing
#   scripts/pg-test-cluster.sh status DIR   prints the URL and exits 0 if running, exits 1 if not
#
# DIR must be under /tmp, and every parent of DIR must be traversable by the postgres user (the
# server runs as postgres when this script runs as root). Trust authentication, fsync off: test
# data only. Environment: PG_BIN (directory with initdb/pg_ctl; default: newest
# /usr/lib/postgresql/*/bin, as Debian's postgresql package installs them), PG_PORT (default: the
# first free port from 54329).
set -euo pipefail

readonly DATABASE=nimbus_test
readonly MARKER=.nimbus-pg-test-cluster

die() {
  echo "pg-test-cluster: $*" >&2
  exit 1
}

say() {
  echo "pg-test-cluster: $*" >&2
}

usage() {
  echo "usage: $0 start|stop|status DIR   (DIR under /tmp)" >&2
  exit 2
}

find_pg_bin() {
  if [[ -n "${PG_BIN:-}" ]]; then
    [[ -x "$PG_BIN/initdb" && -x "$PG_BIN/pg_ctl" ]] || die "PG_BIN=$PG_BIN has no initdb/pg_ctl"
    echo "$PG_BIN"
    return
  fi
  local candidate
  for candidate in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r || true); do
    if [[ -x "$candidate/initdb" && -x "$candidate/pg_ctl" ]]; then
      echo "$candidate"
      return
    fi
  done
  if command -v pg_config >/dev/null 2>&1; then
    candidate=$(pg_config --bindir)
    if [[ -x "$candidate/initdb" && -x "$candidate/pg_ctl" ]]; then
      echo "$candidate"
      return
    fi
  fi
  die "PostgreSQL server binaries (initdb, pg_ctl) not found; install them (apt-get install -y postgresql) or set PG_BIN"
}

# The server must not run as root: as root, run PostgreSQL's tools as the postgres user.
as_owner() {
  if [[ $EUID -eq 0 ]]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

port_in_use() {
  (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

pick_port() {
  if [[ -n "${PG_PORT:-}" ]]; then
    port_in_use "$PG_PORT" && die "PG_PORT=$PG_PORT is already in use on 127.0.0.1"
    echo "$PG_PORT"
    return
  fi
  local port
  for port in $(seq 54329 54428); do
    if ! port_in_use "$port"; then
      echo "$port"
      return
    fi
  done
  die "no free port in 54329-54428 on 127.0.0.1; set PG_PORT"
}

is_running() {
  [[ -f "$DATA/postmaster.pid" ]] && as_owner "$PG_BIN/pg_ctl" -D "$DATA" status >/dev/null 2>&1
}

url_for() {
  echo "postgres://postgres@127.0.0.1:$1/$DATABASE"
}

start() {
  if [[ -d "$DIR" && -f "$DIR/$MARKER" ]] && is_running; then
    say "already running in $DIR"
    cat "$DIR/url"
    return
  fi
  [[ ! -e "$DIR" || -f "$DIR/$MARKER" || -z "$(ls -A "$DIR")" ]] ||
    die "$DIR exists and is not a test cluster made by this script; choose another DIR"

  if [[ $EUID -eq 0 ]]; then
    id postgres >/dev/null 2>&1 || die "user postgres does not exist (it comes with the postgresql package)"
    local ancestor
    ancestor=$(dirname "$DIR")
    while [[ ! -d "$ancestor" ]]; do ancestor=$(dirname "$ancestor"); done
    as_owner test -x "$ancestor" || die "user postgres cannot reach $DIR: $ancestor (or a parent) is not traversable;" \
      "chmod o+x it, or use a DIR like /tmp/nimbus-pg"
  fi
  mkdir -p "$DIR"
  touch "$DIR/$MARKER"
  if [[ $EUID -eq 0 ]]; then
    chown postgres:postgres "$DIR"
    chmod 0700 "$DIR"
    as_owner test -x "$DIR" || die "user postgres cannot reach $DIR (check the mode of its parents and the umask)"
  fi

  if [[ ! -f "$DATA/PG_VERSION" ]]; then
    say "initdb in $DATA ($PG_BIN)"
    as_owner "$PG_BIN/initdb" -D "$DATA" -U postgres -A trust --no-sync -E UTF8 --locale=C >"$DIR/initdb.log" 2>&1 ||
      die "initdb failed; see $DIR/initdb.log: $(tail -n 5 "$DIR/initdb.log")"
  fi

  local port
  if [[ -f "$DIR/port" ]] && ! port_in_use "$(cat "$DIR/port")"; then
    port=$(cat "$DIR/port")
  else
    port=$(pick_port)
  fi
  echo "$port" >"$DIR/port"

  say "starting on 127.0.0.1:$port (socket in $DIR)"
  as_owner "$PG_BIN/pg_ctl" -D "$DATA" -l "$DIR/server.log" -w -t 60 \
    -o "-c listen_addresses=127.0.0.1 -p $port -c unix_socket_directories=$DIR -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200" \
    start >/dev/null || die "the server did not start; see $DIR/server.log: $(tail -n 5 "$DIR/server.log" 2>/dev/null)"

  local psql=("$PG_BIN/psql" -h "$DIR" -p "$port" -U postgres -d postgres -v ON_ERROR_STOP=1 -qtA)
  [[ -x "$PG_BIN/psql" ]] || psql[0]=psql
  if [[ "$(as_owner "${psql[@]}" -c "select 1 from pg_database where datname = '$DATABASE'")" != 1 ]]; then
    as_owner "${psql[@]}" -c "create database $DATABASE" >/dev/null || die "could not create database $DATABASE"
  fi

  url_for "$port" >"$DIR/url"
  cat "$DIR/url"
}

stop() {
  if [[ ! -e "$DIR" ]]; then
    say "nothing in $DIR; nothing to stop"
    return
  fi
  [[ -f "$DIR/$MARKER" ]] || die "$DIR is not a test cluster made by this script; not touching it"
  if is_running; then
    say "stopping the server in $DIR"
    as_owner "$PG_BIN/pg_ctl" -D "$DATA" -m fast -w -t 60 stop >/dev/null ||
      die "pg_ctl stop failed; see $DIR/server.log"
  fi
  rm -rf -- "$DIR"
}

status() {
  if [[ -f "$DIR/$MARKER" ]] && is_running; then
    cat "$DIR/url"
  else
    say "no server running in $DIR"
    exit 1
  fi
}

[[ $# -eq 2 ]] || usage
COMMAND=$1
DIR=$(realpath -m -- "$2")
[[ "$DIR" =~ ^/tmp/[A-Za-z0-9._/-]+$ ]] ||
  die "DIR must be under /tmp and made of letters, digits and ._/- (got $DIR)"
DATA=$DIR/data
PG_BIN=$(find_pg_bin)

case "$COMMAND" in
  start) start ;;
  stop) stop ;;
  status) status ;;
  *) usage ;;
esac
