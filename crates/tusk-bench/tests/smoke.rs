//! The binary end to end, on its own throwaway cluster: one short round of
//! W1 and W4 for every driver, then the JSON layout that other tools read.
//! (Not part of scripts/test: it loads the 2M-row data set.)

use std::process::Command;

#[test]
fn one_round_writes_the_json_layout_and_the_chart() {
    let dir = std::env::temp_dir().join(format!("tusk-bench-smoke-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let json = dir.join("bench.json");
    let chart = dir.join("bench.svg");
    let out = Command::new(env!("CARGO_BIN_EXE_tusk-bench"))
        .args([
            "--only",
            "W1,W4",
            "--rounds",
            "1",
            "--seconds",
            "1",
            "--scans",
            "1",
        ])
        .arg("--json")
        .arg(&json)
        .arg("--chart")
        .arg(&chart)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("W1  point select"), "{stdout}");

    let doc: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    for (workload, drivers) in [
        ("W1", &["tusk", "tokio-postgres", "sqlx", "pgbench"][..]),
        (
            "W4",
            &["tusk", "tusk-stream", "tokio-postgres", "sqlx", "pgbench"][..],
        ),
    ] {
        for driver in drivers {
            let d = &doc["workloads"][workload][driver];
            for key in ["throughput", "p50_us", "p99_us", "client_cpu_us_per_op"] {
                assert!(d[key].is_number(), "{workload}/{driver}/{key}: {d}");
            }
            assert!(d["throughput"].as_f64().unwrap() > 0.0);
        }
    }
    let rss = doc["workloads"]["W4"]["tusk-stream"]["peak_rss_mib"]
        .as_f64()
        .unwrap();
    assert!(rss > 0.0);
    assert!(doc["machine"]["server"]
        .as_str()
        .unwrap()
        .contains("PostgreSQL"));

    let svg = std::fs::read_to_string(&chart).unwrap();
    assert!(svg.starts_with("<svg") && svg.contains("W4") && svg.trim_end().ends_with("</svg>"));
    std::fs::remove_dir_all(&dir).unwrap();
}
