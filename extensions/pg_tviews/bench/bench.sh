#!/usr/bin/env bash
# pg_tviews benchmark (a measurement, not a test). Starts a throwaway
# PostgreSQL 15 cluster (as the postgres user when run as root) with
# pg_tviews preloaded, loads 10,000 users and ROWS posts (default 100,000),
# and measures with pgbench:
#   A. a transaction updating N rows (one UPDATE statement), N in NS:
#      maintenance added by the TVIEW (latency with it minus latency with
#      triggers off) against REFRESH MATERIALIZED VIEW of the same query;
#      the crossover N where the full refresh becomes cheaper;
#   B. write-path overhead of a single-row UPDATE (autocommit), with and
#      without the TVIEW, 1 and 2 clients;
#   C. SQL statements per 1,000-row refresh, and
#   D. 100 updates of one row in one transaction, from tviews.stats.
# Two TVIEW shapes: a JSONB read model (post JOIN users) and an aggregate
# (posts per user). The extension must be installed (cargo pgrx install).
#
#   bash extensions/pg_tviews/bench/bench.sh
#
# Environment: PG_CONFIG, ROWS (100000), NS ("1 10 100 1000 10000 30000
# 100000"), DURATION seconds per pgbench run in B (15), KEEP=1 to keep
# the cluster directory.
set -euo pipefail

PG_CONFIG=${PG_CONFIG:-/usr/lib/postgresql/15/bin/pg_config}
BIN=$("$PG_CONFIG" --bindir)
ROWS=${ROWS:-100000}
NS=${NS:-1 10 100 1000 10000 30000 100000}
DURATION=${DURATION:-15}
WORK=$(mktemp -d /tmp/pg_tviews_bench.XXXXXX)
chmod 755 "$WORK"
PORT=${PORT:-$((20000 + RANDOM % 20000))}
export PGHOST="$WORK" PGPORT="$PORT" PGUSER=postgres PGDATABASE=bench

as_postgres() { if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
cleanup() {
    as_postgres "$BIN/pg_ctl" -D "$WORK/data" -m fast stop >/dev/null 2>&1 || true
    [ "${KEEP:-0}" = 1 ] || rm -rf "$WORK"
}
trap cleanup EXIT
[ "$(id -u)" -eq 0 ] && chown postgres: "$WORK"
as_postgres "$BIN/initdb" -D "$WORK/data" -A trust -U postgres >/dev/null
cat >>"$WORK/data/postgresql.conf" <<CONF
port = $PORT
listen_addresses = ''
unix_socket_directories = '$WORK'
shared_preload_libraries = 'pg_tviews'
shared_buffers = 256MB
synchronous_commit = off
max_wal_size = 4GB
CONF
as_postgres env -u RUST_BACKTRACE "$BIN/pg_ctl" -D "$WORK/data" -l "$WORK/server.log" -w start >/dev/null
psql() { "$BIN/psql" -X -q -v ON_ERROR_STOP=1 "$@"; }
"$BIN/createdb" bench

echo "# pg_tviews benchmark"
echo
echo "- $(psql -Atc 'SELECT version()')"
echo "- $(nproc) CPUs, $(free -g | awk '/Mem/ {print $2}') GB RAM; synchronous_commit = off, shared_buffers = 256MB"
echo "- base: 10,000 users, $ROWS posts; command: bash extensions/pg_tviews/bench/bench.sh"
echo

psql <<SQL
CREATE EXTENSION pg_tviews;
CREATE TABLE users (id int PRIMARY KEY, name text NOT NULL, email text NOT NULL);
CREATE TABLE post (id int PRIMARY KEY, user_id int NOT NULL REFERENCES users, title text NOT NULL,
                   body text NOT NULL, score int NOT NULL DEFAULT 0, created timestamptz NOT NULL DEFAULT now());
INSERT INTO users SELECT g, 'user ' || g, 'user' || g || '@example.com' FROM generate_series(1, 10000) g;
INSERT INTO post SELECT g, 1 + g % 10000, 'post ' || g, repeat('lorem ipsum ', 8), g % 100
  FROM generate_series(1, $ROWS) g;
CREATE INDEX ON post (user_id);
VACUUM ANALYZE;
SQL

READ_MODEL="SELECT p.id AS pk_post, p.user_id, jsonb_build_object('id', p.id, 'title', p.title, 'score', p.score, 'created', p.created, 'author', jsonb_build_object('id', u.id, 'name', u.name, 'email', u.email)) AS data FROM post p JOIN users u ON u.id = p.user_id"
AGGREGATE="SELECT u.id AS pk_user_stats, count(p.id) AS posts, coalesce(sum(p.score), 0) AS score, max(p.created) AS last_post FROM users u LEFT JOIN post p ON p.user_id = u.id GROUP BY u.id"

# pgbench: prints "<average latency ms> <latency of each statement ms>..."
bench() {
    local out
    out=$("$BIN/pgbench" -n -r "$@" 2>&1) || { echo "$out" >&2; return 1; }
    awk '/latency average/ {avg=$4}
         /^ +[0-9.]+ +[0-9]+ +(BEGIN|UPDATE|COMMIT|REFRESH)/ {lat[$3]=$1}
         END {printf "%s %s %s %s\n", avg, lat["BEGIN;"] + 0, lat["UPDATE"] + 0, lat["COMMIT;"] + 0}' <<<"$out"
}

# ------------------------------------------------------------------- part B
echo "## B. Write path: single-row UPDATE (autocommit), pgbench -T $DURATION"
echo
cat >"$WORK/single.sql" <<'PGB'
\set id random(1, :rows)
UPDATE post SET score = score + 1 WHERE id = :id;
PGB
declare -A B_PLAIN B_ONE B_TWO
run_b() {
    local c avg
    for c in 1 2; do
        read -r avg _ <<<"$(bench -f "$WORK/single.sql" -D rows="$ROWS" -T "$DURATION" -c "$c" -j "$c")"
        eval "$1[$c]=$avg"
    done
}
run_b B_PLAIN
psql -c "SELECT tviews.create('tv_post', \$q\$$READ_MODEL\$q\$)" -c "VACUUM ANALYZE" >/dev/null
run_b B_ONE
psql -c "SELECT tviews.create('tv_user_stats', \$q\$$AGGREGATE\$q\$)" -c "VACUUM ANALYZE" >/dev/null
run_b B_TWO
echo "| clients | without TVIEW (ms) | with tv_post (ms) | added (ms) | with tv_post + tv_user_stats (ms) | added (ms) |"
echo "|---|---|---|---|---|---|"
for c in 1 2; do
    echo "| $c | ${B_PLAIN[$c]} | ${B_ONE[$c]} | $(awk -v a="${B_ONE[$c]}" -v b="${B_PLAIN[$c]}" 'BEGIN {printf "%.3f", a - b}')" \
         "| ${B_TWO[$c]} | $(awk -v a="${B_TWO[$c]}" -v b="${B_PLAIN[$c]}" 'BEGIN {printf "%.3f", a - b}') |"
done
echo
echo "(Average latency per UPDATE; tv_post is the JSONB read model (post JOIN users), tv_user_stats the aggregate (posts per user).)"
echo

# ------------------------------------------------------------------- part A
psql -c "CREATE MATERIALIZED VIEW mv_post AS $READ_MODEL" -c "CREATE UNIQUE INDEX ON mv_post (pk_post)" \
     -c "CREATE MATERIALIZED VIEW mv_user_stats AS $AGGREGATE" -c "CREATE UNIQUE INDEX ON mv_user_stats (pk_user_stats)" >/dev/null
echo "## A. Transaction updating N rows: maintenance added at commit vs REFRESH MATERIALIZED VIEW"
echo
for mv in mv_post mv_user_stats; do
    echo "REFRESH MATERIALIZED VIEW $mv;" >"$WORK/refresh_$mv.sql"
    read -r avg _ <<<"$(bench -f "$WORK/refresh_$mv.sql" -t 5)"
    eval "REFRESH_$mv=$avg"
    echo "REFRESH MATERIALIZED VIEW CONCURRENTLY $mv;" >"$WORK/refreshc_$mv.sql"
    read -r avg _ <<<"$(bench -f "$WORK/refreshc_$mv.sql" -t 3)"
    eval "REFRESHC_$mv=$avg"
done
echo "REFRESH MATERIALIZED VIEW of the same queries (5 runs): read model $REFRESH_mv_post ms" \
     "(CONCURRENTLY $REFRESHC_mv_post ms), aggregate $REFRESH_mv_user_stats ms (CONCURRENTLY $REFRESHC_mv_user_stats ms)."
echo
cat >"$WORK/batch.sql" <<'PGB'
\set x random(1, :rows - :n + 1)
BEGIN;
UPDATE post SET score = score + 1 WHERE id >= :x AND id < :x + :n;
COMMIT;
PGB
echo "| N rows | plain txn (ms) | with TVIEWs: UPDATE / COMMIT / total (ms) | added by both TVIEWs (ms) | REFRESH both MVs (ms) | cheaper |"
echo "|---|---|---|---|---|---|"
REFRESH_BOTH=$(awk -v a="$REFRESH_mv_post" -v b="$REFRESH_mv_user_stats" 'BEGIN {printf "%.1f", a + b}')
CROSS=""
prev_n=""
prev_added=""
for n in $NS; do
    t=$(( n >= 10000 ? 3 : (n >= 1000 ? 10 : (n >= 100 ? 50 : 300)) ))
    read -r plain _ <<<"$(PGOPTIONS='-c session_replication_role=replica' bench -f "$WORK/batch.sql" -D rows="$ROWS" -D n="$n" -t "$t")"
    # The baseline ran with triggers off: bring the TVIEWs up to date (untimed).
    psql -c "SELECT tviews.refresh()" >/dev/null
    read -r total _ upd com <<<"$(bench -f "$WORK/batch.sql" -D rows="$ROWS" -D n="$n" -t "$t")"
    added=$(awk -v a="$total" -v b="$plain" 'BEGIN {printf "%.3f", a - b}')
    cheaper=$(awk -v a="$added" -v r="$REFRESH_BOTH" 'BEGIN {print (a < r) ? "TVIEW" : "REFRESH"}')
    if [ -z "$CROSS" ] && [ "$cheaper" = REFRESH ]; then
        if [ -n "$prev_n" ]; then
            # Linear interpolation between the last two points.
            CROSS=$(awk -v n0="$prev_n" -v a0="$prev_added" -v n1="$n" -v a1="$added" -v r="$REFRESH_BOTH" \
                'BEGIN {printf "%d", n0 + (r - a0) * (n1 - n0) / (a1 - a0)}')
        else
            CROSS=$n
        fi
    fi
    prev_n=$n
    prev_added=$added
    echo "| $n | $plain | $upd / $com / $total | $added | $REFRESH_BOTH | $cheaper |"
done
echo
if [ -n "$CROSS" ]; then
    echo "Crossover: a full REFRESH of both materialized views becomes cheaper than incremental maintenance at about N = $CROSS updated rows (interpolated)."
else
    echo "Crossover: incremental maintenance stayed cheaper than a full REFRESH for every N measured."
fi
echo

# ------------------------------------------------------------------- part C, D
echo "## C. Statements per refresh"
echo
psql -c "SELECT tviews.stats_reset()" >/dev/null
psql -c "UPDATE post SET score = score + 1 WHERE id <= 1000" >/dev/null
echo '```'
psql -c "SELECT tview, refreshes, keys_refreshed, statements FROM tviews.stats ORDER BY tview::text"
echo '```'
echo
echo "## D. 100 updates of one row in one transaction"
echo
psql -c "SELECT tviews.stats_reset()" >/dev/null
psql <<'SQL' >/dev/null
BEGIN;
DO $$ BEGIN FOR i IN 1..100 LOOP UPDATE post SET score = score + 1 WHERE id = 42; END LOOP; END $$;
COMMIT;
SQL
echo '```'
psql -c "SELECT tview, refreshes, keys_refreshed, rows_written, rows_deleted FROM tviews.stats ORDER BY tview::text"
echo '```'
echo
echo "## Check"
echo
echo '```'
psql -c "SELECT * FROM tviews.verify()"
echo '```'
