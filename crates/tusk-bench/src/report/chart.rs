//! The chart (`--chart PATH`): an SVG drawn by hand, two panels of grouped
//! bars (throughput, then client CPU per operation), every driver
//! normalised to tusk = 1.0, each bar labelled with its value.

use std::fmt::Write as _;

use super::table::thousands;
use super::{WorkloadReport, TUSK};

const WIDTH: f64 = 1000.0;
const LEFT: f64 = 70.0;
const RIGHT: f64 = 20.0;
const PANEL: f64 = 300.0;
const TOP: f64 = 90.0;
const GROUP_LABELS: f64 = 56.0;

/// A driver's colour, the same in every panel and every run.
pub fn colour(driver: &str) -> &'static str {
    match driver {
        "tusk" => "#d9480f",
        "tusk-shared" | "tusk-tracked" | "tusk-stream" | "tusk-groups" | "tusk-isolated"
        | "tusk-acquire" | "tusk-tx" | "tusk-noreset" => "#f59f00",
        "tokio-postgres" => "#1c7ed6",
        "tokio-postgres-pipelined" => "#74c0fc",
        "deadpool-tokio-postgres" => "#7048e8",
        "deadpool-clean" => "#9775fa",
        "sqlx" => "#2f9e44",
        "pgbench" => "#495057",
        "server" => "#212529",
        _ => "#868e96",
    }
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// A round upper bound for an axis whose largest value is `max`, and its
/// tick step.
fn axis(max: f64) -> (f64, f64) {
    let max = if max.is_finite() && max > 0.0 {
        max * 1.12
    } else {
        1.0
    };
    for step in [
        0.1, 0.2, 0.25, 0.5, 1.0, 2.0, 2.5, 5.0, 10.0, 20.0, 25.0, 50.0, 100.0,
    ] {
        if max / step <= 8.0 {
            return ((max / step).ceil() * step, step);
        }
    }
    (max, max / 4.0)
}

/// One bar: driver and value relative to tusk.
struct Bar {
    driver: &'static str,
    value: f64,
}

/// What one panel shows of a workload: the bars and a caption line.
struct Group {
    id: String,
    caption: String,
    bars: Vec<Bar>,
}

fn panel(out: &mut String, y0: f64, title: &str, groups: &[Group]) {
    let plot_h = PANEL - GROUP_LABELS - 30.0;
    let top = y0 + 30.0;
    let bottom = top + plot_h;
    let max = groups
        .iter()
        .flat_map(|g| g.bars.iter().map(|b| b.value))
        .fold(1.0f64, f64::max);
    let (ymax, step) = axis(max);
    let y = |v: f64| bottom - v / ymax * plot_h;
    let _ = writeln!(
        out,
        r#"<text x="{LEFT}" y="{}" font-size="15" font-weight="bold">{}</text>"#,
        y0 + 18.0,
        escape(title)
    );
    let mut tick = 0.0;
    while tick <= ymax + 1e-9 {
        let ty = y(tick);
        let _ = writeln!(
            out,
            r##"<line x1="{LEFT}" y1="{ty:.1}" x2="{:.1}" y2="{ty:.1}" stroke="#dee2e6"/><text x="{:.1}" y="{:.1}" font-size="11" text-anchor="end">{tick:.2}</text>"##,
            WIDTH - RIGHT,
            LEFT - 6.0,
            ty + 4.0
        );
        tick += step;
    }
    let one = y(1.0);
    let _ = writeln!(
        out,
        r##"<line x1="{LEFT}" y1="{one:.1}" x2="{:.1}" y2="{one:.1}" stroke="#d9480f" stroke-dasharray="6 4"/>"##,
        WIDTH - RIGHT,
    );
    let n = groups.len().max(1);
    let group_w = (WIDTH - LEFT - RIGHT) / f64::from(u32::try_from(n).unwrap_or(1));
    for (gi, g) in groups.iter().enumerate() {
        let gx = LEFT + group_w * f64::from(u32::try_from(gi).unwrap_or(0));
        let k = f64::from(u32::try_from(g.bars.len().max(1)).unwrap_or(1));
        let bar_w = (group_w * 0.8 / k).min(44.0);
        let start = gx + (group_w - bar_w * k) / 2.0;
        for (bi, b) in g.bars.iter().enumerate() {
            let bx = start + bar_w * f64::from(u32::try_from(bi).unwrap_or(0));
            let by = y(b.value.max(0.0));
            let _ = writeln!(
                out,
                r#"<rect x="{:.1}" y="{by:.1}" width="{:.1}" height="{:.1}" fill="{}"><title>{}: {:.2}</title></rect><text x="{:.1}" y="{:.1}" font-size="10.5" text-anchor="middle">{:.2}</text>"#,
                bx + 2.0,
                bar_w - 4.0,
                (bottom - by).max(0.0),
                colour(b.driver),
                escape(b.driver),
                b.value,
                bx + bar_w / 2.0,
                by - 4.0,
                b.value
            );
        }
        let cx = gx + group_w / 2.0;
        let _ = writeln!(
            out,
            r#"<text x="{cx:.1}" y="{:.1}" font-size="14" font-weight="bold" text-anchor="middle">{}</text><text x="{cx:.1}" y="{:.1}" font-size="11" text-anchor="middle">{}</text>"#,
            bottom + 20.0,
            escape(&g.id),
            bottom + 38.0,
            escape(&g.caption)
        );
    }
    let _ = writeln!(
        out,
        r##"<line x1="{LEFT}" y1="{bottom:.1}" x2="{:.1}" y2="{bottom:.1}" stroke="#212529"/>"##,
        WIDTH - RIGHT
    );
}

/// The SVG document for `reports`, with `subtitle` under the title
/// (machine, date, rounds).
pub fn render(reports: &[WorkloadReport], subtitle: &str) -> String {
    let mut throughput = Vec::new();
    let mut cpu = Vec::new();
    let mut drivers: Vec<&'static str> = Vec::new();
    let mut legend_order: Vec<(usize, &'static str)> = Vec::new();
    for r in reports {
        let Some(tusk) = r.driver(TUSK) else { continue };
        let mut t_bars = Vec::new();
        let mut c_bars = Vec::new();
        for d in &r.drivers {
            if !drivers.contains(&d.driver) {
                drivers.push(d.driver);
                legend_order.push((rank(d.driver), d.driver));
            }
            // The inverse of the table's paired ratio (tusk/peer, round by
            // round) where there is one, so that chart and table agree.
            let rel = |paired: Option<super::Stat>, a: f64, b: f64| match paired {
                Some(p) if p.median > 0.0 => 1.0 / p.median,
                _ if b > 0.0 => a / b,
                _ => 0.0,
            };
            t_bars.push(Bar {
                driver: d.driver,
                value: rel(d.ratio, d.throughput.median, tusk.throughput.median),
            });
            c_bars.push(Bar {
                driver: d.driver,
                value: rel(
                    d.cpu_ratio,
                    d.cpu_us_per_op.median,
                    tusk.cpu_us_per_op.median,
                ),
            });
        }
        let disturbed = r
            .foreign_max()
            .is_some_and(|m| m > crate::noise::DISTURBED_CORES);
        let id = if disturbed {
            format!("{} (disturbed)", r.id)
        } else {
            r.id.to_owned()
        };
        throughput.push(Group {
            id: id.clone(),
            caption: format!("tusk: {} {}", thousands(tusk.throughput.median), r.unit),
            bars: t_bars,
        });
        cpu.push(Group {
            id,
            caption: format!(
                "tusk: {:.2} us CPU per {}",
                tusk.cpu_us_per_op.median,
                op_name(r.unit)
            ),
            bars: c_bars,
        });
    }
    let height = TOP + 2.0 * PANEL + 20.0;
    let mut out = String::new();
    let _ = writeln!(
        out,
        r##"<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" viewBox="0 0 {WIDTH} {height}" font-family="DejaVu Sans, Helvetica, Arial, sans-serif" fill="#212529">"##
    );
    let _ = writeln!(out, r#"<rect width="100%" height="100%" fill="white"/>"#);
    let _ = writeln!(
        out,
        r##"<text x="{LEFT}" y="26" font-size="18" font-weight="bold">tusk against its peers, same server, same run (tusk = 1.0)</text><text x="{LEFT}" y="46" font-size="12" fill="#495057">{}</text>"##,
        escape(subtitle)
    );
    legend_order.sort();
    let mut lx = LEFT;
    for (_, d) in &legend_order {
        let _ = writeln!(
            out,
            r#"<rect x="{lx:.1}" y="60" width="14" height="14" fill="{}"/><text x="{:.1}" y="72" font-size="12">{}</text>"#,
            colour(d),
            lx + 19.0,
            escape(d)
        );
        lx += 27.0 + 7.2 * f64::from(u32::try_from(d.len()).unwrap_or(10));
    }
    panel(
        &mut out,
        TOP,
        "Throughput relative to tusk (higher is faster; dashed: tusk = 1.0)",
        &throughput,
    );
    panel(
        &mut out,
        TOP + PANEL,
        "Client CPU per operation relative to tusk (lower leaves more CPU to the server)",
        &cpu,
    );
    out.push_str("</svg>\n");
    out
}

/// Where a driver stands in the legend: tusk and its variants first.
fn rank(driver: &str) -> usize {
    [
        "tusk",
        "tusk-shared",
        "tusk-tracked",
        "tusk-stream",
        "tusk-groups",
        "tusk-isolated",
        "tusk-acquire",
        "tusk-tx",
        "tusk-noreset",
        "tokio-postgres",
        "tokio-postgres-pipelined",
        "deadpool-tokio-postgres",
        "deadpool-clean",
        "sqlx",
        "pgbench",
        "server",
    ]
    .iter()
    .position(|d| *d == driver)
    .unwrap_or(usize::MAX)
}

fn op_name(unit: &str) -> &str {
    match unit {
        "rows/s" => "row",
        "inserts/s" => "insert",
        "transactions/s" => "transaction",
        _ => "query",
    }
}

#[cfg(test)]
mod tests {
    use super::axis;

    #[test]
    fn axes_end_on_a_round_number() {
        let (top, step) = axis(1.0);
        assert!((top - 1.2).abs() < 1e-9 && (step - 0.2).abs() < 1e-9);
        assert_eq!(axis(3.7), (5.0, 1.0));
        assert_eq!(axis(0.0), (1.0, 0.2));
    }
}
