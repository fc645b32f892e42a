//! Charts of an indicator across the window against its objective: the
//! data in display units, as an SVG drawing for HTML and as a Mermaid chart
//! for Markdown (GitHub renders Mermaid in step summaries).

use std::fmt::Write as _;

use crate::eval::SloOutcome;
use crate::spec::Unit;
use crate::spec::quantity::significant;
use crate::time::format_instant;

/// At most this many series are drawn per chart; the rest are summarised.
const MAX_SERIES: usize = 5;

/// Chart-ready data: points in display units and the bounds to draw.
#[derive(Debug, Clone)]
pub struct ChartData {
    /// The unit label of the y axis (`ms`, `%`, `/s`, or empty).
    pub unit: &'static str,
    /// Each series: its label and `(Unix seconds, value)` points, NaN for
    /// a step without data.
    pub series: Vec<(String, Vec<(f64, f64)>)>,
    /// The objective's limit, in display units.
    pub objective: f64,
    /// The warning's limit, in display units.
    pub warning: Option<f64>,
    /// The window's start and end, in Unix seconds.
    pub span: (f64, f64),
}

/// Display units: seconds become milliseconds, ratios percents.
fn display(unit: Unit) -> (f64, &'static str) {
    match unit {
        Unit::Seconds => (1000.0, "ms"),
        Unit::Milliseconds => (1.0, "ms"),
        Unit::Ratio => (100.0, "%"),
        Unit::PerSecond => (1.0, "/s"),
        Unit::Count | Unit::Number => (1.0, ""),
    }
}

/// The chart data of an outcome, when its trend has at least two values.
pub fn data(outcome: &SloOutcome, span: (f64, f64)) -> Option<ChartData> {
    let trend = outcome.trend.as_ref()?;
    let (scale, unit) = display(outcome.slo.indicator.unit());
    // The worst series first (the one the verdict is about), then the rest.
    let mut series: Vec<(String, Vec<(f64, f64)>)> = trend
        .series
        .iter()
        .map(|(labels, points)| {
            let points = points
                .iter()
                .map(|(time, value)| (*time, value * scale))
                .collect();
            (labels.clone(), points)
        })
        .collect();
    let upper = outcome.slo.objective.comparator.is_upper_bound();
    let worst = |points: &Vec<(f64, f64)>| {
        let finite = points
            .iter()
            .map(|(_, value)| *value)
            .filter(|value| value.is_finite());
        if upper {
            finite.fold(f64::NEG_INFINITY, f64::max)
        } else {
            -finite.fold(f64::INFINITY, f64::min)
        }
    };
    series.sort_by(|left, right| worst(&right.1).total_cmp(&worst(&left.1)));
    let finite = series
        .iter()
        .flat_map(|(_, points)| points)
        .filter(|(_, value)| value.is_finite())
        .count();
    if finite < 2 {
        return None;
    }
    Some(ChartData {
        unit,
        series,
        objective: outcome.slo.objective.limit * scale,
        warning: outcome
            .slo
            .warning
            .as_ref()
            .map(|warning| warning.limit * scale),
        span,
    })
}

const COLOURS: [&str; MAX_SERIES] = ["#2563eb", "#7c3aed", "#0891b2", "#65a30d", "#c2410c"];

/// An SVG line chart: each series as a line (broken where a step had no
/// data), the objective as a dashed red line, the warning as a dashed
/// orange one, with labelled axes. Every line is also named in text.
pub fn svg(data: &ChartData) -> String {
    let (width, height) = (720.0, 240.0);
    let (left, right, top, bottom) = (64.0, 150.0, 16.0, 32.0);
    let plot_width = width - left - right;
    let plot_height = height - top - bottom;

    let values = data
        .series
        .iter()
        .take(MAX_SERIES)
        .flat_map(|(_, points)| points.iter().map(|(_, value)| *value))
        .filter(|value| value.is_finite())
        .chain([data.objective])
        .chain(data.warning);
    let (mut low, mut high) = values
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(low, high), value| {
            (low.min(value), high.max(value))
        });
    low = low.min(0.0);
    if high <= low {
        high = low + 1.0;
    }
    high += (high - low) * 0.08;
    let (start, end) = data.span;
    let x = |time: f64| left + (time - start) / (end - start).max(1e-9) * plot_width;
    let y = |value: f64| top + (1.0 - (value - low) / (high - low)) * plot_height;

    let mut out = String::new();
    let _ = write!(
        out,
        r#"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="{width}" height="{height}" role="img" font-family="sans-serif" font-size="11">"#
    );
    let _ = write!(
        out,
        r##"<rect x="{left}" y="{top}" width="{plot_width}" height="{plot_height}" fill="#fafafa" stroke="#d4d4d4"/>"##
    );
    for fraction in [0.0, 0.5, 1.0] {
        let value = low + (high - low) * fraction;
        let _ = write!(
            out,
            r##"<text x="{}" y="{}" text-anchor="end" fill="#525252">{}{}</text>"##,
            left - 6.0,
            y(value) + 4.0,
            significant(value),
            data.unit
        );
    }
    for (time, anchor) in [(start, "start"), (end, "end")] {
        let label = jiff::Timestamp::from_millisecond((time * 1000.0) as i64)
            .map(format_instant)
            .unwrap_or_default();
        let _ = write!(
            out,
            r##"<text x="{}" y="{}" text-anchor="{anchor}" fill="#525252">{}</text>"##,
            x(time),
            height - 10.0,
            escape(label.split('T').nth(1).unwrap_or(&label))
        );
    }
    let mut legend_y = top + 12.0;
    for (limit, colour, name) in [
        (Some(data.objective), "#dc2626", "objective"),
        (data.warning, "#ea580c", "warning"),
    ] {
        let Some(limit) = limit else { continue };
        let _ = write!(
            out,
            r#"<line x1="{left}" x2="{}" y1="{y}" y2="{y}" stroke="{colour}" stroke-width="1.5" stroke-dasharray="6 4"/>"#,
            left + plot_width,
            y = y(limit)
        );
        let _ = write!(
            out,
            r#"<text x="{}" y="{legend_y}" fill="{colour}">– – {name} {}{}</text>"#,
            left + plot_width + 8.0,
            significant(limit),
            data.unit
        );
        legend_y += 16.0;
    }
    for (index, (label, points)) in data.series.iter().take(MAX_SERIES).enumerate() {
        let colour = COLOURS[index];
        for segment in points.split(|(_, value)| !value.is_finite()) {
            if segment.is_empty() {
                continue;
            }
            let path: Vec<String> = segment
                .iter()
                .map(|(time, value)| format!("{:.1},{:.1}", x(*time), y(*value)))
                .collect();
            if segment.len() == 1 {
                let (cx, cy) = (x(segment[0].0), y(segment[0].1));
                let _ = write!(
                    out,
                    r#"<circle cx="{cx:.1}" cy="{cy:.1}" r="2" fill="{colour}"/>"#
                );
            } else {
                let _ = write!(
                    out,
                    r#"<polyline points="{}" fill="none" stroke="{colour}" stroke-width="2"/>"#,
                    path.join(" ")
                );
            }
        }
        let name = if label == "{}" {
            "value"
        } else {
            label.as_str()
        };
        let _ = write!(
            out,
            r#"<text x="{}" y="{legend_y}" fill="{colour}">—— {}</text>"#,
            left + plot_width + 8.0,
            escape(&shorten(name, 22))
        );
        legend_y += 16.0;
    }
    if data.series.len() > MAX_SERIES {
        let _ = write!(
            out,
            r##"<text x="{}" y="{legend_y}" fill="#525252">+{} more</text>"##,
            left + plot_width + 8.0,
            data.series.len() - MAX_SERIES
        );
    }
    out.push_str("</svg>");
    out
}

/// A Mermaid `xychart-beta` of the worst series and the objective; steps
/// without data are left out.
pub fn mermaid(data: &ChartData, title: &str) -> Option<String> {
    let (_, points) = data.series.first()?;
    let points: Vec<&(f64, f64)> = points
        .iter()
        .filter(|(_, value)| value.is_finite())
        .collect();
    if points.len() < 2 {
        return None;
    }
    // A numeric axis in minutes from the window's start: one label per
    // point would crowd sixty timestamps under the chart.
    let minutes = |time: f64| significant((time - data.span.0) / 60.0);
    let (first, last) = (points[0].0, points[points.len() - 1].0);
    let values: Vec<String> = points
        .iter()
        .map(|(_, value)| significant(*value))
        .collect();
    let objective: Vec<String> = points.iter().map(|_| significant(data.objective)).collect();
    let mut text = String::new();
    let _ = writeln!(text, "```mermaid");
    // The value in blue and the objective in red, as in the HTML report;
    // the default palette draws the first line too faint to read.
    let _ = writeln!(
        text,
        "%%{{init: {{\"themeVariables\": {{\"xyChart\": {{\"plotColorPalette\": \"#2563eb, #dc2626\"}}}}}}}}%%"
    );
    let _ = writeln!(text, "xychart-beta");
    let _ = writeln!(text, "  title \"{}\"", title.replace('"', "'"));
    let _ = writeln!(
        text,
        "  x-axis \"minutes into the window\" {} --> {}",
        minutes(first),
        minutes(last)
    );
    let _ = writeln!(
        text,
        "  y-axis \"{}\"",
        if data.unit.is_empty() {
            "value"
        } else {
            data.unit
        }
    );
    let _ = writeln!(text, "  line [{}]", values.join(", "));
    let _ = writeln!(text, "  line [{}]", objective.join(", "));
    let _ = writeln!(text, "```");
    Some(text)
}

fn shorten(text: &str, limit: usize) -> String {
    if text.chars().count() <= limit {
        return text.to_string();
    }
    let kept: String = text.chars().take(limit - 1).collect();
    format!("{kept}…")
}

/// Escapes text for XML and HTML.
pub fn escape(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for character in text.chars() {
        match character {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '"' => escaped.push_str("&quot;"),
            '\'' => escaped.push_str("&#39;"),
            other => escaped.push(other),
        }
    }
    escaped
}
