#!/usr/bin/env bash
# Single-row UPDATE + COMMIT: time added by a TVIEW, measured inside one
# backend (a procedure that commits after each update, so each commit runs
# the capture and the commit-time refresh), on a throwaway cluster with the
# installed build. Less sensitive to a loaded machine than pgbench: no
# client round trips. tv_post is bench.sh's read model (post JOIN users).
#
#   bash extensions/pg_tviews/bench/overhead.sh      # as root or postgres
#
# Environment: PG_CONFIG, N (updates per measurement, 2000), ROUNDS (3).
# To compare two builds, install one, run, install the other, run.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
PG_CONFIG=${PG_CONFIG:-/usr/lib/postgresql/15/bin/pg_config}
BIN=$("$PG_CONFIG" --bindir)
N=${N:-2000}
W=$(mktemp -d /tmp/pg_tviews_overhead.XXXXXX)
chmod 755 "$W"
P=$((35000 + RANDOM % 5000))
as_postgres() { if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
[ "$(id -u)" -eq 0 ] && chown postgres: "$W"
trap 'as_postgres "$BIN/pg_ctl" -D "$W/data" -m immediate stop >/dev/null 2>&1 || true; rm -rf "$W"' EXIT
as_postgres "$BIN/initdb" -D "$W/data" -A trust -U postgres >/dev/null
printf "port=%s\nlisten_addresses=''\nunix_socket_directories='%s'\nshared_preload_libraries='pg_tviews'\nsynchronous_commit=off\nshared_buffers=128MB\n" "$P" "$W" >>"$W/data/postgresql.conf"
as_postgres "$BIN/pg_ctl" -D "$W/data" -l "$W/log" -w start >/dev/null
"$BIN/createdb" -h "$W" -p "$P" -U postgres bench
q() { "$BIN/psql" -X -q -At -h "$W" -p "$P" -U postgres -d bench "$@"; }
q -f "$HERE/overhead.sql" >/dev/null
q -c "CALL bump('post', 300)" -c "CALL bump('post2', 300)" >/dev/null
for r in $(seq "${ROUNDS:-3}"); do
    a=$(q -c "CALL bump('post2', $N)")
    b=$(q -c "CALL bump('post', $N)")
    c=$(q -c "CALL bump('post2', $N)")
    printf "round %s: without TVIEW %.3f ms, with tv_post %.3f ms, added %.3f ms (load %s)\n" \
        "$r" "$(echo "($a + $c) / 2" | bc -l)" "$b" "$(echo "$b - ($a + $c) / 2" | bc -l)" "$(cut -d' ' -f1 /proc/loadavg)"
done
q -At -c "SELECT 'verify: ' || string_agg(tview || ' ' || ok, ', ') FROM tviews.verify()"
