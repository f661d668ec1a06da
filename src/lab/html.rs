//! The report as one self-contained HTML page: verdict, node table, expectations and
//! an inline SVG timeline of each node's message rate. No scripts, fonts or other
//! assets are fetched, so the page opens anywhere, offline.

use super::report::{NodeReport, Report};
use std::fmt::Write;

const WIDTH: f64 = 860.0;
const HEIGHT: f64 = 320.0;
const LEFT: f64 = 70.0;
const RIGHT: f64 = 20.0;
const TOP: f64 = 20.0;
const BOTTOM: f64 = 40.0;
const COLOURS: [&str; 10] = [
    "#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
    "#bcbd22", "#17becf",
];

const STYLE: &str = "body{font-family:sans-serif;margin:2em;color:#222}\
table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:.3em .6em;text-align:right}\
th,td:first-child,td.l{text-align:left}.pass{color:#1a7f37}.fail{color:#c62828}\
.verdict{font-size:1.3em;font-weight:bold}svg text{font-size:12px}";

impl Report {
    /// The report as a self-contained HTML page with an SVG rate timeline.
    pub fn to_html(&self) -> String {
        let mut page = String::new();
        let title = escape(&format!("zlab: {}", self.lab));
        let _ = write!(
            page,
            "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{title}</title><style>{STYLE}</style></head><body>\n"
        );
        let _ = writeln!(
            page,
            "<h1>{title}</h1>\n<p>{}</p>",
            escape(&self.description)
        );
        let class = if self.passed { "pass" } else { "fail" };
        let _ = writeln!(
            page,
            "<p class=\"verdict {class}\">{}</p>",
            escape(&self.verdict())
        );
        for note in &self.network {
            let _ = writeln!(page, "<p>network: {}</p>", escape(note));
        }
        page.push_str("<h2>Message rate</h2>\n");
        page.push_str(&timeline(&self.nodes, self.elapsed_ms));
        page.push_str(&self.node_table());
        page.push_str(&self.check_table());
        page.push_str(&self.event_list());
        page.push_str("</body></html>\n");
        page
    }

    fn node_table(&self) -> String {
        let mut out = String::from(
            "<h2>Nodes</h2>\n<table><tr><th>node</th><th>state</th><th>sent</th><th>received</th><th>msg/s</th></tr>\n",
        );
        let number = |n: Option<u64>| n.map_or("-".to_string(), |n| n.to_string());
        for node in &self.nodes {
            let _ = writeln!(
                out,
                "<tr><td>{}</td><td class=\"l\">{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                escape(&node.name),
                escape(&node.state),
                number(node.sent),
                number(node.received),
                node.rate.map_or("-".to_string(), |r| format!("{r:.0}"))
            );
        }
        out.push_str("</table>\n");
        out
    }

    fn check_table(&self) -> String {
        let mut out = String::from(
            "<h2>Expectations</h2>\n<table><tr><th>node</th><th>expected</th><th>found</th><th>verdict</th></tr>\n",
        );
        for check in &self.checks {
            let (class, word) = if check.passed {
                ("pass", "ok")
            } else {
                ("fail", "FAILED")
            };
            let _ = writeln!(
                out,
                "<tr><td>{}</td><td class=\"l\">{}</td><td class=\"l\">{}</td><td class=\"{class}\">{word}</td></tr>",
                escape(&check.node),
                escape(&check.expected),
                escape(&check.found)
            );
        }
        out.push_str("</table>\n");
        out
    }

    fn event_list(&self) -> String {
        let mut out = String::from(
            "<h2>Events</h2>\n<table><tr><th>time</th><th>node</th><th>event</th></tr>\n",
        );
        for event in &self.events {
            let _ = writeln!(
                out,
                "<tr><td>{:.2}s</td><td>{}</td><td class=\"l\">{}</td></tr>",
                event.at_ms as f64 / 1000.0,
                escape(event.node.as_deref().unwrap_or("")),
                escape(&event.text)
            );
        }
        out.push_str("</table>\n");
        out
    }
}

/// Messages per second between consecutive samples: (time ms, rate).
fn rates(node: &NodeReport) -> Vec<(f64, f64)> {
    node.samples
        .windows(2)
        .filter(|w| w[1].at_ms > w[0].at_ms)
        .map(|w| {
            let moved = |s: &super::state::Sample| s.sent.max(s.received) as f64;
            let seconds = (w[1].at_ms - w[0].at_ms) as f64 / 1000.0;
            (
                w[1].at_ms as f64,
                (moved(&w[1]) - moved(&w[0])).max(0.0) / seconds,
            )
        })
        .collect()
}

/// The SVG chart: one line per node with counts, time on x, rate on y.
fn timeline(nodes: &[NodeReport], elapsed_ms: u64) -> String {
    let series: Vec<(&NodeReport, Vec<(f64, f64)>)> = nodes
        .iter()
        .map(|n| (n, rates(n)))
        .filter(|(_, r)| !r.is_empty())
        .collect();
    let x_max = (elapsed_ms as f64).max(1.0);
    let y_max = series
        .iter()
        .flat_map(|(_, r)| r.iter().map(|p| p.1))
        .fold(1.0_f64, f64::max)
        * 1.1;
    let x = |ms: f64| LEFT + ms / x_max * (WIDTH - LEFT - RIGHT);
    let y = |rate: f64| HEIGHT - BOTTOM - rate / y_max * (HEIGHT - TOP - BOTTOM);
    let mut svg = format!(
        "<svg id=\"timeline\" xmlns=\"http://www.w3.org/2000/svg\" width=\"{WIDTH}\" height=\"{HEIGHT}\" viewBox=\"0 0 {WIDTH} {HEIGHT}\" role=\"img\" aria-label=\"message rate per node over time\">\n"
    );
    svg.push_str(&axes(x_max, y_max));
    for (k, (node, points)) in series.iter().enumerate() {
        let colour = COLOURS[k % COLOURS.len()];
        let coords: Vec<String> = points
            .iter()
            .map(|&(t, r)| format!("{:.1},{:.1}", x(t), y(r)))
            .collect();
        let _ = writeln!(
            svg,
            "<polyline data-node=\"{}\" fill=\"none\" stroke=\"{colour}\" stroke-width=\"2\" points=\"{}\"/>",
            escape(&node.name),
            coords.join(" ")
        );
        let ly = TOP + 16.0 * k as f64;
        let _ = writeln!(
            svg,
            "<rect x=\"{:.0}\" y=\"{:.0}\" width=\"12\" height=\"4\" fill=\"{colour}\"/><text x=\"{:.0}\" y=\"{:.0}\">{}</text>",
            WIDTH - RIGHT - 150.0,
            ly,
            WIDTH - RIGHT - 134.0,
            ly + 6.0,
            escape(&node.name)
        );
    }
    if series.is_empty() {
        let _ = writeln!(
            svg,
            "<text x=\"{:.0}\" y=\"{:.0}\">no counts were reported</text>",
            LEFT + 20.0,
            HEIGHT / 2.0
        );
    }
    svg.push_str("</svg>\n");
    svg
}

fn axes(x_max: f64, y_max: f64) -> String {
    let (x0, y0, x1, y1) = (LEFT, HEIGHT - BOTTOM, WIDTH - RIGHT, TOP);
    let mut out = format!(
        "<line x1=\"{x0}\" y1=\"{y0}\" x2=\"{x1}\" y2=\"{y0}\" stroke=\"#444\"/><line x1=\"{x0}\" y1=\"{y0}\" x2=\"{x0}\" y2=\"{y1}\" stroke=\"#444\"/>\n"
    );
    for step in 0..=4 {
        let fraction = f64::from(step) / 4.0;
        let (tx, ty) = (x0 + fraction * (x1 - x0), y0 - fraction * (y0 - y1));
        let _ = writeln!(
            out,
            "<text x=\"{tx:.0}\" y=\"{:.0}\" text-anchor=\"middle\">{:.1}s</text><text x=\"{:.0}\" y=\"{:.0}\" text-anchor=\"end\">{:.0}</text>",
            y0 + 16.0,
            fraction * x_max / 1000.0,
            x0 - 6.0,
            ty + 4.0,
            fraction * y_max
        );
    }
    let _ = writeln!(
        out,
        "<text x=\"14\" y=\"{:.0}\" transform=\"rotate(-90 14 {:.0})\" text-anchor=\"middle\">messages/s</text>",
        (y0 + y1) / 2.0,
        (y0 + y1) / 2.0
    );
    out
}

/// Escape text for HTML content and attribute values.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_escaped() {
        assert_eq!(
            escape("<a href=\"x\">&'"),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;"
        );
    }
}
