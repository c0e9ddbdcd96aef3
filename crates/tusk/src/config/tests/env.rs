//! The environment, and the round trip through `Display` and `Debug`.

use std::time::Duration;

use super::{env, kv, SAMPLES};
use crate::config::keywords::KEYWORDS;
use crate::config::*;

#[test]
fn display_round_trips_everything_but_passwords() {
    let names: Vec<&str> = KEYWORDS.iter().map(|k| k.name).collect();
    let sampled: Vec<&str> = SAMPLES.iter().map(|(k, _)| *k).collect();
    assert_eq!(
        names, sampled,
        "SAMPLES must cover every keyword, in table order"
    );

    let full = kv(SAMPLES);
    let shown = full.to_string();
    assert!(shown.contains("password=********"), "{shown}");
    assert!(shown.contains("sslpassword=********"), "{shown}");
    assert!(shown.contains("dbname='my db'"), "{shown}");
    assert!(shown.contains(r"user='o\'brien'"), "{shown}");
    assert!(!shown.contains("=pw") && !shown.contains("=kp"), "{shown}");
    let mut reparsed = Config::parse(&shown).unwrap();
    reparsed
        .set_password("pw")
        .set("sslpassword", "kp")
        .unwrap();
    assert_eq!(reparsed, full);

    // One keyword at a time, too.
    for (key, value) in SAMPLES.iter().filter(|(k, _)| !error::is_secret(k)) {
        let c = kv(&[(key, value)]);
        assert_eq!(Config::parse(&c.to_string()).unwrap(), c, "{key}");
    }
}

#[test]
fn debug_redacts_passwords() {
    let c = Config::parse("host=db user=alice password=hunter2 sslpassword=keypass").unwrap();
    let debug = format!("{c:?}");
    assert!(
        !debug.contains("hunter2") && !debug.contains("keypass"),
        "{debug}"
    );
    assert!(
        debug.contains("\"alice\"") && debug.contains("********"),
        "{debug}"
    );
}

#[test]
fn environment_fills_unset_options() {
    let vars: Vec<(&str, &str)> = KEYWORDS
        .iter()
        .filter_map(|kw| {
            let var = kw.env?;
            let value = SAMPLES.iter().find(|(k, _)| *k == kw.name)?.1;
            Some((var, value))
        })
        .collect();
    assert!(vars.len() >= 25, "{vars:?}");
    let from_env = Config::from_env_with(env(&vars)).unwrap();
    for kw in KEYWORDS {
        let expected = kw.env.map(|_| {
            let value = SAMPLES.iter().find(|(k, _)| *k == kw.name).unwrap().1;
            (kw.get)(&kv(&[(kw.name, value)])).unwrap()
        });
        assert_eq!((kw.get)(&from_env), expected, "{}", kw.name);
    }

    let c = Config::from_env_with(env(&[
        ("PGHOST", "db1,db2"),
        ("PGPORT", "5433"),
        ("PGUSER", "alice"),
        ("PGDATABASE", "orders"),
        ("PGPASSWORD", "pw"),
        ("PGSSLMODE", "require"),
        ("PGAPPNAME", "worker"),
        ("PGCONNECT_TIMEOUT", "5"),
        ("PGTARGETSESSIONATTRS", "read-write"),
    ]))
    .unwrap();
    assert_eq!(c.hosts(), ["db1", "db2"]);
    assert_eq!(c.ports(), [5433]);
    assert_eq!(c.user(), Some("alice"));
    assert_eq!(c.dbname(), Some("orders"));
    assert_eq!(c.password(), Some("pw"));
    assert_eq!(c.ssl_mode(), SslMode::Require);
    assert_eq!(c.application_name(), Some("worker"));
    assert_eq!(c.connect_timeout(), Some(Duration::from_secs(5)));
    assert_eq!(c.target_session_attrs(), TargetSessionAttrs::ReadWrite);
}

#[test]
fn explicit_values_beat_the_environment() {
    let vars = env(&[
        ("PGHOST", "envhost"),
        ("PGUSER", "envuser"),
        ("PGDATABASE", "envdb"),
        ("PGSSLMODE", "disable"),
        ("PGPORT", ""),
    ]);
    let c = Config::parse("postgresql://alice@db/?sslmode=require")
        .unwrap()
        .with_env_defaults_with(&vars)
        .unwrap();
    assert_eq!(c.hosts(), ["db"]);
    assert_eq!(c.user(), Some("alice"));
    assert_eq!(c.dbname(), Some("envdb"));
    assert_eq!(c.ssl_mode(), SslMode::Require);
    // An empty variable counts as unset.
    assert_eq!(c.ports(), [] as [u16; 0]);
    // An explicit empty value is still explicit: PGHOST does not apply.
    let c = Config::parse("host=''")
        .unwrap()
        .with_env_defaults_with(&vars)
        .unwrap();
    assert_eq!(c.hosts(), [] as [&str; 0]);
    // tusk's own keywords have no variables.
    let c = Config::from_env_with(env(&[("PGSTATEMENT_CACHE_CAPACITY", "1")])).unwrap();
    assert_eq!(c, Config::new());
}

#[test]
fn bad_environment_names_the_variable() {
    type Vars<'a> = &'a [(&'a str, &'a str)];
    let cases: &[(Vars<'_>, Option<&str>, &str)] = &[
        (
            &[("PGSSLMODE", "sometimes")],
            Some("sslmode"),
            "(from environment variable PGSSLMODE)",
        ),
        (&[("PGPORT", "x")], Some("port"), "PGPORT"),
        (
            &[("PGCLIENTENCODING", "LATIN1")],
            Some("client_encoding"),
            "UTF8",
        ),
        (
            &[("PGCONNECT_TIMEOUT", "-3")],
            Some("connect_timeout"),
            "PGCONNECT_TIMEOUT",
        ),
        (
            &[("PGHOST", "a,b"), ("PGPORT", "1,2,3")],
            Some("port"),
            "3 port numbers to 2 hosts",
        ),
        (
            &[("PGGSSENCMODE", "require")],
            Some("gssencmode"),
            "not supported",
        ),
    ];
    for (vars, key, message) in cases {
        let err = Config::from_env_with(env(vars)).unwrap_err();
        assert_eq!(err.key(), *key, "{vars:?}: {err}");
        assert!(err.to_string().contains(message), "{vars:?}: {err}");
    }
    // A string's host list and the environment's ports must still line up.
    let err = Config::parse("host=a,b")
        .unwrap()
        .with_env_defaults_with(env(&[("PGPORT", "1,2,3")]))
        .unwrap_err();
    assert_eq!(err.key(), Some("port"));
    // PGSERVICE is warned about, not fatal.
    assert!(Config::from_env_with(env(&[("PGSERVICE", "x")])).is_ok());
}

#[test]
fn effective_user_falls_back_through_the_environment() {
    let c = Config::new();
    assert_eq!(
        c.effective_user_with(env(&[("USER", "u"), ("LOGNAME", "l")])),
        "u"
    );
    assert_eq!(c.effective_user_with(env(&[("LOGNAME", "l")])), "l");
    let os = c.effective_user_with(env(&[]));
    assert!(!os.is_empty());
    let c = Config::parse("user=explicit").unwrap();
    assert_eq!(c.effective_user_with(env(&[("USER", "u")])), "explicit");
}
