//! Defaults, value parsing, derived getters, enums and setters.

use std::path::Path;
use std::time::Duration;

use super::ip;
use crate::config::*;

#[test]
fn defaults() {
    let c = Config::new();
    assert_eq!(c.user(), None);
    assert_eq!(c.password(), None);
    assert_eq!(c.dbname(), None);
    assert_eq!(c.connect_timeout(), None);
    assert!(c.keepalives());
    assert_eq!(c.keepalives_idle(), None);
    assert_eq!(c.keepalives_interval(), None);
    assert_eq!(c.keepalives_count(), None);
    assert_eq!(c.tcp_user_timeout(), None);
    assert_eq!(c.ssl_mode(), SslMode::Prefer);
    assert_eq!(c.ssl_negotiation(), SslNegotiation::Postgres);
    assert_eq!(c.ssl_root_cert(), None);
    assert!(c.ssl_sni());
    assert_eq!(c.ssl_cert_mode(), SslCertMode::Allow);
    assert_eq!(c.ssl_min_protocol_version(), SslProtocolVersion::Tls1_2);
    assert_eq!(c.ssl_max_protocol_version(), None);
    assert_eq!(c.channel_binding(), ChannelBinding::Prefer);
    assert_eq!(c.target_session_attrs(), TargetSessionAttrs::Any);
    assert_eq!(c.load_balance_hosts(), LoadBalanceHosts::Disable);
    assert_eq!(c.require_auth(), None);
    assert_eq!(c.statement_cache_capacity(), 256);
    assert_eq!(c.statement_cache_bytes(), 4 * 1024 * 1024);
    assert!(!c.pooler_mode());
    assert_eq!(c.to_string(), "");
    assert_eq!(c, Config::default());
}

#[test]
fn durations_and_numbers() {
    let secs = |s: u64| Some(Duration::from_secs(s));
    type Getter = fn(&Config) -> Option<Duration>;
    let cases: &[(&str, Getter, Option<Duration>)] = &[
        ("connect_timeout=0", Config::connect_timeout, None),
        ("connect_timeout=1", Config::connect_timeout, secs(2)),
        ("connect_timeout=2", Config::connect_timeout, secs(2)),
        ("connect_timeout=10", Config::connect_timeout, secs(10)),
        ("connect_timeout= 7 ", Config::connect_timeout, secs(7)),
        ("keepalives_idle=30", Config::keepalives_idle, secs(30)),
        ("keepalives_idle=0", Config::keepalives_idle, None),
        (
            "keepalives_interval=5",
            Config::keepalives_interval,
            secs(5),
        ),
        (
            "tcp_user_timeout=1500",
            Config::tcp_user_timeout,
            Some(Duration::from_millis(1500)),
        ),
        ("tcp_user_timeout=0", Config::tcp_user_timeout, None),
    ];
    for (input, get, expected) in cases {
        assert_eq!(get(&Config::parse(input).unwrap()), *expected, "{input:?}");
    }
    assert_eq!(
        Config::parse("keepalives_count=4")
            .unwrap()
            .keepalives_count(),
        Some(4)
    );
    assert!(!Config::parse("keepalives=0").unwrap().keepalives());
    assert!(Config::parse("keepalives=5").unwrap().keepalives());
    for (input, bytes) in [
        ("1024", 1024),
        ("4MB", 4 << 20),
        ("64kB", 64 << 10),
        ("64KB", 64 << 10),
        ("1 GB", 1 << 30),
        ("10B", 10),
        ("0", 0),
    ] {
        let c = Config::parse(&format!("statement_cache_bytes='{input}'")).unwrap();
        assert_eq!(c.statement_cache_bytes(), bytes, "{input:?}");
    }
    for (input, on) in [
        ("true", true),
        ("on", true),
        ("1", true),
        ("yes", true),
        ("transaction", true),
        ("Transaction", true),
        ("statement", true),
        ("false", false),
        ("off", false),
        ("0", false),
        ("no", false),
        ("session", false),
    ] {
        let c = Config::parse(&format!("pooler_mode={input}")).unwrap();
        assert_eq!(c.pooler_mode(), on, "{input:?}");
    }
}

#[test]
fn getters_with_derived_values() {
    let c = Config::parse("sslrootcert=system").unwrap();
    assert!(c.ssl_root_cert_is_system());
    assert_eq!(c.ssl_mode(), SslMode::VerifyFull);
    let c = Config::parse("sslrootcert=system sslmode=verify-full sslnegotiation=direct").unwrap();
    assert_eq!(c.ssl_negotiation(), SslNegotiation::Direct);

    let c = Config::parse("fallback_application_name=fallback").unwrap();
    assert_eq!(c.application_name(), Some("fallback"));
    let c = Config::parse("fallback_application_name=fallback application_name=app").unwrap();
    assert_eq!(c.application_name(), Some("app"));
    assert_eq!(c.fallback_application_name(), Some("fallback"));

    let c = Config::parse("user=alice").unwrap();
    assert_eq!(c.dbname_or_default(), "alice");
    assert_eq!(c.effective_user(), "alice");
    let c = Config::parse("user=alice dbname=orders").unwrap();
    assert_eq!(c.dbname_or_default(), "orders");

    let c = Config::parse(
        "sslcert=/c.crt sslkey=/c.key sslcrl=/crl.pem sslcrldir=/crls sslpassword=kp sslsni=0 \
         sslcertmode=require ssl_min_protocol_version=tlsv1.3 requirepeer=postgres passfile=/pw",
    )
    .unwrap();
    assert_eq!(c.ssl_cert(), Some(Path::new("/c.crt")));
    assert_eq!(c.ssl_key(), Some(Path::new("/c.key")));
    assert_eq!(c.ssl_crl(), Some(Path::new("/crl.pem")));
    assert_eq!(c.ssl_crl_dir(), Some(Path::new("/crls")));
    assert_eq!(c.ssl_password(), Some("kp"));
    assert!(!c.ssl_sni());
    assert_eq!(c.ssl_cert_mode(), SslCertMode::Require);
    assert_eq!(c.ssl_min_protocol_version(), SslProtocolVersion::Tls1_3);
    assert_eq!(c.require_peer(), Some("postgres"));
    assert_eq!(c.passfile(), Some(Path::new("/pw")));
}

#[test]
fn require_auth() {
    let cases: &[(&str, &[AuthMethod], &[AuthMethod])] = &[
        (
            "scram-sha-256",
            &[AuthMethod::ScramSha256],
            &[AuthMethod::Md5, AuthMethod::None],
        ),
        (
            "password,md5",
            &[AuthMethod::Password, AuthMethod::Md5],
            &[AuthMethod::ScramSha256],
        ),
        (
            "!password,!md5",
            &[AuthMethod::ScramSha256, AuthMethod::None],
            &[AuthMethod::Password, AuthMethod::Md5],
        ),
        ("none", &[AuthMethod::None], &[AuthMethod::ScramSha256]),
        (
            "",
            &[
                AuthMethod::Password,
                AuthMethod::None,
                AuthMethod::Gss,
                AuthMethod::Sspi,
            ],
            &[],
        ),
    ];
    for (input, allowed, refused) in cases {
        let c = Config::parse(&format!("require_auth='{input}'")).unwrap();
        let ra = c.require_auth().unwrap();
        for m in *allowed {
            assert!(ra.allows(*m), "{input:?} should allow {m}");
        }
        for m in *refused {
            assert!(!ra.allows(*m), "{input:?} should refuse {m}");
        }
        assert_eq!(ra.to_string(), *input);
    }
}

#[test]
fn enums_parse_and_print_libpq_spellings() {
    fn round_trip<T>(all: &[T])
    where
        T: std::str::FromStr<Err = ConfigError> + std::fmt::Display + PartialEq + std::fmt::Debug,
    {
        for v in all {
            assert_eq!(&v.to_string().parse::<T>().unwrap(), v);
        }
    }
    round_trip(&[
        SslMode::Disable,
        SslMode::Allow,
        SslMode::Prefer,
        SslMode::Require,
        SslMode::VerifyCa,
        SslMode::VerifyFull,
    ]);
    round_trip(&[SslNegotiation::Postgres, SslNegotiation::Direct]);
    round_trip(&[
        ChannelBinding::Disable,
        ChannelBinding::Prefer,
        ChannelBinding::Require,
    ]);
    round_trip(&[
        TargetSessionAttrs::Any,
        TargetSessionAttrs::ReadWrite,
        TargetSessionAttrs::ReadOnly,
        TargetSessionAttrs::Primary,
        TargetSessionAttrs::Standby,
        TargetSessionAttrs::PreferStandby,
    ]);
    round_trip(&[LoadBalanceHosts::Disable, LoadBalanceHosts::Random]);
    round_trip(&[
        SslCertMode::Disable,
        SslCertMode::Allow,
        SslCertMode::Require,
    ]);
    round_trip(&[
        SslProtocolVersion::Tls1_0,
        SslProtocolVersion::Tls1_1,
        SslProtocolVersion::Tls1_2,
        SslProtocolVersion::Tls1_3,
    ]);
    assert_eq!("verify-ca".parse::<SslMode>().unwrap(), SslMode::VerifyCa);
    assert_eq!(
        "prefer-standby".parse::<TargetSessionAttrs>().unwrap(),
        TargetSessionAttrs::PreferStandby
    );
    assert_eq!(SslMode::default(), SslMode::Prefer);
    assert!(SslMode::Require.requires_tls() && !SslMode::Prefer.requires_tls());
    assert!(SslMode::VerifyCa.verifies_certificate() && !SslMode::Require.verifies_certificate());
}

#[test]
fn setters_build_what_strings_parse() {
    let mut built = Config::new();
    built
        .add_host("a")
        .add_host("/tmp")
        .add_port(5433)
        .set_user("alice")
        .set_password("pw")
        .set_dbname("orders")
        .set_options("-c work_mem=64MB")
        .set_application_name("app")
        .set_connect_timeout(Duration::from_millis(2500))
        .set_keepalives(false)
        .set_keepalives_idle(Duration::from_secs(30))
        .set_keepalives_interval(Duration::from_secs(5))
        .set_keepalives_count(3)
        .set_tcp_user_timeout(Duration::from_millis(1500))
        .set_ssl_mode(SslMode::VerifyFull)
        .set_ssl_negotiation(SslNegotiation::Direct)
        .set_ssl_root_cert("/ca.pem")
        .set_ssl_cert("/c.crt")
        .set_ssl_key("/c.key")
        .set_channel_binding(ChannelBinding::Require)
        .set_target_session_attrs(TargetSessionAttrs::ReadWrite)
        .set_load_balance_hosts(LoadBalanceHosts::Random)
        .set_require_auth("scram-sha-256".parse().unwrap())
        .set_statement_cache_capacity(10)
        .set_statement_cache_bytes(1000)
        .set_pooler_mode(true)
        .set_passfile("/pw")
        .set_fallback_application_name("fb");
    let parsed = Config::parse(
        "host=a,/tmp port=5433 user=alice password=pw dbname=orders options='-c work_mem=64MB' \
         application_name=app connect_timeout=3 keepalives=0 keepalives_idle=30 \
         keepalives_interval=5 keepalives_count=3 tcp_user_timeout=1500 sslmode=verify-full \
         sslnegotiation=direct sslrootcert=/ca.pem sslcert=/c.crt sslkey=/c.key \
         channel_binding=require target_session_attrs=read-write load_balance_hosts=random \
         require_auth=scram-sha-256 statement_cache_capacity=10 statement_cache_bytes=1000 \
         pooler_mode=true passfile=/pw fallback_application_name=fb",
    )
    .unwrap();
    assert_eq!(built, parsed);
    let mut with_addr = Config::new();
    with_addr.add_host("db").add_hostaddr(ip("10.0.0.1"));
    assert_eq!(
        with_addr,
        Config::parse("host=db hostaddr=10.0.0.1").unwrap()
    );
}
