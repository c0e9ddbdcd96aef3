//! Where everything goes, in pixels, worked out from the widths of the
//! texts before anything is drawn: a slot per bar as wide as its widest
//! value label, a group as wide as its bars or its caption, legend rows
//! that wrap at the chart's width. Nothing overlaps by construction, and
//! the tests check it.

use super::{legend_label, Chart, Panel};

/// Text sizes (pixels).
pub const TITLE: u32 = 22;
/// The subtitle's size.
pub const SUBTITLE: u32 = 13;
/// The legend's size.
pub const LEGEND: u32 = 14;
/// A panel title's size.
pub const PANEL_TITLE: u32 = 16;
/// A value label's size.
pub const VALUE: u32 = 12;
/// A caption line's size.
pub const CAPTION: u32 = 13;

/// Left of the plot: the y axis labels and its description.
pub const LEFT: i32 = 84;
const RIGHT: i32 = 24;
const MIN_WIDTH: i32 = 1100;
const SLOT_MIN: i32 = 30;
const SLOT_PAD: i32 = 8;
const GROUP_PAD: i32 = 14;
const SWATCH: i32 = 14;
const LEGEND_GAP: i32 = 22;
const LEGEND_ROW: i32 = 24;
/// The height of a plot.
pub const PLOT: i32 = 300;
/// The height of a caption line.
pub const CAPTION_LINE: i32 = 18;

/// Measures a text: its width in pixels at `size`, bold or not.
pub type Measure<'a> = &'a dyn Fn(&str, u32, bool) -> i32;

/// One legend entry.
#[derive(Debug, Clone, PartialEq)]
pub struct LegendItem {
    /// The series.
    pub name: String,
    /// Left of its swatch.
    pub x: i32,
    /// Top of its row.
    pub y: i32,
    /// Width of swatch and text.
    pub width: i32,
}

/// A group's span on the x axis, in pixels from the plot's left edge.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Span {
    /// Left edge.
    pub x0: i32,
    /// Right edge.
    pub x1: i32,
}

/// The chart's geometry.
#[derive(Debug, Clone, PartialEq)]
pub struct Layout {
    /// Image width.
    pub width: i32,
    /// Image height.
    pub height: i32,
    /// The legend entries.
    pub legend: Vec<LegendItem>,
    /// Top of each panel (its title line).
    pub panels: [i32; 2],
    /// Width of the plot area (the sum of the groups' widths).
    pub plot_width: i32,
    /// The groups' spans (the same in both panels).
    pub groups: Vec<Span>,
    /// Width of one bar's slot.
    pub slot: i32,
}

/// A value label: `22.4`, `0.96`, `0.044`.
pub fn value_label(v: f64) -> String {
    if v >= 100.0 {
        format!("{v:.0}")
    } else if v >= 10.0 {
        format!("{v:.1}")
    } else if v >= 0.1 {
        format!("{v:.2}")
    } else {
        format!("{v:.3}")
    }
}

impl Layout {
    /// The layout of `chart` with texts measured by `measure`.
    pub fn of(chart: &Chart, measure: Measure<'_>) -> Layout {
        let labels = chart
            .panels
            .iter()
            .flat_map(|p| &p.groups)
            .flat_map(|g| &g.bars)
            .map(|b| measure(&value_label(b.value), VALUE, false));
        let slot = labels.fold(SLOT_MIN, i32::max) + SLOT_PAD;
        let groups = chart.panels[0].groups.len();
        let mut widths: Vec<i32> = (0..groups)
            .map(|i| {
                chart
                    .panels
                    .iter()
                    .filter_map(|p: &Panel| p.groups.get(i))
                    .map(|g| {
                        let bars = i32::try_from(g.bars.len()).unwrap_or(i32::MAX / 2);
                        let caption = g
                            .caption
                            .iter()
                            .enumerate()
                            .map(|(k, c)| measure(c, CAPTION, k == 0))
                            .max()
                            .unwrap_or(0);
                        (bars.saturating_mul(slot)).max(caption) + 2 * GROUP_PAD
                    })
                    .max()
                    .unwrap_or(0)
            })
            .collect();
        let header = [
            measure(&chart.title, TITLE, true),
            measure(&chart.subtitle, SUBTITLE, false),
            measure(&chart.panels[0].title, PANEL_TITLE, true),
            measure(&chart.panels[1].title, PANEL_TITLE, true),
        ]
        .into_iter()
        .max()
        .unwrap_or(0);
        let natural: i32 = widths.iter().sum();
        let width = (LEFT + natural + RIGHT)
            .max(MIN_WIDTH)
            .max(LEFT + header + RIGHT);
        // Spread what is left over the groups, so the plot fills the width.
        let spare = width - LEFT - RIGHT - natural;
        if let Ok(n) = i32::try_from(widths.len()) {
            if n > 0 {
                for (i, w) in widths.iter_mut().enumerate() {
                    let extra = spare / n + i32::from(i32::try_from(i).unwrap_or(0) < spare % n);
                    *w += extra;
                }
            }
        }
        let mut spans = Vec::with_capacity(widths.len());
        let mut x = 0;
        for w in &widths {
            spans.push(Span { x0: x, x1: x + w });
            x += w;
        }
        let mut legend = Vec::new();
        let (mut lx, mut ly) = (LEFT, 72);
        for name in &chart.series {
            let w = SWATCH + 6 + measure(&legend_label(name), LEGEND, false);
            if lx > LEFT && lx + w > width - RIGHT {
                lx = LEFT;
                ly += LEGEND_ROW;
            }
            legend.push(LegendItem {
                name: name.clone(),
                x: lx,
                y: ly,
                width: w,
            });
            lx += w + LEGEND_GAP;
        }
        let first = ly + LEGEND_ROW + 12;
        let panel = 28 + PLOT + 3 * CAPTION_LINE + 20;
        Layout {
            width,
            height: first + 2 * panel,
            legend,
            panels: [first, first + panel],
            plot_width: x,
            groups: spans,
            slot,
        }
    }

    /// Left edges of the `n` slots of group `g`, centred in its span.
    pub fn slots(&self, g: usize, n: usize) -> Vec<i32> {
        let span = self.groups[g];
        let n = i32::try_from(n).unwrap_or(0);
        let start = span.x0 + (span.x1 - span.x0 - n * self.slot) / 2;
        (0..n).map(|i| start + i * self.slot).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::super::Chart;
    use super::*;

    /// DejaVu Sans is about 0.6 em per character (bold a little more).
    fn approx(text: &str, size: u32, bold: bool) -> i32 {
        let em = i32::try_from(size).unwrap();
        let chars = i32::try_from(text.chars().count()).unwrap();
        chars * em * if bold { 7 } else { 6 } / 10
    }

    fn chart() -> Chart {
        let doc = serde_json::from_str(include_str!("../../../bench-latest.json")).unwrap();
        Chart::from_json(&doc).unwrap()
    }

    #[test]
    fn value_labels_fit_their_slots_and_captions_their_groups() {
        let c = chart();
        let l = Layout::of(&c, &approx);
        for panel in &c.panels {
            for (g, group) in panel.groups.iter().enumerate() {
                let span = l.groups[g];
                for (k, line) in group.caption.iter().enumerate() {
                    assert!(approx(line, CAPTION, k == 0) <= span.x1 - span.x0, "{line}");
                }
                let slots = l.slots(g, group.bars.len());
                for (x, bar) in slots.iter().zip(&group.bars) {
                    assert!(approx(&value_label(bar.value), VALUE, false) < l.slot);
                    assert!(*x >= span.x0 && x + l.slot <= span.x1, "{bar:?}");
                }
            }
        }
        assert_eq!(l.groups.last().unwrap().x1, l.plot_width);
        assert_eq!(LEFT + l.plot_width + RIGHT, l.width);
    }

    #[test]
    fn the_legend_wraps_inside_the_chart_and_shows_every_series() {
        let mut c = chart();
        for i in 0..12 {
            c.series.push(format!("a-long-series-name-{i}"));
        }
        let l = Layout::of(&c, &approx);
        assert_eq!(l.legend.len(), c.series.len());
        assert!(
            l.legend.iter().any(|i| i.y > l.legend[0].y),
            "no second row"
        );
        for item in &l.legend {
            assert!(item.x + item.width <= l.width - RIGHT, "{item:?}");
        }
        for (a, b) in l.legend.iter().zip(&l.legend[1..]) {
            assert!(b.y > a.y || b.x >= a.x + a.width, "{a:?} {b:?}");
        }
        assert!(l.panels[0] > l.legend.last().unwrap().y + LEGEND_ROW);
    }

    #[test]
    fn labels_read_at_every_scale() {
        assert_eq!(value_label(226.4), "226");
        assert_eq!(value_label(22.63), "22.6");
        assert_eq!(value_label(0.956), "0.96");
        assert_eq!(value_label(0.0441), "0.044");
    }
}
