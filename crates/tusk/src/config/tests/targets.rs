//! The host, address and port lists turned into targets.

use std::net::IpAddr;
use std::path::{Path, PathBuf};

use super::ip;
use crate::config::*;

#[test]
fn targets_apply_defaults_and_pair_lists() {
    let sock = Path::new("/sock");
    let unix = |dir: &str| Host::Unix(PathBuf::from(dir));
    let tcp = |name: &str| Host::Tcp(name.to_owned());
    let t = |host: Host, hostaddr: Option<IpAddr>, port: u16| Target {
        host,
        hostaddr,
        port,
    };
    let cases: Vec<(&str, Vec<Target>)> = vec![
        ("", vec![t(unix("/sock"), None, 5432)]),
        ("port=5433", vec![t(unix("/sock"), None, 5433)]),
        ("host=''", vec![t(unix("/sock"), None, 5432)]),
        ("host=db", vec![t(tcp("db"), None, 5432)]),
        (
            "host=a,b,c port=1,2,3",
            vec![
                t(tcp("a"), None, 1),
                t(tcp("b"), None, 2),
                t(tcp("c"), None, 3),
            ],
        ),
        (
            "host=a,b port=7",
            vec![t(tcp("a"), None, 7), t(tcp("b"), None, 7)],
        ),
        (
            "host=a,,c",
            vec![
                t(tcp("a"), None, 5432),
                t(unix("/sock"), None, 5432),
                t(tcp("c"), None, 5432),
            ],
        ),
        (
            "host=a,b port=1,",
            vec![t(tcp("a"), None, 1), t(tcp("b"), None, 5432)],
        ),
        (
            "host=/tmp,localhost",
            vec![t(unix("/tmp"), None, 5432), t(tcp("localhost"), None, 5432)],
        ),
        ("host=@abstract", vec![t(unix("@abstract"), None, 5432)]),
        ("host=::1", vec![t(tcp("::1"), None, 5432)]),
        (
            "hostaddr=127.0.0.1",
            vec![t(tcp("127.0.0.1"), Some(ip("127.0.0.1")), 5432)],
        ),
        (
            "host=db hostaddr=10.0.0.1",
            vec![t(tcp("db"), Some(ip("10.0.0.1")), 5432)],
        ),
        (
            "host=a,b hostaddr=10.0.0.1, port=1,2",
            vec![t(tcp("a"), Some(ip("10.0.0.1")), 1), t(tcp("b"), None, 2)],
        ),
        ("postgresql://[::1]:6000", vec![t(tcp("::1"), None, 6000)]),
        (
            "postgresql://%2Frun%2Fpg:6000",
            vec![t(unix("/run/pg"), None, 6000)],
        ),
    ];
    for (input, expected) in cases {
        let c = Config::parse(input).unwrap();
        assert_eq!(c.targets_with(sock).unwrap(), expected, "{input:?}");
    }
    // A port list with no hosts to pair with is an error only once defaults apply.
    let c = Config::parse("port=1,2").unwrap();
    let err = c.targets_with(sock).unwrap_err();
    assert_eq!(err.key(), Some("port"));
    // Direct TLS needs a strong sslmode; the default (prefer) is not.
    let c = Config::parse("sslnegotiation=direct").unwrap();
    assert_eq!(c.targets_with(sock).unwrap_err().key(), Some("sslmode"));
    // The real default directory is one of libpq's two.
    let dir = default_socket_dir();
    assert!(dir == Path::new("/var/run/postgresql") || dir == Path::new("/tmp"));
    assert_eq!(Config::new().targets().unwrap()[0].host, Host::Unix(dir));
}

#[test]
fn target_socket_path_and_display() {
    let c = Config::parse("host=/run/pg,db,::1 port=5433").unwrap();
    let targets = c.targets().unwrap();
    assert_eq!(
        targets[0].socket_path(),
        Some(PathBuf::from("/run/pg/.s.PGSQL.5433"))
    );
    assert_eq!(targets[1].socket_path(), None);
    let shown: Vec<String> = targets.iter().map(ToString::to_string).collect();
    assert_eq!(shown, ["/run/pg/.s.PGSQL.5433", "db:5433", "[::1]:5433"]);
    let c = Config::parse("host=db hostaddr=::1").unwrap();
    assert_eq!(c.targets().unwrap()[0].to_string(), "db ([::1]:5432)");
}
