//! The lab's map for the HTML report: its topology drawn as an inline SVG. Nodes
//! are boxes (name, replica count, program), endpoints ellipses; a solid line
//! joins a node to each endpoint it binds, a dashed arrow points from a node to
//! each endpoint it connects to; a node hit by a fault has a red border and its
//! faults written under it.
//!
//! Rows follow the start order, the first to start at the bottom: each endpoint
//! stands just above its binders, and the nodes connecting to it higher up, so
//! that a pipeline's source is at the top and its sink at the bottom. A row holds
//! side by side the nodes (or endpoints) of one rank.

use super::markup::escape;
use super::topology::{Topology, TopologyEndpoint, TopologyFault, TopologyNode};
use std::collections::BTreeMap;
use std::fmt::Write;

const COLUMN: f64 = 180.0;
const ROW: f64 = 72.0;
const MARGIN: f64 = 30.0;
/// Room above the columns for the legend.
const TOP: f64 = 56.0;
const BOX_W: f64 = 150.0;
const BOX_H: f64 = 40.0;
const RX: f64 = 62.0;
const RY: f64 = 17.0;
const ARROW: f64 = 9.0;
const FAULT_RED: &str = "#c62828";
/// The legend's width: the drawing is at least as wide.
const LEGEND_WIDTH: f64 = 600.0;
/// Text over lines stays readable on a white halo.
const HALO: &str = "paint-order=\"stroke\" stroke=\"#fff\" stroke-width=\"3\"";

/// Where one drawn thing sits: its row, and its place in the row.
#[derive(Clone, Copy)]
struct Spot {
    row: usize,
    place: usize,
}

/// The SVG of `topology`, with `id="topology"`.
pub(crate) fn svg(topology: &Topology) -> String {
    let layout = Layout::of(topology);
    let width = (MARGIN * 2.0 + COLUMN * layout.columns as f64).max(LEGEND_WIDTH);
    let height = TOP + MARGIN + ROW * layout.rows as f64;
    let mut svg = format!(
        "<svg id=\"topology\" width=\"{width:.0}\" height=\"{height:.0}\" viewBox=\"0 0 {width:.0} {height:.0}\" role=\"img\" aria-label=\"the lab's nodes and endpoints, who binds and who connects\">\n"
    );
    svg.push_str(&legend());
    // Lines first, so that the shapes they join are drawn over their ends.
    for (n, node) in topology.nodes.iter().enumerate() {
        svg.push_str(&edges(node, layout.centre(layout.nodes[n]), &layout));
    }
    for endpoint in &topology.endpoints {
        if let Some(&spot) = layout.endpoints.get(endpoint.name.as_str()) {
            svg.push_str(&ellipse(endpoint, layout.centre(spot)));
        }
    }
    for (n, node) in topology.nodes.iter().enumerate() {
        let faults: Vec<&TopologyFault> = topology
            .faults
            .iter()
            .filter(|f| f.node == node.name)
            .collect();
        svg.push_str(&node_box(node, &faults, layout.centre(layout.nodes[n])));
    }
    svg.push_str("</svg>\n");
    svg
}

/// The lines from `node`, at `centre`, to the endpoints it binds and connects to.
fn edges(node: &TopologyNode, centre: (f64, f64), layout: &Layout) -> String {
    let mut out = String::new();
    for endpoint in &node.binds {
        if let Some(&spot) = layout.endpoints.get(endpoint.as_str()) {
            let ((x1, y1), (x2, y2)) = ends(centre, layout.centre(spot));
            let _ = writeln!(
                out,
                "<line class=\"binds\" data-node=\"{}\" data-endpoint=\"{}\" x1=\"{x1:.1}\" y1=\"{y1:.1}\" x2=\"{x2:.1}\" y2=\"{y2:.1}\" stroke=\"#2e7d32\" stroke-width=\"3\"/>",
                escape(&node.name),
                escape(endpoint)
            );
        }
    }
    for endpoint in &node.connects {
        if let Some(&spot) = layout.endpoints.get(endpoint.as_str()) {
            out.push_str(&arrow(&node.name, endpoint, centre, layout.centre(spot)));
        }
    }
    out
}

/// An endpoint's ellipse at `(x, y)`: `{name} transport`.
fn ellipse(endpoint: &TopologyEndpoint, (x, y): (f64, f64)) -> String {
    let name = escape(&endpoint.name);
    let transport = escape(&endpoint.transport);
    format!(
        "<g class=\"endpoint\" data-endpoint=\"{name}\" data-transport=\"{transport}\"><ellipse cx=\"{x:.1}\" cy=\"{y:.1}\" rx=\"{RX}\" ry=\"{RY}\" fill=\"#e3f2fd\" stroke=\"#1565c0\"/><text x=\"{x:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{{{name}}} {transport}</text></g>\n",
        y + 4.0
    )
}

/// A node's box at `(x, y)`: its name, replica count and program (and host), in
/// red with its `faults` written under it if it has any.
fn node_box(node: &TopologyNode, faults: &[&TopologyFault], (x, y): (f64, f64)) -> String {
    let stroke = if faults.is_empty() {
        "stroke=\"#444\"".to_string()
    } else {
        format!("stroke=\"{FAULT_RED}\" stroke-width=\"3\"")
    };
    let name = escape(&node.name);
    let mut detail = format!("\u{d7}{} {}", node.replicas, node.program);
    if let Some(host) = &node.host {
        let _ = write!(detail, " @{host}");
    }
    let mut out = format!(
        "<g class=\"node\" data-node=\"{name}\" data-replicas=\"{}\"><rect x=\"{:.1}\" y=\"{:.1}\" width=\"{BOX_W}\" height=\"{BOX_H}\" rx=\"6\" fill=\"#fafafa\" {stroke}/><text x=\"{x:.1}\" y=\"{:.1}\" text-anchor=\"middle\" font-weight=\"bold\">{name}</text><text x=\"{x:.1}\" y=\"{:.1}\" text-anchor=\"middle\" font-size=\"10\">{}</text></g>\n",
        node.replicas,
        x - BOX_W / 2.0,
        y - BOX_H / 2.0,
        y - 3.0,
        y + 12.0,
        escape(&detail)
    );
    for (k, fault) in faults.iter().enumerate() {
        let (target, action) = (escape(&fault.target), escape(&fault.action));
        let _ = writeln!(
            out,
            "<text class=\"fault\" data-node=\"{name}\" data-target=\"{target}\" data-action=\"{action}\" data-at-ms=\"{}\" x=\"{x:.1}\" y=\"{:.1}\" text-anchor=\"middle\" font-size=\"10\" fill=\"{FAULT_RED}\" {HALO}>{target}: {action} at {}</text>",
            fault.at_ms,
            y + BOX_H / 2.0 + 11.0 + 10.0 * k as f64,
            crate::duration::display(std::time::Duration::from_millis(fault.at_ms))
        );
    }
    out
}

/// Rows and places of every node and endpoint.
struct Layout {
    nodes: Vec<Spot>,
    endpoints: BTreeMap<String, Spot>,
    /// The most things in a row.
    columns: usize,
    rows: usize,
    /// Things in each row, to centre the shorter ones.
    widths: Vec<usize>,
}

impl Layout {
    fn of(topology: &Topology) -> Layout {
        let last = topology.nodes.iter().map(|n| n.rank).max().unwrap_or(0);
        // Node of rank r in row 2 (last - r) + 1; the endpoints a node binds in
        // the row above it (of its highest-ranked binder, when several bind).
        let mut widths = vec![0; 2 * last + 2];
        let mut put = |row: usize| {
            let place = widths[row];
            widths[row] += 1;
            Spot { row, place }
        };
        let nodes: Vec<Spot> = topology
            .nodes
            .iter()
            .map(|n| put(2 * (last - n.rank) + 1))
            .collect();
        let mut binder_rank: BTreeMap<&str, usize> = BTreeMap::new();
        for node in &topology.nodes {
            for endpoint in &node.binds {
                let rank = binder_rank.entry(endpoint).or_default();
                *rank = (*rank).max(node.rank);
            }
        }
        let mut endpoints = BTreeMap::new();
        // Endpoints in the order of their first binder in the file.
        for node in &topology.nodes {
            for endpoint in &node.binds {
                if endpoints.contains_key(endpoint) {
                    continue;
                }
                let rank = binder_rank.get(endpoint.as_str()).copied().unwrap_or(0);
                endpoints.insert(endpoint.clone(), put(2 * (last - rank)));
            }
        }
        // Rows left empty (no node binds anything at some rank) take no room.
        let mut kept = vec![0; widths.len()];
        let mut rows = 0;
        for (row, &width) in widths.iter().enumerate() {
            kept[row] = rows;
            rows += usize::from(width > 0);
        }
        let compact = |spot: Spot| Spot {
            row: kept[spot.row],
            place: spot.place,
        };
        Layout {
            nodes: nodes.into_iter().map(compact).collect(),
            endpoints: endpoints
                .into_iter()
                .map(|(name, spot)| (name, compact(spot)))
                .collect(),
            columns: widths.iter().copied().max().unwrap_or(0),
            rows,
            widths: widths.into_iter().filter(|&w| w > 0).collect(),
        }
    }

    /// The centre of `spot`, its row centred against the widest.
    fn centre(&self, spot: Spot) -> (f64, f64) {
        let shift = (self.columns - self.widths[spot.row]) as f64 * COLUMN / 2.0;
        (
            MARGIN + COLUMN * (spot.place as f64 + 0.5) + shift,
            TOP + ROW * (spot.row as f64 + 0.5),
        )
    }
}

/// Where a line from a node's box at `node` to an endpoint's ellipse at `endpoint`
/// starts and ends: at the sides that face each other (the bottom or top of each,
/// or in one row, their left or right).
fn ends(node: (f64, f64), endpoint: (f64, f64)) -> ((f64, f64), (f64, f64)) {
    if (endpoint.1 - node.1).abs() < 1.0 {
        let side = if endpoint.0 < node.0 { -1.0 } else { 1.0 };
        return (
            (node.0 + side * BOX_W / 2.0, node.1),
            (endpoint.0 - side * RX, endpoint.1),
        );
    }
    let side = if endpoint.1 < node.1 { -1.0 } else { 1.0 };
    (
        (node.0, node.1 + side * BOX_H / 2.0),
        (endpoint.0, endpoint.1 - side * RY),
    )
}

/// A dashed arrow from node `name` to the endpoint it connects to.
fn arrow(name: &str, endpoint: &str, node: (f64, f64), at: (f64, f64)) -> String {
    let ((x1, y1), (x2, y2)) = ends(node, at);
    let angle = (y2 - y1).atan2(x2 - x1);
    let head = |turn: f64| {
        (
            x2 - ARROW * (angle + turn).cos(),
            y2 - ARROW * (angle + turn).sin(),
        )
    };
    let ((ax, ay), (bx, by)) = (head(0.4), head(-0.4));
    let (name, endpoint) = (escape(name), escape(endpoint));
    format!(
        "<g class=\"connects\" data-node=\"{name}\" data-endpoint=\"{endpoint}\"><line x1=\"{x1:.1}\" y1=\"{y1:.1}\" x2=\"{x2:.1}\" y2=\"{y2:.1}\" stroke=\"#555\" stroke-width=\"1.5\" stroke-dasharray=\"6 4\"/><polygon points=\"{x2:.1},{y2:.1} {ax:.1},{ay:.1} {bx:.1},{by:.1}\" fill=\"#555\"/></g>\n"
    )
}

/// What the lines and colours mean.
fn legend() -> String {
    let y = 22.0;
    format!(
        "<g class=\"legend\" font-size=\"11\"><line x1=\"{m}\" y1=\"{y}\" x2=\"{a}\" y2=\"{y}\" stroke=\"#2e7d32\" stroke-width=\"3\"/><text x=\"{b}\" y=\"{t}\">binds</text><line x1=\"{c}\" y1=\"{y}\" x2=\"{d}\" y2=\"{y}\" stroke=\"#555\" stroke-dasharray=\"6 4\"/><polygon points=\"{d},{y} {e},{u} {e},{v}\" fill=\"#555\"/><text x=\"{f}\" y=\"{t}\">connects to</text><rect x=\"{g}\" y=\"{r}\" width=\"24\" height=\"14\" rx=\"3\" fill=\"#fafafa\" stroke=\"{FAULT_RED}\" stroke-width=\"3\"/><text x=\"{h}\" y=\"{t}\">hit by a fault</text><text x=\"{i}\" y=\"{t}\" fill=\"#555\">the first to start at the bottom</text></g>\n",
        m = MARGIN,
        a = MARGIN + 36.0,
        b = MARGIN + 42.0,
        t = y + 4.0,
        c = MARGIN + 100.0,
        d = MARGIN + 136.0,
        e = MARGIN + 128.0,
        u = y - 4.0,
        v = y + 4.0,
        f = MARGIN + 142.0,
        g = MARGIN + 230.0,
        r = y - 7.0,
        h = MARGIN + 260.0,
        i = MARGIN + 360.0,
    )
}

#[cfg(test)]
mod tests {
    use super::super::spec::Lab;
    use super::*;

    fn topology(text: &str) -> Topology {
        let plan = Lab::parse(text, "t.lab").unwrap().plan().unwrap();
        Topology::of(&plan)
    }

    const PIPELINE: &str = "name = \"t\"\n[endpoints]\nwork = {}\nsink = {}\n\
        [[node]]\nname = \"sink\"\nrun = [\"zpull\", \"--bind\", \"{sink}\"]\n\
        [[node]]\nname = \"worker\"\nreplicas = 3\nrun = [\"zpull\", \"--bind\", \"{work}\", \"--push\", \"{sink}\"]\n\
        [[node]]\nname = \"source\"\nrun = [\"zpush\", \"--connect\", \"{work}\"]\n\
        [[fault]]\nat = \"1s\"\nkill = \"worker.2\"\nsignal = \"STOP\"\n";

    #[test]
    fn nodes_endpoints_and_edges_are_drawn() {
        let svg = svg(&topology(PIPELINE));
        assert!(svg.starts_with("<svg id=\"topology\""), "{svg}");
        for node in [
            "sink\" data-replicas=\"1",
            "worker\" data-replicas=\"3",
            "source\" data-replicas=\"1",
        ] {
            assert!(
                svg.contains(&format!("<g class=\"node\" data-node=\"{node}\"")),
                "{node}: {svg}"
            );
        }
        assert!(svg.contains("<line class=\"binds\" data-node=\"worker\" data-endpoint=\"work\""));
        assert!(svg.contains("<g class=\"connects\" data-node=\"worker\" data-endpoint=\"sink\""));
        assert!(svg.contains("<g class=\"connects\" data-node=\"source\" data-endpoint=\"work\""));
        assert_eq!(svg.matches("class=\"binds\"").count(), 2);
        assert_eq!(svg.matches("<g class=\"connects\"").count(), 2);
        assert!(svg.contains(">worker.2: SIGSTOP at 1s</text>"), "{svg}");
    }

    #[test]
    fn the_first_to_start_is_at_the_bottom() {
        let topology = topology(PIPELINE);
        let ranks: Vec<usize> = topology.nodes.iter().map(|n| n.rank).collect();
        assert_eq!(ranks, [0, 1, 2]);
        let layout = Layout::of(&topology);
        let y = |n: usize| layout.centre(layout.nodes[n]).1;
        let endpoint = |e: &str| layout.centre(layout.endpoints[e]).1;
        assert!(y(2) < endpoint("work") && endpoint("work") < y(1));
        assert!(y(1) < endpoint("sink") && endpoint("sink") < y(0));
    }
}
