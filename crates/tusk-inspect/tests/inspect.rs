//! The model of a schema built from a fixture, read back from a real
//! PostgreSQL as a non-superuser owner.

use tusk_inspect::{ConstraintKind, TableKind};
use tusk_testkit::Cluster;

const FIXTURE: &str = r#"
CREATE SCHEMA app;
COMMENT ON SCHEMA app IS 'the application';
CREATE TYPE app.mood AS ENUM ('sad', 'ok', 'happy');
CREATE TYPE app.pair AS (a int, b text);
CREATE DOMAIN app.email AS text NOT NULL CONSTRAINT email_at CHECK (VALUE LIKE '%@%');
CREATE TABLE app.users (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    email app.email,
    name varchar(200) COLLATE "C" NOT NULL DEFAULT '',
    mood app.mood,
    score numeric(10,2),
    name_len int GENERATED ALWAYS AS (length(name)) STORED,
    tags text[],
    CONSTRAINT users_email_key UNIQUE (email) DEFERRABLE INITIALLY DEFERRED
);
ALTER TABLE app.users ADD CONSTRAINT score_positive CHECK (score >= 0) NOT VALID;
COMMENT ON TABLE app.users IS 'people';
COMMENT ON COLUMN app.users.email IS 'login';
CREATE INDEX users_lower_name ON app.users (lower(name)) INCLUDE (id) WHERE score > 0;
CREATE INDEX users_tags ON app.users USING gin (tags);
CREATE TABLE app.orders (
    id serial PRIMARY KEY,
    user_id bigint REFERENCES app.users ON DELETE CASCADE ON UPDATE SET NULL,
    during tstzrange,
    EXCLUDE USING gist (during WITH &&)
);
CREATE TABLE app.events (at timestamptz NOT NULL, kind text) PARTITION BY RANGE (at);
CREATE TABLE app.events_2024 PARTITION OF app.events FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
CREATE UNLOGGED TABLE app.scratch (x int);
CREATE VIEW app.happy_users AS SELECT id, name FROM app.users WHERE mood = 'happy';
CREATE MATERIALIZED VIEW app.user_count AS SELECT count(*) AS n FROM app.users;
CREATE UNIQUE INDEX user_count_n ON app.user_count (n);
CREATE SEQUENCE app.ticket START 100 INCREMENT 5 CYCLE;
CREATE FUNCTION app.touch() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$;
CREATE TRIGGER users_touch BEFORE UPDATE ON app.users FOR EACH ROW EXECUTE FUNCTION app.touch();
ALTER TABLE app.users ENABLE ROW LEVEL SECURITY;
CREATE POLICY own_rows ON app.users FOR SELECT TO PUBLIC USING (name = current_user);
"#;

#[tokio::test]
async fn the_model_of_a_fixture() {
    let cluster = Cluster::builder().start().unwrap();
    cluster
        .psql("postgres", "CREATE ROLE inspector LOGIN")
        .unwrap();
    let db = cluster.database().unwrap();
    db.psql(&format!(
        "GRANT CREATE ON DATABASE \"{}\" TO inspector",
        db.name()
    ))
    .unwrap();
    let url = format!(
        "postgresql://inspector@127.0.0.1:{}/{}",
        db.port(),
        db.name()
    );
    let conn = tusk::connect(&url).await.unwrap();
    tusk::Executor::execute_script(&conn, FIXTURE)
        .await
        .unwrap();

    let m = tusk_inspect::inspect(&conn).await.unwrap();
    assert!(m.server_version.starts_with("15"), "{}", m.server_version);
    assert!(m.extensions.iter().any(|e| e.name == "plpgsql"));
    let app = m.schema("app").unwrap();
    assert_eq!(
        (app.owner.as_str(), app.comment.as_deref()),
        ("inspector", Some("the application"))
    );
    let names: Vec<&str> = app.tables.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(
        names,
        ["events", "events_2024", "orders", "scratch", "users"]
    );

    let users = app.table("users").unwrap();
    assert_eq!(users.comment.as_deref(), Some("people"));
    assert!(users.row_security && !users.force_row_security);
    let id = users.column("id").unwrap();
    assert_eq!(
        (id.data_type.as_str(), id.identity.as_deref(), id.not_null),
        ("bigint", Some("always"), true)
    );
    let name = users.column("name").unwrap();
    assert_eq!(name.data_type, "character varying(200)");
    assert_eq!(name.collation.as_deref(), Some("pg_catalog.\"C\""));
    assert_eq!(name.default.as_deref(), Some("''::character varying"));
    assert_eq!(users.column("email").unwrap().data_type, "app.email");
    assert_eq!(
        users.column("email").unwrap().comment.as_deref(),
        Some("login")
    );
    assert_eq!(users.column("score").unwrap().data_type, "numeric(10,2)");
    assert_eq!(users.column("tags").unwrap().data_type, "text[]");
    assert_eq!(
        users.column("name_len").unwrap().generated.as_deref(),
        Some("length((name)::text)")
    );
    assert_eq!(users.column("name_len").unwrap().default, None);

    let lower = users.index("users_lower_name").unwrap();
    assert_eq!(lower.keys, ["lower(name::text)"]);
    assert_eq!(lower.include, ["id"]);
    assert_eq!(lower.predicate.as_deref(), Some("(score > (0)::numeric)"));
    assert_eq!(users.index("users_tags").unwrap().method, "gin");
    assert!(users.index("users_pkey").unwrap().primary);

    let uniq = users.constraint("users_email_key").unwrap();
    assert_eq!(uniq.kind, ConstraintKind::Unique);
    assert!(uniq.deferrable && uniq.initially_deferred);
    let check = users.constraint("score_positive").unwrap();
    assert_eq!(
        (check.kind, check.validated),
        (ConstraintKind::Check, false)
    );
    assert_eq!(check.definition, "CHECK (score >= 0::numeric) NOT VALID");
    assert_eq!(users.triggers[0].name, "users_touch");
    assert!(users.triggers[0]
        .definition
        .starts_with("CREATE TRIGGER users_touch BEFORE UPDATE ON app.users"));
    let p = &users.policies[0];
    assert_eq!(
        (p.name.as_str(), p.command.as_str(), p.permissive),
        ("own_rows", "SELECT", true)
    );
    assert_eq!(p.roles, ["public"]);
    assert_eq!(
        p.using_expr.as_deref(),
        Some("((name)::text = CURRENT_USER)")
    );

    let orders = app.table("orders").unwrap();
    let fk = orders
        .constraints
        .iter()
        .find(|c| c.kind == ConstraintKind::ForeignKey)
        .unwrap();
    let r = fk.references.as_ref().unwrap();
    assert_eq!(
        (
            r.table.as_str(),
            r.columns.clone(),
            r.on_delete.as_str(),
            r.on_update.as_str()
        ),
        ("app.users", vec!["id".to_string()], "CASCADE", "SET NULL")
    );
    assert_eq!(fk.columns, ["user_id"]);
    assert!(orders
        .constraints
        .iter()
        .any(|c| c.kind == ConstraintKind::Exclusion));
    assert_eq!(
        orders.column("id").unwrap().default.as_deref(),
        Some("nextval('app.orders_id_seq'::regclass)")
    );

    let events = app.table("events").unwrap();
    assert_eq!(
        (events.kind, events.partition_key.as_deref()),
        (TableKind::Partitioned, Some("RANGE (at)"))
    );
    let part = app.table("events_2024").unwrap();
    assert_eq!(part.partition_of.as_deref(), Some("app.events"));
    assert!(part
        .partition_bound
        .as_deref()
        .unwrap()
        .starts_with("FOR VALUES FROM ('2024-01-01"));
    assert!(app.table("scratch").unwrap().unlogged);

    let v = app.view("happy_users").unwrap();
    assert!(
        !v.materialized
            && v.definition
                .contains("WHERE users.mood = 'happy'::app.mood"),
        "{}",
        v.definition
    );
    assert_eq!(v.columns.len(), 2);
    let mv = app.view("user_count").unwrap();
    assert!(mv.materialized && mv.indexes[0].unique);

    let seqs: Vec<(&str, Option<&str>)> = app
        .sequences
        .iter()
        .map(|s| (s.name.as_str(), s.owned_by.as_deref()))
        .collect();
    assert_eq!(
        seqs,
        [
            ("orders_id_seq", Some("app.orders.id")),
            ("ticket", None),
            ("users_id_seq", Some("app.users.id"))
        ]
    );
    let t = app.sequences.iter().find(|s| s.name == "ticket").unwrap();
    assert_eq!(
        (t.start, t.increment, t.cycle, t.data_type.as_str()),
        (100, 5, true, "bigint")
    );
    assert_eq!(app.enums[0].labels, ["sad", "ok", "happy"]);
    assert_eq!(app.composites[0].name, "pair");
    assert_eq!(app.composites[0].attributes[1].data_type, "text");
    let d = &app.domains[0];
    assert_eq!(
        (d.name.as_str(), d.base_type.as_str(), d.not_null),
        ("email", "text", true)
    );
    assert_eq!(d.checks[0].definition, "CHECK (VALUE ~~ '%@%'::text)");
    let f = &app.functions[0];
    assert_eq!(
        (f.name.as_str(), f.arguments.as_str(), f.procedure),
        ("touch", "", false)
    );
    assert!(
        f.definition
            .starts_with("CREATE OR REPLACE FUNCTION app.touch()\n RETURNS trigger"),
        "{}",
        f.definition
    );
    // The model survives JSON (what `tusk inspect --json` prints).
    let json = serde_json::to_string(&m).unwrap();
    assert_eq!(
        serde_json::from_str::<tusk_inspect::Database>(&json).unwrap(),
        m
    );
}

#[tokio::test]
async fn drift_between_two_databases() {
    let cluster = Cluster::shared();
    let base = "CREATE TABLE t (id int PRIMARY KEY, name text, gone int); CREATE INDEX t_name ON t (name); \
                CREATE TYPE color AS ENUM ('red');";
    let a = cluster.database().unwrap();
    let b = cluster.database().unwrap();
    a.psql(base).unwrap();
    b.psql(base).unwrap();
    b.psql(
        "ALTER TABLE t ALTER COLUMN name TYPE varchar(50), DROP COLUMN gone, ADD COLUMN extra int NOT NULL DEFAULT 0; \
         DROP INDEX t_name; CREATE TABLE u (x int); ALTER TYPE color ADD VALUE 'blue'",
    )
    .unwrap();
    let ca = tusk::connect(&a.url()).await.unwrap();
    let cb = tusk::connect(&b.url()).await.unwrap();
    let (ma, mb) = (
        tusk_inspect::inspect(&ca).await.unwrap(),
        tusk_inspect::inspect(&cb).await.unwrap(),
    );
    assert!(tusk_inspect::diff(&ma, &ma).is_empty());
    let d: Vec<String> = tusk_inspect::diff(&ma, &mb)
        .iter()
        .map(|d| d.to_string())
        .collect();
    assert_eq!(
        d,
        [
            "+ column public.t.extra",
            "- column public.t.gone",
            "~ column public.t.name:\n    data_type: \"text\" -> \"character varying(50)\"",
            "~ enum public.color:\n    labels: [\"red\"] -> [\"red\",\"blue\"]",
            "- index public.t.t_name",
            "+ table public.u",
        ]
    );
}

#[tokio::test]
async fn the_model_round_trips_through_ddl() {
    let cluster = Cluster::shared();
    let a = cluster.database().unwrap();
    let b = cluster.database().unwrap();
    a.psql(FIXTURE).unwrap();
    let ca = tusk::connect(&a.url()).await.unwrap();
    let cb = tusk::connect(&b.url()).await.unwrap();
    let ma = tusk_inspect::inspect(&ca).await.unwrap();
    for stmt in tusk_inspect::ddl::statements(&ma) {
        if let Err(e) = tusk::Executor::execute_script(&cb, &stmt).await {
            panic!("{stmt}\n{e}");
        }
    }
    let mb = tusk_inspect::inspect(&cb).await.unwrap();
    let d: Vec<String> = tusk_inspect::diff(&ma, &mb)
        .iter()
        .map(|d| d.to_string())
        .collect();
    assert!(d.is_empty(), "{}", d.join("\n"));
    assert_eq!(
        ma.schemas,
        mb.schemas
            .iter()
            .map(|s| {
                let mut s = s.clone();
                s.owner.clone_from(&ma.schema(&s.name).unwrap().owner);
                s
            })
            .collect::<Vec<_>>()
    );
}
