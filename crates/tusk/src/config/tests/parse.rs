//! Both syntaxes, and every malformed input.

use super::kv;
use crate::config::Config;

#[test]
fn parses_keyword_value_strings() {
    let cases: &[(&str, &[(&str, &str)])] = &[
        ("", &[]),
        ("   \t\n ", &[]),
        (
            "host=localhost port=5432 dbname=app",
            &[("host", "localhost"), ("port", "5432"), ("dbname", "app")],
        ),
        (
            "host = localhost\tport=  5433 ",
            &[("host", "localhost"), ("port", "5433")],
        ),
        (
            "password='a b' dbname=''",
            &[("password", "a b"), ("dbname", "")],
        ),
        (r"password='it\'s \\ here'", &[("password", r"it's \ here")]),
        (
            r"options=-c\ search_path=app",
            &[("options", "-c search_path=app")],
        ),
        (
            "options='-c search_path=app -c work_mem=64MB'",
            &[("options", "-c search_path=app -c work_mem=64MB")],
        ),
        (
            "application_name='émoji 🐘'",
            &[("application_name", "émoji 🐘")],
        ),
        ("user=a user=b", &[("user", "b")]),
        (
            "host=a,b,c port=1,2,3",
            &[("host", "a,b,c"), ("port", "1,2,3")],
        ),
        ("host=a,b port=7", &[("host", "a,b"), ("port", "7")]),
        (
            "host=a,b hostaddr=10.0.0.1,::1",
            &[("host", "a,b"), ("hostaddr", "10.0.0.1,::1")],
        ),
        ("host=/tmp", &[("host", "/tmp")]),
        (
            "sslmode=verify-full sslrootcert=/etc/ca.pem",
            &[("sslmode", "verify-full"), ("sslrootcert", "/etc/ca.pem")],
        ),
        (
            "statement_cache_capacity=0 statement_cache_bytes=1MB pooler_mode=on",
            &[
                ("statement_cache_capacity", "0"),
                ("statement_cache_bytes", "1048576"),
                ("pooler_mode", "true"),
            ],
        ),
        ("client_encoding=utf-8", &[("client_encoding", "UTF8")]),
        (
            "gssencmode=disable krbsrvname=postgres sslcompression=0",
            &[
                ("gssencmode", "disable"),
                ("krbsrvname", "postgres"),
                ("sslcompression", "0"),
            ],
        ),
    ];
    for (input, pairs) in cases {
        let parsed = Config::parse(input).unwrap_or_else(|e| panic!("{input:?}: {e}"));
        assert_eq!(parsed, kv(pairs), "{input:?}");
        let via_from_str: Config = input.parse().unwrap();
        assert_eq!(via_from_str, parsed, "{input:?}");
    }
}

#[test]
fn parses_urls() {
    let cases: &[(&str, &[(&str, &str)])] = &[
        ("postgresql://", &[]),
        ("postgres://", &[]),
        ("postgresql://localhost", &[("host", "localhost")]),
        ("postgresql://localhost:5433", &[("host", "localhost"), ("port", "5433")]),
        ("postgresql://localhost/mydb", &[("host", "localhost"), ("dbname", "mydb")]),
        ("postgresql://localhost/", &[("host", "localhost")]),
        ("postgresql://user@localhost", &[("user", "user"), ("host", "localhost")]),
        ("postgresql://user:secret@localhost", &[("user", "user"), ("password", "secret"), ("host", "localhost")]),
        ("postgresql://:secret@localhost", &[("password", "secret"), ("host", "localhost")]),
        (
            "postgresql://other@localhost/otherdb?connect_timeout=10&application_name=myapp",
            &[("user", "other"), ("host", "localhost"), ("dbname", "otherdb"), ("connect_timeout", "10"), ("application_name", "myapp")],
        ),
        (
            "postgresql://host1:123,host2:456/somedb?target_session_attrs=any&application_name=myapp",
            &[("host", "host1,host2"), ("port", "123,456"), ("dbname", "somedb"), ("target_session_attrs", "any"), ("application_name", "myapp")],
        ),
        ("postgresql://a:1,b,[::1]:3", &[("host", "a,b,::1"), ("port", "1,5432,3")]),
        ("postgresql://[::1]:5433/db", &[("host", "::1"), ("port", "5433"), ("dbname", "db")]),
        ("postgresql://[2001:db8::1234]/database", &[("host", "2001:db8::1234"), ("dbname", "database")]),
        ("postgresql://%2Fvar%2Frun%2Fpostgresql/db", &[("host", "/var/run/postgresql"), ("dbname", "db")]),
        ("postgresql:///dbname?host=/var/lib/postgresql", &[("dbname", "dbname"), ("host", "/var/lib/postgresql")]),
        ("postgresql://:5433", &[("port", "5433")]),
        ("postgresql://h:/db", &[("host", "h"), ("dbname", "db")]),
        ("postgresql://:1,:2", &[("host", ","), ("port", "1,2")]),
        ("postgresql://,h2", &[("host", ",h2"), ("port", ",")]),
        ("postgresql://h?host=", &[("host", "")]),
        (
            "postgresql://us%40er:p%40ss%3Aw%2F%3F@host/d%20b",
            &[("user", "us@er"), ("password", "p@ss:w/?"), ("host", "host"), ("dbname", "d b")],
        ),
        ("postgresql://u:p@ss@host", &[("user", "u"), ("password", "p@ss"), ("host", "host")]),
        ("postgresql://h/a+b", &[("host", "h"), ("dbname", "a+b")]),
        ("postgresql://h?ssl=true", &[("host", "h"), ("sslmode", "require")]),
        ("postgresql://h?sslmode=verify-full&sslrootcert=%2Fetc%2Fca.pem&", &[("host", "h"), ("sslmode", "verify-full"), ("sslrootcert", "/etc/ca.pem")]),
        ("postgresql://h?options=-c%20search_path%3Dapp", &[("host", "h"), ("options", "-c search_path=app")]),
        ("postgresql://h?host=other", &[("host", "other")]),
        (
            "postgresql://h/db?statement_cache_capacity=10&statement_cache_bytes=64kB&pooler_mode=transaction",
            &[("host", "h"), ("dbname", "db"), ("statement_cache_capacity", "10"), ("statement_cache_bytes", "65536"), ("pooler_mode", "1")],
        ),
    ];
    for (input, pairs) in cases {
        let parsed = Config::parse(input).unwrap_or_else(|e| panic!("{input:?}: {e}"));
        assert_eq!(parsed, kv(pairs), "{input:?}");
    }
}

#[test]
fn every_bad_input_names_key_and_value() {
    // (input, key, value, part of the message)
    let cases: &[(&str, Option<&str>, Option<&str>, &str)] = &[
        (
            "foo=bar",
            Some("foo"),
            None,
            r#"invalid connection option "foo""#,
        ),
        (
            "port=abc",
            Some("port"),
            Some("abc"),
            r#"invalid value "abc" for connection option "port""#,
        ),
        ("port=0", Some("port"), Some("0"), "between 1 and 65535"),
        (
            "port=65536",
            Some("port"),
            Some("65536"),
            "between 1 and 65535",
        ),
        ("port=-1", Some("port"), Some("-1"), "port"),
        ("port=1,x", Some("port"), Some("x"), r#"invalid value "x""#),
        (
            "sslmode=maybe",
            Some("sslmode"),
            Some("maybe"),
            "verify-full",
        ),
        (
            "sslmode=Require",
            Some("sslmode"),
            Some("Require"),
            "sslmode",
        ),
        (
            "target_session_attrs=master",
            Some("target_session_attrs"),
            Some("master"),
            "prefer-standby",
        ),
        (
            "channel_binding=always",
            Some("channel_binding"),
            Some("always"),
            "require",
        ),
        (
            "load_balance_hosts=yes",
            Some("load_balance_hosts"),
            Some("yes"),
            "random",
        ),
        (
            "sslnegotiation=tls",
            Some("sslnegotiation"),
            Some("tls"),
            "direct",
        ),
        ("sslcertmode=x", Some("sslcertmode"), Some("x"), "allow"),
        (
            "ssl_min_protocol_version=TLSv2",
            Some("ssl_min_protocol_version"),
            Some("TLSv2"),
            "TLSv1.3",
        ),
        (
            "connect_timeout=-1",
            Some("connect_timeout"),
            Some("-1"),
            "negative",
        ),
        (
            "connect_timeout=soon",
            Some("connect_timeout"),
            Some("soon"),
            "whole number",
        ),
        (
            "keepalives_idle=-5",
            Some("keepalives_idle"),
            Some("-5"),
            "negative",
        ),
        (
            "keepalives_interval=-5",
            Some("keepalives_interval"),
            Some("-5"),
            "negative",
        ),
        (
            "keepalives_count=x",
            Some("keepalives_count"),
            Some("x"),
            "whole number",
        ),
        (
            "tcp_user_timeout=-1",
            Some("tcp_user_timeout"),
            Some("-1"),
            "negative",
        ),
        ("keepalives=yes", Some("keepalives"), Some("yes"), "1"),
        ("sslsni=2", Some("sslsni"), Some("2"), "1 or 0"),
        (
            "hostaddr=db.example.com",
            Some("hostaddr"),
            Some("db.example.com"),
            "numeric",
        ),
        (
            "host=a,b port=1,2,3",
            Some("port"),
            None,
            "3 port numbers to 2 hosts",
        ),
        (
            "host=a,b hostaddr=1.2.3.4",
            Some("hostaddr"),
            None,
            "2 host names to 1 hostaddr",
        ),
        (
            "hostaddr=1.2.3.4,::1 port=1,2,3",
            Some("port"),
            None,
            "3 port numbers to 2 hosts",
        ),
        (
            "client_encoding=LATIN1",
            Some("client_encoding"),
            Some("LATIN1"),
            "UTF8",
        ),
        (
            "client_encoding=auto",
            Some("client_encoding"),
            Some("auto"),
            "UTF8",
        ),
        (
            "statement_cache_capacity=-1",
            Some("statement_cache_capacity"),
            Some("-1"),
            "number",
        ),
        (
            "statement_cache_bytes=4XB",
            Some("statement_cache_bytes"),
            Some("4XB"),
            "unit",
        ),
        (
            "statement_cache_bytes=99999999999GB",
            Some("statement_cache_bytes"),
            Some("99999999999GB"),
            "size",
        ),
        (
            "pooler_mode=maybe",
            Some("pooler_mode"),
            Some("maybe"),
            "true or false",
        ),
        (
            "require_auth=md5,!password",
            Some("require_auth"),
            Some("md5,!password"),
            "mixed",
        ),
        (
            "require_auth=kerberos",
            Some("require_auth"),
            Some("kerberos"),
            "unknown method",
        ),
        (
            "require_auth=md5,md5",
            Some("require_auth"),
            Some("md5,md5"),
            "twice",
        ),
        (
            "gssencmode=require",
            Some("gssencmode"),
            Some("require"),
            "not supported",
        ),
        ("gssencmode=x", Some("gssencmode"), Some("x"), "disable"),
        (
            "service=mydb",
            Some("service"),
            Some("mydb"),
            "pg_service.conf",
        ),
        (
            "replication=database",
            Some("replication"),
            Some("database"),
            "not supported",
        ),
        (
            "sslnegotiation=direct sslmode=prefer",
            Some("sslmode"),
            Some("prefer"),
            "sslnegotiation=direct",
        ),
        (
            "sslrootcert=system sslmode=require",
            Some("sslmode"),
            Some("require"),
            "sslrootcert=system",
        ),
        (
            "ssl_min_protocol_version=TLSv1.3 ssl_max_protocol_version=TLSv1.2",
            Some("ssl_max_protocol_version"),
            Some("TLSv1.2"),
            "range",
        ),
        (
            "password='abc",
            Some("password"),
            None,
            "unterminated quoted string",
        ),
        ("host", Some("host"), None, r#"missing "=" after "host""#),
        (
            "host localhost",
            Some("host"),
            None,
            r#"missing "=" after "host""#,
        ),
        (
            "postgresql://h/db?foo=1",
            Some("foo"),
            None,
            r#"invalid connection option "foo""#,
        ),
        (
            "postgresql://h/db?sslmode=maybe",
            Some("sslmode"),
            Some("maybe"),
            "sslmode",
        ),
        (
            "postgresql://h:abc/db",
            Some("port"),
            Some("abc"),
            "port number",
        ),
        (
            "postgresql://h/%zz",
            Some("dbname"),
            Some("%zz"),
            "percent-encoding",
        ),
        (
            "postgresql://h/a%4",
            Some("dbname"),
            Some("a%4"),
            "percent-encoding",
        ),
        (
            "postgresql://h/a%+1",
            Some("dbname"),
            Some("a%+1"),
            "percent-encoding",
        ),
        ("postgresql://h/a%00b", Some("dbname"), Some("a%00b"), "%00"),
        (
            "postgresql://h/%C3%28",
            Some("dbname"),
            Some("%C3%28"),
            "UTF-8",
        ),
        (
            "postgresql://u:p%zz@h",
            Some("password"),
            None,
            "percent-encoding",
        ),
        (
            "postgresql://%zz@h",
            Some("user"),
            Some("%zz"),
            "percent-encoding",
        ),
        ("postgresql://[::1/db", Some("host"), Some("[::1"), "]"),
        (
            "postgresql://[]:5432",
            Some("host"),
            Some("[]:5432"),
            "empty",
        ),
        ("postgresql://[::1]x", Some("host"), Some("[::1]x"), ":port"),
        (
            "postgresql://h?sslmode",
            Some("sslmode"),
            None,
            r#"missing key/value separator "=""#,
        ),
        (
            "postgresql://h?ssl=false",
            Some("ssl"),
            Some("false"),
            "ssl=true",
        ),
        (
            "postgresql://h?hostaddr=a,b",
            Some("hostaddr"),
            Some("a"),
            "numeric",
        ),
    ];
    for (input, key, value, message) in cases {
        let err = match Config::parse(input) {
            Ok(config) => panic!("{input:?} parsed as {config:?}"),
            Err(err) => err,
        };
        assert_eq!(err.key(), *key, "{input:?}: {err}");
        assert_eq!(err.value(), *value, "{input:?}: {err}");
        assert!(err.to_string().contains(message), "{input:?}: {err}");
        assert_eq!(err.message(), err.to_string());
    }
}

#[test]
fn errors_never_echo_a_password() {
    for input in ["postgresql://u:hunter2%zz@h", "postgresql://u:hunter2%00@h"] {
        let err = Config::parse(input).unwrap_err();
        assert!(!err.to_string().contains("hunter2"), "{err}");
        assert_eq!(err.value(), None);
    }
}
