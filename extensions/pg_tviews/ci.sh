#!/usr/bin/env bash
# pg_tviews CI: installs what is missing (PostgreSQL 15 server headers,
# libclang, cargo-pgrx 0.18.1), builds and installs the extension, starts a
# throwaway cluster as the `postgres` user, and runs the pg_regress suite,
# the seeded differential test and the pg_isolation_regress specs against it.
# Exits non-zero on any failure; the last line is "N passed, N failed".
#
#   bash extensions/pg_tviews/ci.sh            # from the repository root, as root
#
# Environment: PG_CONFIG (default /usr/lib/postgresql/15/bin/pg_config),
# TVIEWS_CI_SKIP_BUILD=1 (reuse the installed extension),
# TVIEWS_CI_SUITES (default "regress differential isolation concurrent dump"),
# TVIEWS_DIFF_SEEDS (default "1 2 3"), TVIEWS_DIFF_TXNS (default 250).
set -uo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
PG_CONFIG=${PG_CONFIG:-/usr/lib/postgresql/15/bin/pg_config}
SUITES=${TVIEWS_CI_SUITES:-regress differential isolation concurrent dump}
SEEDS=${TVIEWS_DIFF_SEEDS:-1 2 3}
TXNS=${TVIEWS_DIFF_TXNS:-250}
PASSED=0
FAILED=0
START=$(date +%s)

log() { echo "== pg_tviews ci [$(($(date +%s) - START))s] $*"; }
finish() {
    log "done"
    trap - EXIT
    stop_cluster
    echo "$PASSED passed, $FAILED failed"
    [ "$FAILED" -eq 0 ] && [ "$PASSED" -gt 0 ]
    exit $?
}
fail_setup() {
    log "FAILED: $*"
    FAILED=$((FAILED + 1))
    finish
}

# ---------------------------------------------------------------- toolchain
install_deps() {
    local need=()
    [ -x "$PG_CONFIG" ] || need+=(postgresql-15)
    dpkg -s postgresql-15 >/dev/null 2>&1 || need+=(postgresql-15)
    dpkg -s postgresql-server-dev-15 >/dev/null 2>&1 || need+=(postgresql-server-dev-15)
    dpkg -s libclang-dev >/dev/null 2>&1 || need+=(libclang-dev)
    if [ ${#need[@]} -gt 0 ]; then
        log "apt-get install ${need[*]}"
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -q >/dev/null && apt-get install -y -q "${need[@]}" >/dev/null ||
            fail_setup "apt-get install ${need[*]}"
    fi
    if ! cargo pgrx --version 2>/dev/null | grep -q '0\.18\.1'; then
        log "cargo install cargo-pgrx 0.18.1 (takes a while)"
        cargo install cargo-pgrx --version 0.18.1 --locked -j"$(nproc)" >/dev/null 2>&1 ||
            fail_setup "cargo install cargo-pgrx"
    fi
    if ! grep -qs '^pg15' "${PGRX_HOME:-$HOME/.pgrx}/config.toml"; then
        cargo pgrx init --pg15 "$PG_CONFIG" >/dev/null 2>&1 || fail_setup "cargo pgrx init"
    fi
}

build_install() {
    log "cargo pgrx install --release"
    (cd "$HERE" && cargo pgrx install --release --pg-config "$PG_CONFIG") >"$WORK/build.log" 2>&1 || {
        tail -40 "$WORK/build.log"
        fail_setup "build and install"
    }
    log "building the differential test driver"
    (cd "$HERE/tests/differential" && CARGO_TARGET_DIR="$HERE/target" cargo build --release -q) >>"$WORK/build.log" 2>&1 || {
        tail -40 "$WORK/build.log"
        fail_setup "build the differential driver"
    }
}

# ------------------------------------------------------------------ cluster
BIN=$("$PG_CONFIG" --bindir 2>/dev/null || true)
# .../lib/pgxs/src/makefiles/pgxs.mk -> .../lib/pgxs/src
pgxs_src() { dirname "$(dirname "$("$PG_CONFIG" --pgxs 2>/dev/null || echo /nonexistent/x/y)")"; }
PGXS_SRC=$(pgxs_src)
WORK=$(mktemp -d /tmp/pg_tviews_ci.XXXXXX)
chmod 755 "$WORK"
PORT=${TVIEWS_CI_PORT:-$((20000 + RANDOM % 20000))}
export PGHOST="$WORK" PGPORT="$PORT" PGUSER=postgres

as_postgres() {
    if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

stop_cluster() {
    if [ -f "$WORK/data/postmaster.pid" ]; then
        as_postgres "$BIN/pg_ctl" -D "$WORK/data" -m immediate stop >/dev/null 2>&1
    fi
    # Logs stay for a failed run.
    if [ "$FAILED" -eq 0 ]; then rm -rf "$WORK"; else echo "logs kept in $WORK"; fi
}
trap stop_cluster EXIT

start_cluster() {
    log "initdb + start on port $PORT ($WORK)"
    [ "$(id -u)" -eq 0 ] && chown postgres: "$WORK"
    as_postgres "$BIN/initdb" -D "$WORK/data" -A trust -U postgres >"$WORK/initdb.log" 2>&1 ||
        { cat "$WORK/initdb.log"; fail_setup "initdb"; }
    cat >>"$WORK/data/postgresql.conf" <<CONF
port = $PORT
listen_addresses = ''
unix_socket_directories = '$WORK'
shared_preload_libraries = 'pg_tviews'
max_prepared_transactions = 20
max_connections = 60
fsync = off
synchronous_commit = off
full_page_writes = off
CONF
    # RUST_BACKTRACE=1 on purpose: an error must read the same whatever the
    # server's environment (pg_tviews never puts a Rust backtrace in DETAIL).
    as_postgres env -u RUST_LIB_BACKTRACE RUST_BACKTRACE=1 "$BIN/pg_ctl" -D "$WORK/data" -l "$WORK/server.log" -w -t 60 start >/dev/null ||
        { tail -20 "$WORK/server.log"; fail_setup "start PostgreSQL"; }
}

# ------------------------------------------------------------------- suites
# Prints "<ok> <failed>": counts of "test x ... ok" / "... FAILED" lines of
# pg_regress-style output.
count_results() {
    local ok bad
    ok=$(grep -Ec '\.\.\. ok' "$1" || true)
    bad=$(grep -Eci '\.\.\. failed' "$1" || true)
    echo "$ok $bad"
}

run_regress() {
    local tests
    tests=$(cd "$HERE/tests/pg_regress/sql" && ls *.sql | sed 's/\.sql$//' | sort | grep -v '^setup$' | tr '\n' ' ')
    log "pg_regress: setup $tests"
    mkdir -p "$WORK/regress"
    "$PGXS_SRC/test/regress/pg_regress" --inputdir="$HERE/tests/pg_regress" \
        --outputdir="$WORK/regress" --bindir="$BIN" --host="$WORK" --port="$PORT" --user=postgres \
        --dbname=tviews_regress setup $tests >"$WORK/regress.out" 2>&1
    local rc=$?
    cat "$WORK/regress.out"
    read -r ok bad < <(count_results "$WORK/regress.out")
    PASSED=$((PASSED + ok))
    FAILED=$((FAILED + bad))
    if [ "$rc" -ne 0 ]; then
        [ -f "$WORK/regress/regression.diffs" ] && head -200 "$WORK/regress/regression.diffs"
        [ "$bad" -eq 0 ] && FAILED=$((FAILED + 1))
    fi
}

run_isolation() {
    local specs
    specs=$(cd "$HERE/tests/isolation/specs" && ls *.spec | sed 's/\.spec$//' | sort | tr '\n' ' ')
    log "pg_isolation_regress: $specs"
    mkdir -p "$WORK/isolation"
    "$PGXS_SRC/test/isolation/pg_isolation_regress" --inputdir="$HERE/tests/isolation" \
        --outputdir="$WORK/isolation" --bindir="$BIN" --host="$WORK" --port="$PORT" --user=postgres \
        --dbname=tviews_isolation --load-extension=pg_tviews $specs >"$WORK/isolation.out" 2>&1
    local rc=$?
    cat "$WORK/isolation.out"
    read -r ok bad < <(count_results "$WORK/isolation.out")
    PASSED=$((PASSED + ok))
    FAILED=$((FAILED + bad))
    if [ "$rc" -ne 0 ]; then
        [ -f "$WORK/isolation/regression.diffs" ] && head -200 "$WORK/isolation/regression.diffs"
        [ "$bad" -eq 0 ] && FAILED=$((FAILED + 1))
    fi
}

run_differential() {
    local driver="$HERE/target/release/tviews-differential"
    for seed in $SEEDS; do
        log "differential seed=$seed transactions=$TXNS"
        # As a non-superuser that owns the database and everything in it;
        # only CREATE EXTENSION needs a superuser.
        "$BIN/psql" -qX -d postgres -c "DROP DATABASE IF EXISTS tviews_diff" \
            -c "DO \$\$ BEGIN CREATE ROLE tviews_diff LOGIN; EXCEPTION WHEN duplicate_object THEN NULL; END \$\$" \
            -c "CREATE DATABASE tviews_diff OWNER tviews_diff" >/dev/null 2>&1
        "$BIN/psql" -qX -d tviews_diff -c "CREATE EXTENSION pg_tviews" >/dev/null 2>&1
        if PGUSER=tviews_diff "$driver" --seed "$seed" --transactions "$TXNS" --dbname tviews_diff --psql "$BIN/psql" >"$WORK/diff_$seed.out" 2>&1; then
            tail -2 "$WORK/diff_$seed.out"
            PASSED=$((PASSED + 1))
        else
            tail -40 "$WORK/diff_$seed.out"
            FAILED=$((FAILED + 1))
        fi
    done
}

# pgbench with 4 clients writing related rows (with and without foreign
# keys between them: writers.pgbench, fkless.pgbench), at each isolation level
# (retrying 40001/40P01); afterwards every TVIEW must equal its query and no
# transaction may have failed for good.
run_concurrent() {
    local iso db out
    for iso in "READ COMMITTED" "REPEATABLE READ" "SERIALIZABLE"; do
        db=tviews_conc
        log "concurrent writers: pgbench -c 4 -T 8, $iso"
        # A non-superuser owns the database and the TVIEWs; the writers run
        # as another role with only DML on the base tables.
        "$BIN/psql" -qX -d postgres -c "DROP DATABASE IF EXISTS $db" \
            -c "DO \$\$ BEGIN CREATE ROLE tviews_conc_owner LOGIN; EXCEPTION WHEN duplicate_object THEN NULL; END \$\$" \
            -c "DO \$\$ BEGIN CREATE ROLE tviews_conc_writer LOGIN; EXCEPTION WHEN duplicate_object THEN NULL; END \$\$" \
            -c "CREATE DATABASE $db OWNER tviews_conc_owner" >/dev/null 2>&1
        "$BIN/psql" -qX -d "$db" -c "CREATE EXTENSION pg_tviews" >/dev/null 2>&1
        PGUSER=tviews_conc_owner "$BIN/psql" -qX -v ON_ERROR_STOP=1 -d "$db" -f "$HERE/tests/concurrency/setup.sql" >/dev/null 2>"$WORK/conc.err" ||
            { cat "$WORK/conc.err"; FAILED=$((FAILED + 1)); continue; }
        out=$(PGUSER=tviews_conc_writer "$BIN/pgbench" -n -c 4 -j 2 -T 8 --max-tries=100 -D iso="$iso" -f "$HERE/tests/concurrency/writers.pgbench" -f "$HERE/tests/concurrency/fkless.pgbench" "$db" 2>&1)
        local done failed bad
        done=$(awk '/^number of transactions actually processed/ {print $NF; exit}' <<<"$out" | cut -d/ -f1)
        failed=$(awk '/^number of failed transactions/ {print $5; exit}' <<<"$out")
        bad=$(PGUSER=tviews_conc_owner "$BIN/psql" -qXAt -d "$db" -c "SELECT NULLIF(concat_ws('; ', string_agg(tview || ' missing ' || missing || ' extra ' || extra, '; ') FILTER (WHERE NOT ok), CASE WHEN count(*) < (SELECT count(*) FROM tviews.registry) THEN 'not every TVIEW verified' END), '') FROM tviews.verify()")
        # Under REPEATABLE READ and SERIALIZABLE a transaction that keeps
        # losing (40001/40P01) past --max-tries counts as "failed": that is
        # the isolation level doing its job. What must never happen is a
        # stale TVIEW, or a failure under READ COMMITTED.
        if [ "$iso" != "READ COMMITTED" ]; then failed=0; fi
        if [ -n "$bad" ] || [ "${failed:-1}" != 0 ] || [ "${done:-0}" -eq 0 ]; then
            echo "$out" | tail -20
            log "FAILED ($iso): processed=${done:-?} failed=${failed:-?} stale: ${bad:-none}"
            FAILED=$((FAILED + 1))
        else
            log "ok ($iso): $done transactions, $(awk '/^number of transactions retried/ {print $5; exit}' <<<"$out") retried, every TVIEW equals its query"
            PASSED=$((PASSED + 1))
        fi
    done
}

# pg_dump / pg_restore: a non-superuser's database with TVIEWs is dumped
# (custom format) and restored into a new database with the real tools;
# the restored TVIEWs are registered, equal their queries, and keep being
# maintained through every kind of source (tests/dump).
run_dump() {
    local out bad
    log "pg_dump / pg_restore"
    "$BIN/psql" -qX -d postgres -c "DROP DATABASE IF EXISTS tviews_dump" -c "DROP DATABASE IF EXISTS tviews_restored" \
        -c "DO \$\$ BEGIN CREATE ROLE tviews_dumper LOGIN; EXCEPTION WHEN duplicate_object THEN NULL; END \$\$" \
        -c "CREATE DATABASE tviews_dump OWNER tviews_dumper" -c "CREATE DATABASE tviews_restored OWNER tviews_dumper" >/dev/null 2>&1
    "$BIN/psql" -qX -d tviews_dump -c "CREATE EXTENSION pg_tviews" >/dev/null 2>&1
    out=$(PGUSER=tviews_dumper "$BIN/psql" -qXAt -v ON_ERROR_STOP=1 -d tviews_dump -f "$HERE/tests/dump/setup.sql" 2>&1) ||
        { echo "$out"; log "FAILED: dump setup"; FAILED=$((FAILED + 1)); return; }
    if ! "$BIN/pg_dump" -Fc -d tviews_dump -f "$WORK/tviews.dump" 2>"$WORK/dump.err" ||
        ! "$BIN/pg_restore" -d tviews_restored "$WORK/tviews.dump" 2>>"$WORK/dump.err"; then
        cat "$WORK/dump.err"; log "FAILED: pg_dump/pg_restore"; FAILED=$((FAILED + 1)); return
    fi
    out=$(PGUSER=tviews_dumper "$BIN/psql" -qXAt -d tviews_restored -f "$HERE/tests/dump/after.sql" 2>&1)
    bad=$(grep -E '\|f$|ERROR' <<<"$out" | grep -v 'cannot change TVIEW "app.tv_post" directly')
    [ -n "${TVIEWS_CI_VERBOSE:-}" ] && echo "$out"
    if [ -n "$bad" ] || [ "$(grep -c '|t$' <<<"$out")" -ne 6 ] || ! grep -q 'cannot change TVIEW' <<<"$out"; then
        echo "$out"
        log "FAILED: restored TVIEWs: ${bad:-wrong count}"
        FAILED=$((FAILED + 1))
    else
        log "ok: 3 TVIEWs dumped, restored, equal to their queries and maintained after restore"
        PASSED=$((PASSED + 1))
    fi
}

# --------------------------------------------------------------------- main
if [ "${TVIEWS_CI_SKIP_BUILD:-0}" != 1 ]; then
    install_deps
    BIN=$("$PG_CONFIG" --bindir)
    PGXS_SRC=$(pgxs_src)
    build_install
fi
start_cluster
for suite in $SUITES; do
    case $suite in
        regress) run_regress ;;
        differential) run_differential ;;
        isolation) run_isolation ;;
        concurrent) run_concurrent ;;
        dump) run_dump ;;
        *) log "unknown suite $suite"; FAILED=$((FAILED + 1)) ;;
    esac
done
finish
