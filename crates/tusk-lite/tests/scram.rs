//! SCRAM-SHA-256 authentication of `tusk_lite::serve_with`: real clients
//! (the tusk driver, tokio-postgres, psql) with the right password, a
//! wrong one, none, and a user that does not exist; a client that breaks
//! the exchange; and the server keeps serving everyone afterwards.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::Command;

use tusk::Executor;

fn server() -> (tusk_lite::Database, SocketAddr) {
    let db = tusk_lite::Database::open_in_memory();
    let auth = tusk_lite::Auth::scram([("app", "s3cret: with colon"), ("other", "pässwörd")]);
    let addr = tusk_lite::serve_with(&db, "127.0.0.1:0", auth).expect("serve");
    (db, addr)
}

fn url(addr: SocketAddr, user: &str, password: Option<&str>) -> String {
    let mut config = format!("host=127.0.0.1 port={} user={user} dbname=app", addr.port());
    if let Some(p) = password {
        config.push_str(&format!(" password='{}'", p.replace('\'', "\\'")));
    }
    config
}

fn code_of(e: &tusk::Error) -> Option<String> {
    e.code().map(|c| c.code().to_owned())
}

#[tokio::test]
async fn the_tusk_driver_authenticates_and_wrong_or_unknown_users_get_28p01() {
    let (_db, addr) = server();
    let conn = tusk::connect(&url(addr, "app", Some("s3cret: with colon")))
        .await
        .expect("the right password");
    let user: String = conn
        .query_scalar("SELECT current_user", &[])
        .await
        .expect("query");
    assert_eq!(user, "app");
    // SASLprep'd non-ASCII passwords, as PostgreSQL normalises them.
    let other = tusk::connect(&url(addr, "other", Some("pässwörd")))
        .await
        .expect("a non-ASCII password");
    drop(other);

    for (user, password) in [
        ("app", "wrong"),
        ("app", ""),
        ("nobody", "s3cret: with colon"),
    ] {
        let e = tusk::connect(&url(addr, user, Some(password)))
            .await
            .expect_err("refused");
        assert_eq!(
            code_of(&e).as_deref(),
            Some("28P01"),
            "{user}/{password}: {e}"
        );
        assert!(
            e.to_string().contains(&format!(
                "password authentication failed for user \"{user}\""
            )),
            "{e}"
        );
    }
    // No password at all: the driver refuses to go on (the server asked).
    assert!(tusk::connect(&url(addr, "app", None)).await.is_err());

    // The first connection and new ones still work.
    let n: i64 = conn
        .query_scalar("SELECT 41::int8 + 1", &[])
        .await
        .expect("query");
    assert_eq!(n, 42);
    let again = tusk::connect(&url(addr, "app", Some("s3cret: with colon")))
        .await
        .expect("again");
    again
        .execute("CREATE TABLE t (id int PRIMARY KEY)", &[])
        .await
        .expect("create");
}

#[tokio::test]
async fn tokio_postgres_authenticates_with_scram() {
    let (_db, addr) = server();
    let (client, connection) = tokio_postgres::connect(
        &url(addr, "app", Some("s3cret: with colon")),
        tokio_postgres::NoTls,
    )
    .await
    .expect("the right password");
    tokio::spawn(connection);
    let row = client
        .query_one("SELECT $1::int4 + 1", &[&1i32])
        .await
        .expect("query");
    assert_eq!(row.get::<_, i32>(0), 2);
    let e = tokio_postgres::connect(&url(addr, "app", Some("nope")), tokio_postgres::NoTls)
        .await
        .err()
        .expect("refused");
    assert_eq!(e.code().map(|c| c.code()), Some("28P01"), "{e}");

    // A user configured with an empty password cannot log in, even with
    // an empty password: PostgreSQL stores no password for '' ("empty
    // string is not a valid password, clearing password").
    let db = tusk_lite::Database::open_in_memory();
    let auth = tusk_lite::Auth::scram([("blank", "")]);
    let addr = tusk_lite::serve_with(&db, "127.0.0.1:0", auth).expect("serve");
    let e = tokio_postgres::connect(&url(addr, "blank", Some("")), tokio_postgres::NoTls)
        .await
        .err()
        .expect("refused");
    assert_eq!(e.code().map(|c| c.code()), Some("28P01"), "{e}");
}

fn psql(addr: SocketAddr, user: &str, password: &str) -> std::process::Output {
    Command::new("psql")
        .args(["-X", "-A", "-t", "-w", "-h", "127.0.0.1", "-p"])
        .arg(addr.port().to_string())
        .args([
            "-U",
            user,
            "-d",
            "app",
            "-c",
            "SELECT 'in as ' || current_user",
        ])
        .env("PGPASSWORD", password)
        .env("PGSSLMODE", "prefer")
        .output()
        .expect("psql runs (scripts/setup installs it)")
}

#[test]
fn psql_authenticates_with_scram() {
    let (_db, addr) = server();
    let ok = psql(addr, "app", "s3cret: with colon");
    assert!(
        ok.status.success(),
        "psql: {}",
        String::from_utf8_lossy(&ok.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&ok.stdout).trim(), "in as app");
    let bad = psql(addr, "app", "wrong");
    assert!(!bad.status.success());
    let err = String::from_utf8_lossy(&bad.stderr);
    assert!(
        err.contains("password authentication failed for user \"app\""),
        "{err}"
    );
}

/// `n` as a protocol length field.
fn len32(n: usize) -> [u8; 4] {
    i32::try_from(n).expect("small").to_be_bytes()
}

/// The length in a message header (`head[1..5]`), less the 4 bytes of
/// the length itself and the 4 of the authentication code.
fn rest_len(head: &[u8; 9]) -> usize {
    usize::try_from(u32::from_be_bytes([head[1], head[2], head[3], head[4]])).expect("small") - 8
}

/// A startup packet for `user`, protocol 3.0.
fn startup(user: &str) -> Vec<u8> {
    let mut body = Vec::new();
    body.extend_from_slice(&196608i32.to_be_bytes());
    for s in ["user", user, "database", "app"] {
        body.extend_from_slice(s.as_bytes());
        body.push(0);
    }
    body.push(0);
    let mut msg = len32(body.len() + 4).to_vec();
    msg.extend_from_slice(&body);
    msg
}

/// Reads until the server closes, returning everything it sent.
fn read_all(s: &mut TcpStream) -> Vec<u8> {
    s.set_read_timeout(Some(std::time::Duration::from_secs(10)))
        .expect("timeout");
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    out
}

#[tokio::test]
async fn a_broken_exchange_gets_an_error_and_the_server_goes_on() {
    let (_db, addr) = server();
    // Garbage instead of a SASLInitialResponse, the wrong mechanism, a
    // client-first message that is not SCRAM's, a wrong length.
    let garbage = {
        let mut m = vec![b'p'];
        m.extend_from_slice(&8i32.to_be_bytes());
        m.extend_from_slice(b"\xff\xfe\x00\x01");
        m
    };
    let wrong_mechanism = {
        let mut body = b"SCRAM-SHA-1\0".to_vec();
        body.extend_from_slice(&(-1i32).to_be_bytes());
        let mut m = vec![b'p'];
        m.extend_from_slice(&len32(body.len() + 4));
        m.extend_from_slice(&body);
        m
    };
    let initial = |data: &[u8]| {
        let mut body = b"SCRAM-SHA-256\0".to_vec();
        body.extend_from_slice(&len32(data.len()));
        body.extend_from_slice(data);
        let mut m = vec![b'p'];
        m.extend_from_slice(&len32(body.len() + 4));
        m.extend_from_slice(&body);
        m
    };
    let bad_first = initial(b"xyz\xff");
    let bad_length = {
        let mut m = initial(b"n,,n=,r=abc");
        m.truncate(m.len() - 2);
        let len = len32(m.len() - 1);
        m[1..5].copy_from_slice(&len);
        m
    };
    for (what, bytes, code) in [
        ("garbage", garbage, "08P01"),
        ("wrong mechanism", wrong_mechanism, "08P01"),
        (
            "a client-first message that is not SCRAM",
            bad_first,
            "08P01",
        ),
        ("a length that does not match", bad_length, "08P01"),
    ] {
        let mut s = TcpStream::connect(addr).expect("connect");
        s.write_all(&startup("app")).expect("startup");
        let mut head = [0u8; 9];
        s.read_exact(&mut head).expect("AuthenticationSASL");
        assert_eq!(head[0], b'R', "{what}");
        assert_eq!(&head[5..9], &10i32.to_be_bytes(), "{what}: SASL");
        s.write_all(&bytes).expect("write");
        let answer = read_all(&mut s);
        let text = String::from_utf8_lossy(&answer);
        assert!(text.contains(code), "{what}: {text}");
        assert!(text.contains("FATAL"), "{what}: {text}");
    }
    // A good first message, then garbage as the final one.
    {
        let mut s = TcpStream::connect(addr).expect("connect");
        s.write_all(&startup("app")).expect("startup");
        let mut head = [0u8; 9];
        s.read_exact(&mut head).expect("AuthenticationSASL");
        let mut rest = vec![0u8; rest_len(&head)];
        s.read_exact(&mut rest).expect("mechanisms");
        s.write_all(&initial(b"n,,n=,r=abcdefghijklmnop"))
            .expect("first");
        let mut head = [0u8; 9];
        s.read_exact(&mut head).expect("AuthenticationSASLContinue");
        assert_eq!(&head[5..9], &11i32.to_be_bytes(), "SASLContinue");
        let mut rest = vec![0u8; rest_len(&head)];
        s.read_exact(&mut rest).expect("server-first");
        let mut m = vec![b'p'];
        m.extend_from_slice(&10i32.to_be_bytes());
        m.extend_from_slice(b"c=\xff\x00zz,");
        s.write_all(&m).expect("final");
        let text = String::from_utf8_lossy(&read_all(&mut s)).into_owned();
        assert!(
            text.contains("08P01") || text.contains("28P01"),
            "garbage final: {text}"
        );
    }
    // A client that hangs up half way.
    {
        let mut s = TcpStream::connect(addr).expect("connect");
        s.write_all(&startup("app")).expect("startup");
        let mut head = [0u8; 9];
        s.read_exact(&mut head).expect("AuthenticationSASL");
    }
    let conn = tusk::connect(&url(addr, "app", Some("s3cret: with colon")))
        .await
        .expect("the server still serves");
    let one: i32 = conn.query_scalar("SELECT 1", &[]).await.expect("query");
    assert_eq!(one, 1);
}

#[tokio::test]
async fn trust_is_the_default_and_the_embedded_connection_needs_no_password() {
    let db = tusk_lite::Database::open_in_memory();
    let addr = tusk_lite::serve(&db, "127.0.0.1:0").expect("serve");
    let conn = tusk::connect(&url(addr, "anyone", None))
        .await
        .expect("trust");
    let user: String = conn
        .query_scalar("SELECT current_user", &[])
        .await
        .expect("query");
    assert_eq!(user, "anyone");
    let embedded = db.connect().await.expect("embedded");
    let one: i32 = embedded.query_scalar("SELECT 1", &[]).await.expect("query");
    assert_eq!(one, 1);
}

/// Panics of the server's session threads (a panic closes the connection
/// without an ErrorResponse).
static SESSION_PANICS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

fn count_session_panics() {
    static HOOK: std::sync::Once = std::sync::Once::new();
    HOOK.call_once(|| {
        let default = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if std::thread::current().name() == Some("tusk-lite-session") {
                SESSION_PANICS.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            }
            default(info);
        }));
    });
}

/// Connects as `user` and reads the AuthenticationSASL request.
fn at_sasl(addr: SocketAddr, user: &str) -> TcpStream {
    let mut s = TcpStream::connect(addr).expect("connect");
    s.write_all(&startup(user)).expect("startup");
    let mut head = [0u8; 9];
    s.read_exact(&mut head).expect("AuthenticationSASL");
    assert_eq!(&head[5..9], &10i32.to_be_bytes(), "SASL");
    let mut rest = vec![0u8; rest_len(&head)];
    s.read_exact(&mut rest).expect("mechanisms");
    s
}

#[tokio::test]
async fn hostile_messages_during_the_exchange_neither_panic_nor_wait() {
    count_session_panics();
    let (_db, addr) = server();
    // A password message whose length field is under 4 (its own size):
    // PostgreSQL closes the connection ("invalid message length"); the
    // session thread used to panic (pgwire computed `len - 4`).
    for len in [0i32, 3] {
        let mut s = at_sasl(addr, "app");
        let mut m = vec![b'p'];
        m.extend_from_slice(&len.to_be_bytes());
        m.extend_from_slice(b"SCRAM-SHA-256\0");
        s.write_all(&m).expect("write");
        let _ = read_all(&mut s);
    }
    // Another message instead of the SASL response, whatever length it
    // claims: PostgreSQL answers from its type byte alone, FATAL 08P01
    // "expected SASL response, got message type 81", without reading a
    // gigabyte from an unauthenticated client first. A second startup
    // packet or a CancelRequest there starts with a zero byte.
    for (what, first, ty) in [
        ("a 1 GiB Query", b'Q', 81),
        ("a second startup packet", 0, 0),
        ("Terminate", b'X', 88),
    ] {
        let mut s = at_sasl(addr, "app");
        let mut m = vec![first];
        m.extend_from_slice(&0x3fff_fff0i32.to_be_bytes());
        m.extend_from_slice(b"SELECT 1");
        s.write_all(&m).expect("write");
        let started = std::time::Instant::now();
        let text = String::from_utf8_lossy(&read_all(&mut s)).into_owned();
        assert!(
            started.elapsed() < std::time::Duration::from_secs(5),
            "{what}: the server waited for the body"
        );
        assert!(
            text.contains("FATAL") && text.contains("08P01"),
            "{what}: {text}"
        );
        assert!(
            text.contains(&format!("expected SASL response, got message type {ty}")),
            "{what}: {text}"
        );
    }
    // No user name, or an empty one: PostgreSQL's FATAL 28000 before any
    // authentication (tusk-lite used to take "postgres", or try "").
    for user in [None, Some("")] {
        let mut body = 196608i32.to_be_bytes().to_vec();
        if let Some(u) = user {
            body.extend_from_slice(format!("user\0{u}\0").as_bytes());
        }
        body.extend_from_slice(b"database\0app\0\0");
        let mut m = len32(body.len() + 4).to_vec();
        m.extend_from_slice(&body);
        let mut s = TcpStream::connect(addr).expect("connect");
        s.write_all(&m).expect("startup");
        let text = String::from_utf8_lossy(&read_all(&mut s)).into_owned();
        assert!(
            text.contains("28000")
                && text.contains("no PostgreSQL user name specified in startup packet"),
            "{user:?}: {text}"
        );
    }
    // A password message once the session runs: PostgreSQL's FATAL 08P01
    // 'invalid frontend message type 112' (tusk-lite queued an ERROR and
    // no ReadyForQuery: the client waited for ever).
    {
        let db = tusk_lite::Database::open_in_memory();
        let trust = tusk_lite::serve(&db, "127.0.0.1:0").expect("serve");
        let mut s = TcpStream::connect(trust).expect("connect");
        s.write_all(&startup("app")).expect("startup");
        let mut seen = Vec::new();
        while !seen.ends_with(b"Z\0\0\0\x05I") {
            let mut b = [0u8; 1];
            s.read_exact(&mut b).expect("until ReadyForQuery");
            seen.push(b[0]);
        }
        let mut m = vec![b'p'];
        m.extend_from_slice(&9i32.to_be_bytes());
        m.extend_from_slice(b"hello");
        s.write_all(&m).expect("write");
        let started = std::time::Instant::now();
        let text = String::from_utf8_lossy(&read_all(&mut s)).into_owned();
        assert!(
            started.elapsed() < std::time::Duration::from_secs(5),
            "the server left the client waiting"
        );
        assert!(
            text.contains("FATAL") && text.contains("invalid frontend message type 112"),
            "{text}"
        );
    }
    let conn = tusk::connect(&url(addr, "app", Some("s3cret: with colon")))
        .await
        .expect("the server still serves");
    let one: i32 = conn.query_scalar("SELECT 1", &[]).await.expect("query");
    assert_eq!(one, 1);
    assert_eq!(
        SESSION_PANICS.load(std::sync::atomic::Ordering::SeqCst),
        0,
        "a session thread panicked"
    );
}
