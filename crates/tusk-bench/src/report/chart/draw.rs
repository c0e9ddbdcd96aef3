//! Drawing the [`Layout`] with `plotters`, into a PNG or an SVG. Text needs
//! a TrueType font, read at run time (no system font library is linked):
//! DejaVu Sans from Debian's `fonts-dejavu-core` (scripts/setup installs
//! it), or the file `TUSK_BENCH_FONT` names.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use plotters::style::{register_font, FontStyle, RGBColor};
use serde_json::Value;

use super::layout::{
    value_label, Layout, CAPTION, CAPTION_LINE, LEFT, LEGEND, PANEL_TITLE, PLOT, SUBTITLE, TITLE,
    VALUE,
};
use super::{colour, legend_label, Chart, Panel, LIMIT};
use crate::error::{BenchError, Result};
use crate::report::TUSK;

const FAMILY: &str = "sans-serif";
const DEJAVU: &str = "/usr/share/fonts/truetype/dejavu";
const TEXT: RGBColor = RGBColor(0x21, 0x25, 0x29);
const GREY: RGBColor = RGBColor(0x49, 0x50, 0x57);
const GRID: RGBColor = RGBColor(0xde, 0xe2, 0xe6);

fn chart_error(e: impl std::fmt::Display) -> BenchError {
    BenchError::Chart(e.to_string())
}

/// Reads a font file once, for the life of the process.
fn read_font(path: &Path) -> std::result::Result<&'static [u8], String> {
    let bytes = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(Box::leak(bytes.into_boxed_slice()))
}

/// Registers the regular and bold fonts once.
fn fonts() -> Result<()> {
    static FONTS: OnceLock<std::result::Result<(), String>> = OnceLock::new();
    FONTS
        .get_or_init(|| {
            let regular = std::env::var_os("TUSK_BENCH_FONT")
                .map_or_else(|| Path::new(DEJAVU).join("DejaVuSans.ttf"), PathBuf::from);
            let bytes = read_font(&regular).map_err(|e| {
                format!(
                    "{e}; the chart needs a TrueType font: `apt-get install fonts-dejavu-core` \
                     (scripts/setup does), or set TUSK_BENCH_FONT to a .ttf file"
                )
            })?;
            register_font(FAMILY, FontStyle::Normal, bytes)
                .map_err(|_| format!("{}: not a TrueType font", regular.display()))?;
            let bold = regular.with_file_name("DejaVuSans-Bold.ttf");
            // Without a bold face, bold text falls back to the regular one.
            if let Ok(bytes) = read_font(&bold) {
                let _ = register_font(FAMILY, FontStyle::Bold, bytes);
            }
            Ok(())
        })
        .clone()
        .map_err(BenchError::Chart)
}

fn font(size: u32, bold: bool) -> FontDesc<'static> {
    let f = (FAMILY, f64::from(size)).into_font();
    if bold {
        f.style(FontStyle::Bold)
    } else {
        f
    }
}

fn rgb(c: u32) -> RGBColor {
    let [_, r, g, b] = c.to_be_bytes();
    RGBColor(r, g, b)
}

/// An axis tick: `0.05`, `1`, `20`.
fn tick(v: f64) -> String {
    let s = format!("{v:.3}");
    s.trim_end_matches('0').trim_end_matches('.').to_owned()
}

/// Fails early (before a run) when the chart at `path` could not be
/// drawn afterwards: not a .png or .svg name, or no font.
pub fn check(path: &Path) -> Result<()> {
    kind(path)?;
    fonts()
}

/// A PNG (`true`) or an SVG (`false`), by the file's extension.
fn kind(path: &Path) -> Result<bool> {
    match path.extension().and_then(|e| e.to_str()) {
        Some("png") => Ok(true),
        Some("svg") => Ok(false),
        _ => Err(BenchError::Usage(format!(
            "--chart {}: the chart is a .png or an .svg file",
            path.display()
        ))),
    }
}

/// Axis ticks from `lo` to `hi`: 1, 2 and 5 times the powers of ten.
fn ticks(lo: f64, hi: f64) -> Vec<f64> {
    let mut out = Vec::new();
    let mut decade = 1e-4;
    while decade <= hi {
        for m in [1.0, 2.0, 5.0] {
            let v = decade * m;
            if (lo..=hi).contains(&v) {
                out.push(v);
            }
        }
        decade *= 10.0;
    }
    out
}

/// Draws the chart of `doc` (a run's JSON document) into `path`: a PNG or
/// an SVG by its extension.
pub fn write(doc: &Value, path: &Path) -> Result<()> {
    check(path)?;
    let chart = Chart::from_json(doc)
        .ok_or_else(|| BenchError::Chart("the JSON has no workload with a tusk figure".into()))?;
    let measure = |text: &str, size: u32, bold: bool| -> i32 {
        font(size, bold)
            .box_size(text)
            .map_or(0, |(w, _)| i32::try_from(w).unwrap_or(i32::MAX / 4))
    };
    let layout = Layout::of(&chart, &measure);
    let size = (
        u32::try_from(layout.width).map_err(chart_error)?,
        u32::try_from(layout.height).map_err(chart_error)?,
    );
    if kind(path)? {
        let root = BitMapBackend::new(path, size).into_drawing_area();
        draw(&root, &chart, &layout).map_err(chart_error)?;
        root.present().map_err(chart_error)
    } else {
        let root = SVGBackend::new(path, size).into_drawing_area();
        draw(&root, &chart, &layout).map_err(chart_error)?;
        root.present().map_err(chart_error)
    }
}

type DrawResult<DB> =
    std::result::Result<(), DrawingAreaErrorKind<<DB as DrawingBackend>::ErrorType>>;

fn draw<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    chart: &Chart,
    layout: &Layout,
) -> DrawResult<DB> {
    root.fill(&WHITE)?;
    root.draw(&Text::new(
        chart.title.clone(),
        (LEFT, 14),
        font(TITLE, true).color(&TEXT),
    ))?;
    root.draw(&Text::new(
        chart.subtitle.clone(),
        (LEFT, 46),
        font(SUBTITLE, false).color(&GREY),
    ))?;
    for item in &layout.legend {
        let (x, y) = (item.x, item.y);
        let c = rgb(colour(&item.name));
        if item.name == TUSK {
            for dx in [0, 8] {
                root.draw(&PathElement::new(
                    vec![(x + dx, y + 10), (x + dx + 5, y + 10)],
                    c.stroke_width(3),
                ))?;
            }
        } else if item.name == LIMIT {
            root.draw(&PathElement::new(
                vec![(x, y + 10), (x + 14, y + 10)],
                c.stroke_width(4),
            ))?;
        } else {
            root.draw(&Rectangle::new([(x, y + 3), (x + 14, y + 17)], c.filled()))?;
        }
        root.draw(&Text::new(
            legend_label(&item.name),
            (x + 20, y + 2),
            font(LEGEND, false).color(&TEXT),
        ))?;
    }
    for (panel, top) in chart.panels.iter().zip(layout.panels) {
        draw_panel(root, panel, layout, top)?;
    }
    Ok(())
}

fn draw_panel<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    panel: &Panel,
    layout: &Layout,
    top: i32,
) -> DrawResult<DB> {
    root.draw(&Text::new(
        panel.title.clone(),
        (LEFT, top),
        font(PANEL_TITLE, true).color(&TEXT),
    ))?;
    let values = panel
        .groups
        .iter()
        .flat_map(|g| g.bars.iter().map(|b| b.value));
    let (lo, hi) = values.fold((1.0f64, 1.0f64), |(lo, hi), v| (lo.min(v), hi.max(v)));
    let (lo, hi) = (lo / 1.8, hi * 1.8);
    let plot_top = top + 30;
    let area = root.clone().shrink((0, plot_top), (layout.width, PLOT));
    let width = f64::from(layout.plot_width);
    let mut cc = ChartBuilder::on(&area)
        .y_label_area_size(LEFT)
        .margin_right(layout.width - LEFT - layout.plot_width)
        .build_cartesian_2d(
            0f64..width,
            (lo..hi).log_scale().with_key_points(ticks(lo, hi)),
        )?;
    cc.configure_mesh()
        .disable_x_mesh()
        .x_labels(0)
        .light_line_style(WHITE)
        .bold_line_style(GRID)
        .y_desc("relative to tusk (log scale)")
        .y_label_formatter(&|v| tick(*v))
        .y_label_style(font(12, false).color(&TEXT))
        .axis_desc_style(font(13, false).color(&GREY))
        .draw()?;
    let tusk = rgb(colour(TUSK));
    let mut x = 0;
    while x < layout.plot_width {
        let (a, b) = (f64::from(x), f64::from((x + 6).min(layout.plot_width)));
        cc.draw_series(std::iter::once(PathElement::new(
            vec![(a, 1.0), (b, 1.0)],
            tusk.stroke_width(2),
        )))?;
        x += 11;
    }
    let slot = layout.slot;
    for (g, group) in panel.groups.iter().enumerate() {
        let span = layout.groups[g];
        if g > 0 {
            let sx = f64::from(span.x0);
            cc.draw_series(std::iter::once(PathElement::new(
                vec![(sx, lo), (sx, hi)],
                GRID.stroke_width(1),
            )))?;
        }
        for (sx, bar) in layout
            .slots(g, group.bars.len())
            .into_iter()
            .zip(&group.bars)
        {
            let (x0, x1) = (f64::from(sx + 3), f64::from(sx + slot - 3));
            let cx = f64::from(sx) + f64::from(slot) / 2.0;
            let c = rgb(colour(&bar.driver));
            let above = bar.value >= 1.0 || bar.driver == LIMIT;
            if bar.driver == LIMIT {
                cc.draw_series(std::iter::once(PathElement::new(
                    vec![(x0, bar.value), (x1, bar.value)],
                    c.stroke_width(5),
                )))?;
            } else {
                // A bar from tusk's 1.0, and a cap at its end so that a
                // value close to 1.0 still shows its colour.
                cc.draw_series([
                    Rectangle::new([(x0, 1.0), (x1, bar.value)], c.filled()),
                    Rectangle::new([(x0, bar.value), (x1, bar.value)], c.stroke_width(3)),
                ])?;
            }
            let (dy, v) = if above {
                (-5, VPos::Bottom)
            } else {
                (4, VPos::Top)
            };
            let style = font(VALUE, false)
                .color(&TEXT)
                .pos(Pos::new(HPos::Center, v));
            cc.draw_series(std::iter::once(
                EmptyElement::at((cx, bar.value))
                    + Text::new(value_label(bar.value), (0, dy), style),
            ))?;
        }
        let cx = LEFT + (span.x0 + span.x1) / 2;
        for (k, line) in group.caption.iter().enumerate() {
            let y = plot_top + PLOT + 8 + i32::try_from(k).unwrap_or(0) * CAPTION_LINE;
            let style = font(CAPTION, k == 0)
                .color(if k == 0 { &TEXT } else { &GREY })
                .pos(Pos::new(HPos::Center, VPos::Top));
            root.draw(&Text::new(line.clone(), (cx, y), style))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_are_one_two_five() {
        let t: Vec<String> = ticks(0.03, 25.0).into_iter().map(tick).collect();
        assert_eq!(t, ["0.05", "0.1", "0.2", "0.5", "1", "2", "5", "10", "20"]);
    }

    #[test]
    fn ticks_drop_trailing_zeros() {
        assert_eq!(tick(0.05), "0.05");
        assert_eq!(tick(1.0), "1");
        assert_eq!(tick(20.000_000_1), "20");
    }

    #[test]
    fn the_checked_in_run_draws_as_png_and_svg() {
        let doc: Value = serde_json::from_str(include_str!("../../../bench-latest.json")).unwrap();
        let dir = std::env::temp_dir().join(format!("tusk-bench-chart-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let png = dir.join("chart.png");
        write(&doc, &png).unwrap();
        let bytes = std::fs::read(&png).unwrap();
        assert!(bytes.starts_with(b"\x89PNG\r\n\x1a\n"), "not a PNG");
        let svg = dir.join("chart.svg");
        write(&doc, &svg).unwrap();
        let text = std::fs::read_to_string(&svg).unwrap();
        assert!(text.contains("<svg") && text.contains("W4") && text.contains("pgbench"));
        let e = write(&doc, &dir.join("chart.gif")).unwrap_err();
        assert!(e.to_string().contains(".png or an .svg"), "{e}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
