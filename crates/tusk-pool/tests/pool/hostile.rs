//! A hostile previous holder against the reset carried in the next
//! holder's Sync group: settings that could make the reset fail, stall or
//! run someone else's code (timeouts, read-only and serializable defaults,
//! a `search_path` with functions planted under the names of what the
//! reset calls, `plpgsql.*`, a held cursor). The next holder must see what
//! a fresh connection shows, and the reset must never run a planted
//! function.

use tusk::Executor;
use tusk_pool::{Pool, ResetPolicy};
use tusk_testkit::TestDb;

use crate::APP;

/// What a session shows of itself: every setting, who it is, and the
/// session-level objects it holds. Schema-qualified throughout, so a
/// `search_path` left behind cannot change what the oracle itself runs.
const SNAPSHOT: &str = "SELECT pg_catalog.concat_ws(E'\\n', \
     'user=' OPERATOR(pg_catalog.||) current_user OPERATOR(pg_catalog.||) '/' OPERATOR(pg_catalog.||) session_user, \
     'listen=' OPERATOR(pg_catalog.||) (SELECT pg_catalog.count(*) FROM pg_catalog.pg_listening_channels()), \
     'temp=' OPERATOR(pg_catalog.||) (SELECT pg_catalog.count(*) FROM pg_catalog.pg_class \
         WHERE relnamespace OPERATOR(pg_catalog.=) pg_catalog.pg_my_temp_schema()), \
     'prepared=' OPERATOR(pg_catalog.||) (SELECT pg_catalog.count(*) FROM pg_catalog.pg_prepared_statements WHERE from_sql), \
     'cursors=' OPERATOR(pg_catalog.||) (SELECT pg_catalog.count(*) FROM pg_catalog.pg_cursors), \
     'locks=' OPERATOR(pg_catalog.||) (SELECT pg_catalog.count(*) FROM pg_catalog.pg_locks \
         WHERE locktype OPERATOR(pg_catalog.=) 'advisory' \
         AND pid OPERATOR(pg_catalog.=) pg_catalog.pg_backend_pid()), \
     (SELECT pg_catalog.string_agg(name OPERATOR(pg_catalog.||) '=' OPERATOR(pg_catalog.||) setting, E'\\n' ORDER BY name) \
         FROM pg_catalog.pg_settings))";

async fn snapshot(c: &impl Executor) -> String {
    c.query_scalar(SNAPSHOT, &[]).await.expect("snapshot")
}

/// The lines of `got` that differ from `want`.
fn diff(want: &str, got: &str) -> Vec<String> {
    let w: Vec<&str> = want.lines().collect();
    let g: Vec<&str> = got.lines().collect();
    let mut out: Vec<String> = g
        .iter()
        .filter(|l| !w.contains(l))
        .map(|l| format!("+ {l}"))
        .collect();
    out.extend(
        w.iter()
            .filter(|l| !g.contains(l))
            .map(|l| format!("- {l}")),
    );
    out
}

/// A schema of the application role's with functions planted under the
/// names of everything a reset might call unqualified, each of which
/// records that it ran, in `public` too; and a table they record into.
fn plant(db: &TestDb) {
    crate::app_roles();
    let mut sql = format!(
        "CREATE SCHEMA attacker AUTHORIZATION {APP};
         GRANT CREATE ON SCHEMA public TO {APP};
         CREATE TABLE planted_calls (what text);
         GRANT INSERT, SELECT ON planted_calls TO PUBLIC;"
    );
    for schema in ["attacker", "public"] {
        for (name, args, ret, value) in [
            ("pg_advisory_unlock_all", "", "void", "NULL"),
            ("format", "text, name", "text", "'SELECT 1'"),
            ("format", "text, text", "text", "'SELECT 1'"),
            ("count", "", "int8", "0"),
            ("set_config", "text, text, bool", "text", "''"),
            ("pg_backend_pid", "", "int4", "0"),
            ("current_setting", "text", "text", "''"),
            ("pg_listening_channels", "", "SETOF text", "NULL"),
            ("now", "", "timestamptz", "NULL"),
        ] {
            sql.push_str(&format!(
                "CREATE FUNCTION {schema}.{name}({args}) RETURNS {ret} LANGUAGE plpgsql \
                 SECURITY INVOKER AS $f$ BEGIN \
                 INSERT INTO public.planted_calls VALUES ('{schema}.{name}'); \
                 RETURN {ret_value}; END $f$;
                 ALTER FUNCTION {schema}.{name}({args}) OWNER TO {APP};",
                ret_value = if ret.starts_with("SETOF") || ret == "void" {
                    String::new()
                } else {
                    value.to_string()
                },
            ));
        }
    }
    db.psql(&sql).expect("planted functions");
}

/// A pool of one connection for the application role (the next holder
/// gets the same connection).
fn one(db: &TestDb) -> Pool {
    crate::app_pool(db, |b| b.max_size(1).reset(ResetPolicy::Full))
}

/// What each hostile holder runs (in one simple-protocol script) before
/// giving its connection back.
const HOSTILE: &[&str] = &[
    "SET statement_timeout = 1",
    "SET statement_timeout = '1ms'; SET lock_timeout = 1",
    "SET idle_in_transaction_session_timeout = 1",
    "SET default_transaction_read_only = on",
    "SET SESSION CHARACTERISTICS AS TRANSACTION ISOLATION LEVEL SERIALIZABLE, READ ONLY, DEFERRABLE",
    "SET default_transaction_isolation = 'serializable'",
    "SET search_path = attacker, pg_catalog",
    "SET search_path = attacker, public, pg_catalog, pg_temp",
    "SET search_path = public, pg_catalog",
    "SET client_min_messages = debug5",
    "SET client_min_messages = panic",
    "SET check_function_bodies = off",
    "SET plpgsql.extra_errors = 'all'; SET plpgsql.extra_warnings = 'all'",
    "SET plpgsql.variable_conflict = 'use_variable'; SET plpgsql.print_strict_params = on",
    "SET standard_conforming_strings = off",
    "SET jit = on; SET jit_above_cost = 0; SET jit_optimize_above_cost = 0",
    "SET work_mem = 64; SET temp_buffers = 100",
    "SET transform_null_equals = on; SET array_nulls = off",
    "SET session_replication_role = replica",
    "SET client_encoding = 'LATIN1'",
    "SET DateStyle = 'German'; SET IntervalStyle = 'sql_standard'; SET TimeZone = 'Pacific/Chatham'",
    "SET extra_float_digits = -15; SET bytea_output = 'escape'; SET application_name = 'evil'",
    "BEGIN; DECLARE c CURSOR WITH HOLD FOR SELECT g FROM generate_series(1, 10) g; COMMIT",
    "DECLARE c2 CURSOR WITH HOLD FOR SELECT now()",
    "SET ROLE pool_admin; SET search_path = attacker, pg_catalog; \
     SELECT pg_catalog.pg_advisory_lock(5); LISTEN x; CREATE TEMP TABLE t (a int); \
     PREPARE p AS SELECT 1; DECLARE c3 CURSOR WITH HOLD FOR SELECT 1; \
     SET statement_timeout = 1; SET default_transaction_read_only = on",
];

/// Each hostile holder in turn hands its connection back; the next
/// holder, through `acquire` and through `pool.query`, sees what a fresh
/// connection shows, and none of the planted functions ever ran.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hostile_previous_holder_leaves_a_fresh_session() {
    let db = crate::db();
    plant(&db);
    let fresh = crate::fresh(&db).await;
    let want = snapshot(&fresh).await;
    // The same with PL/pgSQL loaded (its settings then show; loading a
    // library is not session state a reset can or should undo).
    fresh.execute("DO $$BEGIN END$$", &[]).await.unwrap();
    let want_loaded = snapshot(&fresh).await;
    let pool = one(&db);
    let mut failures = Vec::new();
    for (i, script) in HOSTILE.iter().enumerate() {
        for how in ["acquire", "pool.query"] {
            let c = crate::bounded("acquire", pool.acquire()).await.unwrap();
            // (Some are refused for this role, e.g. session_replication_role:
            // what went through before the refusal stays.)
            let _ = c.execute_script(script).await;
            drop(c);
            let got = if how == "acquire" {
                let c = crate::bounded("acquire", pool.acquire()).await.unwrap();
                crate::bounded("snapshot", c.query_scalar::<String>(SNAPSHOT, &[])).await
            } else {
                crate::bounded("snapshot", pool.query_scalar::<String>(SNAPSHOT, &[])).await
            };
            match got {
                Ok(got) => {
                    let d = diff(&want, &got);
                    if !d.is_empty() && !diff(&want_loaded, &got).is_empty() {
                        failures.push(format!("#{i} {script:?} then {how}: {d:?}"));
                    }
                }
                Err(e) => failures.push(format!("#{i} {script:?} then {how}: {e}")),
            }
        }
    }
    let ran: Vec<String> = fresh
        .query("SELECT what FROM public.planted_calls", &[])
        .await
        .unwrap()
        .iter()
        .map(|r| r.get::<String>(0))
        .collect();
    assert!(ran.is_empty(), "the reset ran planted functions: {ran:?}");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Every reset statement runs even when the previous holder leaves
/// `statement_timeout` at 1 ms and the server is slow to run them (a lock
/// wait would do; here a sleeping server is stood in for by many rounds):
/// the next holder's statement is never canceled by the previous holder's
/// timeout, and the connection is not lost for it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_one_millisecond_statement_timeout_left_behind_never_reaches_the_next_holder() {
    let db = crate::db();
    crate::app_roles();
    let pool = one(&db);
    for round in 0..200 {
        let c = crate::bounded("acquire", pool.acquire()).await.unwrap();
        // (Its second SET runs under the first's 1 ms timeout, and a
        // loaded machine may cancel it: what went through stays.)
        if let Err(e) = c
            .execute_script("SET statement_timeout = 1; SET lock_timeout = 1")
            .await
        {
            assert_eq!(
                e.code(),
                Some(tusk::SqlState::QUERY_CANCELED),
                "round {round}: {e}"
            );
        }
        drop(c);
        // A statement that takes longer than 1 ms: it runs under the
        // defaults, not under the previous holder's timeout.
        let v: i32 = crate::bounded(
            "query",
            pool.query_scalar("SELECT 1 FROM pg_catalog.pg_sleep(0.005)", &[]),
        )
        .await
        .unwrap_or_else(|e| panic!("round {round}: {e}"));
        assert_eq!(v, 1);
    }
}

/// The full reset releases the previous holder's session advisory locks
/// also when the session has no prepared statement at all (the release
/// rides on the scan of `pg_prepared_statement()`, which then returns no
/// row): taken and handed back through the simple protocol only, the lock
/// is free for another session once the connection went back, and the
/// next holder holds none.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn advisory_locks_are_released_on_a_session_with_no_prepared_statement() {
    let db = crate::db();
    crate::app_roles();
    let other = crate::fresh(&db).await;
    let pool = one(&db);
    for round in 0..3 {
        let c = crate::bounded("acquire", pool.acquire()).await.unwrap();
        c.execute_script(
            "SELECT pg_catalog.pg_advisory_lock(4242); SELECT pg_catalog.pg_advisory_lock_shared(4343)",
        )
        .await
        .unwrap();
        drop(c);
        let c = crate::bounded("acquire", pool.acquire()).await.unwrap();
        // The next holder's first request (simple protocol: still no
        // prepared statement) carries the reset.
        c.execute_script("SELECT 1").await.unwrap();
        let free: bool = other
            .query_scalar(
                "SELECT pg_catalog.pg_try_advisory_lock(4242) AND pg_catalog.pg_try_advisory_lock(4343)",
                &[],
            )
            .await
            .unwrap();
        assert!(
            free,
            "round {round}: the previous holder's advisory locks are still held"
        );
        other
            .execute("SELECT pg_catalog.pg_advisory_unlock_all()", &[])
            .await
            .unwrap();
        drop(c);
    }
}
