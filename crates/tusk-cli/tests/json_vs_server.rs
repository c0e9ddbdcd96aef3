//! The JSON formatting of intervals, dates, timestamps, inet, floats and
//! numerics checked value by value against the server's own text, over
//! hundreds of generated values: `SELECT v AS j, <server's text> AS t`, and
//! `j` must equal `t`.

mod common;

use common::{json_rows, with_setting};
use serde_json::Value;
use tusk_testkit::Cluster;

/// Runs `sql` (columns `j` and `t`) in both paths and returns the pairs.
fn pairs(url: &str, sql: &str) -> Vec<(Value, Value)> {
    let mut all = Vec::new();
    for extra in ["", ", point(0,0) AS z"] {
        let rows = json_rows(url, &format!("SELECT j, t{extra} FROM ({sql}) s"), &[]);
        assert!(rows.len() > 1, "{sql}");
        all.extend(rows.into_iter().map(|r| (r["j"].clone(), r["t"].clone())));
    }
    all
}

fn assert_same_strings(url: &str, sql: &str) {
    for (j, t) in pairs(url, sql) {
        assert_eq!(j, t, "{sql}");
    }
}

#[test]
fn intervals_match_intervalstyle_iso_8601() {
    let db = Cluster::shared().database().unwrap();
    let url = with_setting(&db.url(), "IntervalStyle", "iso_8601");
    // Mixed signs in every part, fractional seconds, big and small values.
    assert_same_strings(
        &url,
        "SELECT v AS j, v::text AS t FROM (SELECT \
           (i * 7919 % 2000 - 1000) * interval '1 month' \
           + (i * 104729 % 20000 - 10000) * interval '1 day' \
           + (i::int8 * 15485863 % 100000000000 - 50000000000) * interval '1 microsecond' AS v \
         FROM generate_series(1, 400) i) x",
    );
    assert_same_strings(
        &url,
        "SELECT v AS j, v::text AS t FROM (VALUES \
           (interval '0'), ('-0.000001 s'), ('1.5 s'), ('-1.5 s'), ('59 min 59.999999 s'), \
           ('-1 year -1 mon'), ('1 year -1 mon'), ('-1 day 1 s'), ('1 day -1 s'), \
           ('178000000 years'), ('-178000000 years'), ('2147483647 days'), \
           ('-2147483648 days'), ('2562047788 hours 54.775807 s'), \
           ('-2562047788 hours -54.775808 s'), ('3 mons -3 days 3 hours -3 min 3.000003 s')) x(v)",
    );
}

#[test]
fn dates_and_timestamps_match_to_json_in_utc() {
    let db = Cluster::shared().database().unwrap();
    let url = with_setting(&db.url(), "TimeZone", "UTC");
    // From about 50 BC to 4050 AD, with odd microseconds.
    for (ty, step) in [
        (
            "timestamp",
            "interval '1 day' * 3011 + interval '1.234567 s' * i",
        ),
        (
            "timestamptz",
            "interval '1 day' * 3011 + interval '0.000123 s' * i",
        ),
    ] {
        assert_same_strings(
            &url,
            &format!(
                "SELECT v AS j, to_json(v) #>> '{{}}' AS t FROM (SELECT \
                   '2000-01-01 00:00:00'::{ty} + (i - 250) * ({step}) AS v \
                 FROM generate_series(1, 400) i) x"
            ),
        );
    }
    assert_same_strings(
        &url,
        "SELECT v AS j, to_json(v) #>> '{}' AS t FROM (SELECT \
           date '2000-01-01' + (i - 250) * 3011 AS v FROM generate_series(1, 400) i) x",
    );
    assert_same_strings(
        &url,
        "SELECT v AS j, to_json(v) #>> '{}' AS t FROM (VALUES \
           (timestamptz '4713-01-01 00:00:00+00 BC'), ('294276-12-31 23:59:59.999999+00'), \
           ('0001-01-01 00:00:00+00'), ('0001-12-31 23:59:59.5+00 BC'), ('infinity'), \
           ('-infinity'), ('1970-01-01 00:00:00+00'), ('2000-02-29 12:00:00.000001+00')) x(v)",
    );
    assert_same_strings(
        &url,
        "SELECT v AS j, to_json(v) #>> '{}' AS t FROM (VALUES \
           (date '4713-01-01 BC'), ('5874897-12-31'), ('0001-01-01'), ('0001-12-31 BC'), \
           ('infinity'), ('-infinity')) x(v)",
    );
    assert_same_strings(
        &url,
        "SELECT v AS j, v::text AS t FROM (SELECT \
           time '00:00' + interval '1.000001 s' * (i * 21599) AS v \
         FROM generate_series(0, 400) i) x",
    );
}

/// `format('%s', v)` prints with the output function (`v::text` is the
/// `text(inet)` function, which always shows the mask).
#[test]
fn inet_and_cidr_match_the_server_text() {
    let db = Cluster::shared().database().unwrap();
    assert_same_strings(
        &db.url(),
        "SELECT v AS j, format('%s', v) AS t FROM (VALUES \
           (inet '0.0.0.0'), ('255.255.255.255/0'), ('10.1.2.3/8'), ('::'), ('::1'), \
           ('::0.0.0.1'), ('::1.2.3.4'), ('::ffff:1.2.3.4/120'), ('::fffe:1.2.3.4'), \
           ('1::'), ('1:0:0:1::'), ('1::1:0:0:1'), ('1:0:1:0:1:0:1:0'), \
           ('2001:db8:0:0:1:0:0:1'), ('2001:0:0:1:0:0:0:1/64'), ('0:0:0:0:0:1:0:0')) x(v)",
    );
    assert_same_strings(
        &db.url(),
        "SELECT v AS j, format('%s', v) AS t FROM (VALUES \
           (cidr '10.0.0.0/8'), ('192.168.1.1/32'), ('::/0'), ('2001:db8::/32'), ('::1/128'), \
           ('::ffff:1.2.3.0/120')) x(v)",
    );
    // Generated IPv6 addresses with zero runs of every length and place.
    assert_same_strings(
        &db.url(),
        "SELECT v AS j, format('%s', v) AS t FROM (SELECT array_to_string(ARRAY( \
           SELECT CASE WHEN (i >> g) & 1 = 1 THEN to_hex(g * 4097 + i) ELSE '0' END \
           FROM generate_series(0, 7) g), ':')::inet AS v FROM generate_series(0, 255) i) x",
    );
}

#[test]
fn floats_and_numerics_read_back_exactly() {
    let db = Cluster::shared().database().unwrap();
    for (j, t) in pairs(
        &db.url(),
        "SELECT v AS j, v::text AS t FROM (SELECT sin(i) * 10 ^ (i % 600 - 300) AS v \
         FROM generate_series(1, 400) i) x",
    ) {
        let t: f64 = t.as_str().unwrap().parse().unwrap();
        assert_eq!(j.as_f64(), Some(t), "{j} vs {t}");
    }
    for (j, t) in pairs(
        &db.url(),
        "SELECT v AS j, v::text AS t FROM (SELECT (sin(i) * 10 ^ (i % 70 - 35))::float4 AS v \
         FROM generate_series(1, 400) i) x",
    ) {
        let t: f32 = t.as_str().unwrap().parse().unwrap();
        let j: f32 = j.to_string().parse().unwrap();
        assert_eq!(j, t);
    }
    assert_same_strings(
        &db.url(),
        "SELECT v AS j, v::text AS t FROM (SELECT \
           round((sin(i) * 10 ^ (i % 40 - 20))::numeric, i % 30) AS v \
         FROM generate_series(1, 400) i) x",
    );
}
