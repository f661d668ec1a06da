//! The report as one self-contained HTML page: verdict, the lab's map (its
//! topology, see [`super::map`]), an inline SVG timeline of each node's message
//! rate (its replicas together) with the faults marked, the node table,
//! expectations and events. No scripts, fonts, links or other assets, so the page
//! opens anywhere, offline.

use super::markup::escape;
use super::report::{Event, NodeReport, Report};
use super::state::Sample;
use std::fmt::Write;

const WIDTH: f64 = 1000.0;
const HEIGHT: f64 = 340.0;
const LEFT: f64 = 70.0;
/// The plot ends here; the legend is to its right.
const PLOT_RIGHT: f64 = 820.0;
const TOP: f64 = 20.0;
const BOTTOM: f64 = 40.0;
const LEGEND_ROW: f64 = 16.0;
/// Dash patterns (SVG `stroke-dasharray`) that tell apart neighbouring hues.
const DASHES: [&str; 3] = ["", "7 3", "2 2"];
const COLOURS: [&str; 10] = [
    "#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
    "#bcbd22", "#17becf",
];

const STYLE: &str = "body{font-family:sans-serif;margin:2em;color:#222}\
table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:.3em .6em;text-align:right}\
th,td:first-child,td.l{text-align:left}.pass{color:#1a7f37}.fail{color:#c62828}.skipped{color:#9a6700}\
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
        let class = match (self.passed, &self.skipped) {
            (true, _) => "pass",
            (false, Some(_)) => "skipped",
            (false, None) => "fail",
        };
        let _ = writeln!(
            page,
            "<p class=\"verdict {class}\">{}</p>",
            escape(&self.verdict())
        );
        for note in &self.network {
            let _ = writeln!(page, "<p>network: {}</p>", escape(note));
        }
        page.push_str("<h2>Topology</h2>\n");
        page.push_str(&super::map::svg(&self.topology));
        page.push_str("<h2>Message rate</h2>\n");
        page.push_str(&timeline(&self.nodes, &self.events, self.elapsed_ms));
        page.push_str(&self.node_table());
        page.push_str(&self.check_table());
        page.push_str(&self.event_list());
        page.push_str("</body></html>\n");
        page
    }

    fn node_table(&self) -> String {
        let latency = self.nodes.iter().any(|n| n.latency.is_some());
        let mut out = String::from(
            "<h2>Nodes</h2>\n<table><tr><th>node</th><th>state</th><th>sent</th><th>received</th><th>msg/s</th>",
        );
        if latency {
            out.push_str("<th>latency p50</th><th>p90</th><th>p99</th><th>max</th>");
        }
        out.push_str("</tr>\n");
        let number = |n: Option<u64>| n.map_or("-".to_string(), |n| n.to_string());
        for node in &self.nodes {
            let _ = write!(
                out,
                "<tr><td>{}</td><td class=\"l\">{}</td><td>{}</td><td>{}</td><td>{}</td>",
                escape(&node.name),
                escape(&node.state),
                number(node.sent),
                number(node.received),
                node.rate.map_or("-".to_string(), |r| format!("{r:.0}"))
            );
            if latency {
                out.push_str(&latency_cells(node));
            }
            out.push_str("</tr>\n");
        }
        out.push_str("</table>\n");
        if latency {
            out.push_str(
                "<p>Latency: one way, from the send time in each item's batch header to its arrival; \
                 both ends' clocks must agree.</p>\n",
            );
        }
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

/// A node's latency percentiles as table cells (`-` for a node without).
fn latency_cells(node: &NodeReport) -> String {
    let Some(stats) = &node.latency else {
        return "<td>-</td>".repeat(4);
    };
    let mut out = String::new();
    for us in [stats.p50_us, stats.p90_us, stats.p99_us, stats.max_us] {
        let mut text = String::new();
        crate::cli::latency::write_micros(&mut text, i64::try_from(us).unwrap_or(i64::MAX));
        let _ = write!(out, "<td>{}</td>", escape(&text));
    }
    out
}

/// The shortest stretch of time a rate is taken over: a little more than the
/// 200 ms between two stats lines.
const BUCKET_MS: u64 = 250;
/// The most points a line has.
const POINTS: u64 = 150;

/// One line of the chart: a node, its replicas together.
struct Series {
    /// The node's name.
    name: String,
    replicas: usize,
    /// (time ms, messages per second of all replicas together).
    total: Vec<(f64, f64)>,
    /// (time ms, slowest replica, fastest replica), for a node with replicas.
    band: Vec<(f64, f64, f64)>,
}

/// Messages moved (the larger of sent and received) by time `at` ms, from the
/// cumulative `samples`: linear between two samples, flat before the first and
/// after the last.
fn moved_at(samples: &[Sample], at: u64) -> f64 {
    let moved = |s: &Sample| s.sent.max(s.received) as f64;
    let after = samples.partition_point(|s| s.at_ms <= at);
    match (
        after.checked_sub(1).map(|k| &samples[k]),
        samples.get(after),
    ) {
        (None, Some(first)) => moved(first),
        (Some(last), None) => moved(last),
        (Some(a), Some(b)) if b.at_ms > a.at_ms => {
            let share = (at - a.at_ms) as f64 / (b.at_ms - a.at_ms) as f64;
            moved(a) + (moved(b) - moved(a)) * share
        }
        (Some(a), _) => moved(a),
        (None, None) => 0.0,
    }
}

/// The chart's series: one per node with counts, its replicas' rates taken over
/// the same stretches of time, added up, and their spread.
fn series(nodes: &[NodeReport], elapsed_ms: u64) -> Vec<Series> {
    let mut groups: Vec<(&str, Vec<&NodeReport>)> = Vec::new();
    for node in nodes.iter().filter(|n| n.samples.len() > 1) {
        match groups.iter_mut().find(|(name, _)| *name == node.node) {
            Some((_, replicas)) => replicas.push(node),
            None => groups.push((&node.node, vec![node])),
        }
    }
    let width = (elapsed_ms / POINTS).max(BUCKET_MS);
    let stretches: Vec<(u64, u64)> = (0..elapsed_ms.div_ceil(width))
        .map(|k| (k * width, ((k + 1) * width).min(elapsed_ms)))
        .filter(|(a, b)| b > a)
        .collect();
    groups
        .into_iter()
        .map(|(name, replicas)| {
            let mut total = Vec::new();
            let mut band = Vec::new();
            for &(a, b) in &stretches {
                let seconds = (b - a) as f64 / 1000.0;
                let rates: Vec<f64> = replicas
                    .iter()
                    .map(|r| {
                        ((moved_at(&r.samples, b) - moved_at(&r.samples, a)) / seconds).max(0.0)
                    })
                    .collect();
                total.push((b as f64, rates.iter().sum()));
                let slowest = rates.iter().copied().fold(f64::INFINITY, f64::min);
                let fastest = rates.iter().copied().fold(0.0, f64::max);
                band.push((b as f64, slowest, fastest));
            }
            if replicas.len() < 2 {
                band.clear();
            }
            Series {
                name: name.to_string(),
                replicas: replicas.len(),
                total,
                band,
            }
        })
        .collect()
}

/// Where the plot sits in the SVG, and its scales.
struct Plot {
    x_max: f64,
    y_max: f64,
}

impl Plot {
    fn x(&self, ms: f64) -> f64 {
        LEFT + ms / self.x_max * (PLOT_RIGHT - LEFT)
    }

    fn y(&self, rate: f64) -> f64 {
        HEIGHT - BOTTOM - rate / self.y_max * (HEIGHT - TOP - BOTTOM)
    }
}

/// The stroke colour and dash pattern of series `k` of `n`, so that every node is
/// told apart: the ten colours of the palette for up to ten series; beyond that `n`
/// hues spread evenly round the colour wheel, neighbours told apart again by
/// lightness and dashes.
fn style(k: usize, n: usize) -> (String, &'static str) {
    if n <= COLOURS.len() {
        return (COLOURS[k].to_string(), "");
    }
    let hue = k * 360 / n;
    let lightness = if k % 2 == 0 { 38 } else { 52 };
    (
        format!("hsl({hue},70%,{lightness}%)"),
        DASHES[k % DASHES.len()],
    )
}

/// The SVG chart: one line per node with counts (its replicas' rates added up),
/// a band from its slowest to its fastest replica when it has several, time on x,
/// rate on y, a legend on the right, and a marked vertical line at each fault.
fn timeline(nodes: &[NodeReport], events: &[Event], elapsed_ms: u64) -> String {
    let all = series(nodes, elapsed_ms);
    let plot = Plot {
        x_max: (elapsed_ms as f64).max(1.0),
        y_max: all
            .iter()
            .flat_map(|s| s.total.iter().map(|p| p.1))
            .fold(1.0_f64, f64::max)
            * 1.1,
    };
    let legend_rows: usize = all
        .iter()
        .map(|s| if s.band.is_empty() { 1 } else { 2 })
        .sum();
    let height = HEIGHT.max(TOP + LEGEND_ROW * legend_rows as f64 + 8.0);
    let mut svg = format!(
        "<svg id=\"timeline\" width=\"{WIDTH}\" height=\"{height}\" viewBox=\"0 0 {WIDTH} {height}\" role=\"img\" aria-label=\"message rate per node over time\">\n"
    );
    svg.push_str(&axes(plot.x_max, plot.y_max));
    svg.push_str(&fault_marks(&plot, events));
    let mut row = 0;
    for (k, series) in all.iter().enumerate() {
        let (colour, dash) = style(k, all.len());
        svg.push_str(&draw_series(series, &plot, &colour, dash));
        svg.push_str(&legend_entry(series, row, &colour, dash));
        row += if series.band.is_empty() { 1 } else { 2 };
    }
    if all.is_empty() {
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

/// A node's line, and its band when it has replicas.
fn draw_series(series: &Series, plot: &Plot, colour: &str, dash: &str) -> String {
    let mut out = String::new();
    let name = escape(&series.name);
    let point = |t: f64, r: f64| format!("{:.1},{:.1}", plot.x(t), plot.y(r));
    if !series.band.is_empty() {
        let upper = series.band.iter().map(|&(t, _, hi)| point(t, hi));
        let lower = series.band.iter().rev().map(|&(t, lo, _)| point(t, lo));
        let points: Vec<String> = upper.chain(lower).collect();
        let _ = writeln!(
            out,
            "<polygon class=\"band\" data-node=\"{name}\" fill=\"{colour}\" fill-opacity=\"0.18\" stroke=\"none\" points=\"{}\"/>",
            points.join(" ")
        );
    }
    let coords: Vec<String> = series.total.iter().map(|&(t, r)| point(t, r)).collect();
    let _ = writeln!(
        out,
        "<polyline data-node=\"{name}\" data-replicas=\"{}\" fill=\"none\" stroke=\"{colour}\" stroke-dasharray=\"{dash}\" stroke-width=\"2\" points=\"{}\"/>",
        series.replicas,
        coords.join(" ")
    );
    out
}

/// A node's entry in the legend, from legend row `row`: its line, and its band
/// on the next row when it has replicas.
fn legend_entry(series: &Series, row: usize, colour: &str, dash: &str) -> String {
    let name = escape(&series.name);
    let label = match series.replicas {
        1 => name,
        n => format!("{name} \u{d7}{n}, sum"),
    };
    let (lx, ly) = (PLOT_RIGHT + 16.0, TOP + LEGEND_ROW * row as f64);
    let mut out = format!(
        "<line x1=\"{lx:.0}\" y1=\"{:.0}\" x2=\"{:.0}\" y2=\"{:.0}\" stroke=\"{colour}\" stroke-dasharray=\"{dash}\" stroke-width=\"2\"/><text x=\"{:.0}\" y=\"{:.0}\">{label}</text>\n",
        ly + 2.0,
        lx + 24.0,
        ly + 2.0,
        lx + 30.0,
        ly + 6.0,
    );
    if !series.band.is_empty() {
        let ly = ly + LEGEND_ROW;
        let _ = writeln!(
            out,
            "<rect x=\"{lx:.0}\" y=\"{:.0}\" width=\"24\" height=\"8\" fill=\"{colour}\" fill-opacity=\"0.18\"/><text x=\"{:.0}\" y=\"{:.0}\">per replica, min-max</text>",
            ly - 2.0,
            lx + 30.0,
            ly + 6.0,
        );
    }
    out
}

/// A dashed vertical line at each fault, labelled along it with what happened to
/// which nodes (the replicas a fault hit at once share a line).
fn fault_marks(plot: &Plot, events: &[Event]) -> String {
    let mut marks: Vec<(u64, String, Vec<&str>)> = Vec::new();
    for event in events {
        let Some(what) = event.text.strip_prefix("fault: ") else {
            continue;
        };
        let node = event.node.as_deref().unwrap_or("");
        match marks
            .iter_mut()
            .find(|(at, w, _)| w == what && event.at_ms.abs_diff(*at) < 100)
        {
            Some((_, _, nodes)) => nodes.push(node),
            None => marks.push((event.at_ms, what.to_string(), vec![node])),
        }
    }
    let mut out = String::new();
    for (at, what, nodes) in &marks {
        let x = plot.x(*at as f64);
        let (top, bottom) = (TOP, HEIGHT - BOTTOM);
        let _ = writeln!(
            out,
            "<g class=\"fault\"><line x1=\"{x:.1}\" y1=\"{top}\" x2=\"{x:.1}\" y2=\"{bottom}\" stroke=\"#c62828\" stroke-dasharray=\"4 3\"/><text x=\"{:.1}\" y=\"{:.0}\" transform=\"rotate(-90 {:.1} {:.0})\" text-anchor=\"end\" fill=\"#c62828\">{}: {}</text></g>",
            x - 4.0,
            top + 4.0,
            x - 4.0,
            top + 4.0,
            escape(&nodes.join(", ")),
            escape(what)
        );
    }
    out
}

fn axes(x_max: f64, y_max: f64) -> String {
    let (x0, y0, x1, y1) = (LEFT, HEIGHT - BOTTOM, PLOT_RIGHT, TOP);
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Instance `name` of node `node`, sending `per_second` messages a second.
    fn instance(name: &str, node: &str, per_second: u64) -> NodeReport {
        let sample = |at_ms: u64| Sample {
            at_ms,
            sent: per_second * at_ms / 1000,
            received: 0,
        };
        NodeReport {
            name: name.to_string(),
            node: node.to_string(),
            state: "exited 0".into(),
            exit_code: Some(0),
            sent: Some(10),
            received: Some(0),
            rate: Some(10.0),
            latency: None,
            negative_latency: None,
            stdout_lines: 0,
            shown: Vec::new(),
            stderr_tail: Vec::new(),
            shown_stderr: Vec::new(),
            samples: vec![sample(0), sample(500), sample(1000)],
        }
    }

    fn node(name: &str) -> NodeReport {
        instance(name, name, 10)
    }

    fn report(nodes: usize, events: Vec<Event>) -> Report {
        Report {
            lab: "t".into(),
            description: String::new(),
            passed: true,
            skipped: None,
            interrupted: false,
            outcome: "completed".into(),
            elapsed_ms: 1000,
            network: Vec::new(),
            nodes: (0..nodes).map(|k| node(&format!("n.{k}"))).collect(),
            checks: Vec::new(),
            events,
            topology: super::super::topology::Topology::default(),
        }
    }

    /// The (stroke, dash) of each series line.
    fn styles(page: &str) -> Vec<(String, String)> {
        let attribute = |element: &str, name: &str| {
            element
                .split(&format!(" {name}=\""))
                .nth(1)
                .and_then(|rest| rest.split('"').next())
                .unwrap_or_default()
                .to_string()
        };
        page.split("<polyline ")
            .skip(1)
            .map(|p| (attribute(p, "stroke"), attribute(p, "stroke-dasharray")))
            .collect()
    }

    #[test]
    fn every_node_has_a_line_style_of_its_own() {
        for n in [3, 10, 14, 100] {
            let all = styles(&report(n, Vec::new()).to_html());
            assert_eq!(all.len(), n);
            let distinct: std::collections::BTreeSet<_> = all.iter().collect();
            assert_eq!(distinct.len(), n, "{n} nodes: {all:?}");
        }
    }

    #[test]
    fn a_nodes_replicas_make_one_line_and_a_band() {
        let mut report = report(1, Vec::new());
        report.nodes = vec![
            instance("w.1", "w", 100),
            instance("w.2", "w", 300),
            instance("w.3", "w", 200),
            instance("sink", "sink", 600),
        ];
        let page = report.to_html();
        let lines: Vec<&str> = page.split("<polyline ").skip(1).collect();
        assert_eq!(lines.len(), 2, "{page}");
        assert!(lines[0].starts_with("data-node=\"w\" data-replicas=\"3\""));
        assert!(lines[1].starts_with("data-node=\"sink\" data-replicas=\"1\""));
        assert_eq!(
            page.matches("<polygon class=\"band\" data-node=\"w\"")
                .count(),
            1
        );
        assert_eq!(
            page.matches("class=\"band\"").count(),
            1,
            "a single replica has none"
        );
        assert!(page.contains(">w \u{d7}3, sum</text>"), "{page}");
        // The replicas together move as much as the sink: the two lines coincide.
        let points = |line: &str| {
            line.split("points=\"")
                .nth(1)
                .unwrap()
                .split('"')
                .next()
                .unwrap()
                .to_string()
        };
        assert_eq!(points(lines[0]), points(lines[1]));
    }

    #[test]
    fn rates_are_read_between_samples() {
        let samples = [
            Sample {
                at_ms: 100,
                sent: 10,
                received: 0,
            },
            Sample {
                at_ms: 300,
                sent: 30,
                received: 0,
            },
        ];
        assert_eq!(moved_at(&samples, 0), 10.0);
        assert_eq!(moved_at(&samples, 200), 20.0);
        assert_eq!(moved_at(&samples, 1000), 30.0);
    }

    #[test]
    fn faults_are_marked_on_the_timeline() {
        let event = |node: &str, text: &str| Event {
            at_ms: 400,
            node: Some(node.into()),
            text: text.into(),
        };
        let page = report(
            3,
            vec![
                event("n.1", "started (pid 7): zpull"),
                event("n.1", "fault: SIGKILL sent"),
                event("n.2", "fault: SIGKILL sent"),
            ],
        )
        .to_html();
        assert_eq!(page.matches("<g class=\"fault\">").count(), 1, "{page}");
        assert!(
            page.contains(">n.1, n.2: SIGKILL sent</text></g>"),
            "{page}"
        );
        assert!(page.contains("x1=\"370.0\""), "at 400 of 1000 ms: {page}");
    }

    #[test]
    fn the_page_refers_to_nothing_outside_it() {
        let page = report(2, Vec::new()).to_html();
        for outside in ["http:", "https:", "src=", "href=", "url(", "@import"] {
            assert!(!page.contains(outside), "{outside}: {page}");
        }
    }
}
