#!/usr/bin/env bash
# A throwaway PostgreSQL cluster for the saga tests (tests/Asupersync.Sagas.Tests need it and fail without it).
#
#   eval "$(bash .ci/postgres.sh start)"   # installs Debian's postgresql if missing, starts a cluster on
#                                          # 127.0.0.1:$PGPORT (default 54329, or the next free port) in a temp dir, creates the
#                                          # database, prints: export ASUPERSYNC_PG=...; export ASUPERSYNC_PG_DIR=...
#   bash .ci/postgres.sh stop              # stops it and removes the data dir ($ASUPERSYNC_PG_DIR)
#
# As root, initdb/pg_ctl run as the `postgres` OS user the Debian package creates (PostgreSQL refuses root).
# Everything except the final export lines goes to standard error.
set -euo pipefail
port="${PGPORT:-54329}"
db="asupersync_sagas"

as_pg() {
  if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

bindir() {
  local d
  d=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
  [ -n "$d" ] && [ -x "$d/initdb" ] && echo "$d"
}

case "${1:-}" in
  start)
    if ! bindir >/dev/null; then
      echo "postgres.sh: installing postgresql" >&2
      (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql) >&2
    fi
    bin=$(bindir) || { echo "postgres.sh: no PostgreSQL binaries under /usr/lib/postgresql" >&2; exit 1; }
    # Take the next free port if the default one is busy (another cluster of a developer, say).
    for _ in $(seq 1 20); do
      (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null || break
      port=$((port + 1))
    done
    dir=$(mktemp -d /tmp/asupersync-pg.XXXXXX)
    [ "$(id -u)" -eq 0 ] && chown postgres: "$dir"
    as_pg "$bin/initdb" -D "$dir/data" -U postgres -A trust -E UTF8 --no-instructions >&2
    as_pg "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
      -o "-c listen_addresses=127.0.0.1 -c port=$port -c unix_socket_directories='$dir' -c max_connections=200" start >&2
    as_pg "$bin/createdb" -h 127.0.0.1 -p "$port" -U postgres "$db" >&2
    echo "export ASUPERSYNC_PG='Host=127.0.0.1;Port=$port;Username=postgres;Database=$db'"
    echo "export ASUPERSYNC_PG_DIR='$dir'"
    ;;
  stop)
    dir="${ASUPERSYNC_PG_DIR:?ASUPERSYNC_PG_DIR is not set}"
    bin=$(bindir) || exit 0
    as_pg "$bin/pg_ctl" -D "$dir/data" -m fast -w stop >&2 || true
    rm -rf "$dir"
    ;;
  *)
    echo "usage: eval \"\$(bash .ci/postgres.sh start)\"  |  bash .ci/postgres.sh stop" >&2
    exit 2
    ;;
esac
