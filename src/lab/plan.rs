//! Checking a lab and planning its run: replicas become instances, each argument is
//! split into text and endpoint references, every endpoint is known to have a binder
//! that starts before its connectors, and regular expressions are compiled. Every
//! error names the node (and, for a file, its line) and the field at fault.

use super::parse::Table;
use super::spec::{Count, FaultAction, Lab, NetnsPolicy, Node};
use crate::error::{Error, Result};
use regex::Regex;
use std::collections::{BTreeMap, BTreeSet};

/// The zpattern binaries: found next to the running program, given `--stats`, and
/// able to report counts.
pub const BINARIES: [&str; 6] = ["zpub", "zsub", "zreq", "zrep", "zpush", "zpull"];

/// Placeholders that are not endpoints.
const REPLICA: &str = "replica";
const DIR: &str = "dir";

/// A checked lab, ready to run: see [`Plan::run`](crate::lab::Plan::run).
#[derive(Debug)]
pub struct Plan {
    pub(crate) lab: Lab,
    pub(crate) nodes: Vec<NodePlan>,
    pub(crate) instances: Vec<Instance>,
}

/// What the runner needs to know about one node beyond its spec.
#[derive(Debug)]
pub(crate) struct NodePlan {
    /// The zpattern binary the node runs, if it runs one.
    pub(crate) binary: Option<&'static str>,
    /// Standard input, read from `input` or `input_file`.
    pub(crate) input: Option<Vec<u8>>,
    pub(crate) ready: Option<Regex>,
    pub(crate) stdout: Vec<(String, Regex)>,
    pub(crate) stdout_all: Option<(String, Regex)>,
    pub(crate) stderr: Vec<(String, Regex)>,
}

/// One process to start: a node's replica.
#[derive(Debug)]
pub(crate) struct Instance {
    /// `NAME`, or `NAME.N` for a replicated node.
    pub(crate) name: String,
    pub(crate) node: usize,
    pub(crate) replica: u32,
    pub(crate) args: Vec<Arg>,
    /// Endpoints this instance binds; it is ready once it reported them all.
    pub(crate) binds: Vec<String>,
    /// Endpoints it connects to; it starts once all their binders are ready.
    pub(crate) connects: Vec<String>,
}

/// One argument of a node's command line.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Arg {
    /// One argument made of text and placeholders.
    One(Vec<Part>),
    /// `--connect {ep}`: the option and endpoint once per binder of `ep`.
    Each { option: String, endpoint: String },
}

/// A piece of an argument.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Part {
    Text(String),
    Bind(String),
    Connect(String),
    Replica,
    Dir,
}

impl Lab {
    /// Check the lab and plan its run. Errors name the node or fault and the field,
    /// and for a lab read from a file, the line: `x.lab:12: node 'sub': unknown
    /// endpoint '{news}'`.
    pub fn plan(self) -> Result<Plan> {
        let at = |table: Table, message: String| match &self.origin {
            Some(origin) => Error::usage(format!("{}: {message}", origin.place(table))),
            None => Error::usage(format!("lab '{}': {message}", self.name)),
        };
        check_lab(&self).map_err(|m| at(Table::Lab, m))?;
        let mut nodes = Vec::new();
        let mut instances = Vec::new();
        for (i, node) in self.nodes.iter().enumerate() {
            let fail = |m: String| at(Table::Node(i), format!("node '{}': {m}", node.name));
            check_node(&self, node).map_err(fail)?;
            nodes.push(node_plan(&self, node).map_err(fail)?);
            let args = split_args(&self, node).map_err(fail)?;
            instances.extend(expand(i, node, &args));
        }
        check_binders(&self, &instances).map_err(|(i, m)| at(Table::Node(i), m))?;
        check_order(&self, &instances).map_err(|m| at(Table::Lab, m))?;
        for (i, fault) in self.faults.iter().enumerate() {
            check_fault(&self, fault).map_err(|m| at(Table::Fault(i), m))?;
        }
        for (i, link) in self.links.iter().enumerate() {
            check_link(&self, &link.between).map_err(|m| at(Table::Link(i), m))?;
        }
        check_hosts(&self, &instances).map_err(|(i, m)| at(Table::Node(i), m))?;
        Ok(Plan {
            lab: self,
            nodes,
            instances,
        })
    }
}

impl Plan {
    /// The lab this plan runs.
    pub fn lab(&self) -> &Lab {
        &self.lab
    }

    /// The processes the run starts, `NAME` or `NAME.N` for replicas, in file order.
    pub fn instance_names(&self) -> Vec<&str> {
        self.instances.iter().map(|i| i.name.as_str()).collect()
    }

    /// The instances of node `node` (all replicas).
    pub(crate) fn replicas_of(&self, node: usize) -> impl Iterator<Item = usize> + '_ {
        (0..self.instances.len()).filter(move |&i| self.instances[i].node == node)
    }

    /// The instances a fault target (`NAME` or `NAME.N`) designates.
    pub(crate) fn targets(&self, target: &str) -> Vec<usize> {
        (0..self.instances.len())
            .filter(|&i| {
                let instance = &self.instances[i];
                instance.name == target || self.lab.nodes[instance.node].name == target
            })
            .collect()
    }
}

fn check_lab(lab: &Lab) -> std::result::Result<(), String> {
    if lab.name.trim().is_empty() {
        return Err("'name' is empty".into());
    }
    if lab.nodes.is_empty() {
        return Err("the lab has no [[node]]".into());
    }
    if lab.nodes.iter().all(|n| n.background) {
        return Err("every node is a background node: nothing would end the run".into());
    }
    for name in lab.endpoints.keys() {
        if !is_identifier(name) || name == REPLICA || name == DIR {
            return Err(format!(
                "endpoint name '{name}' is reserved or not a plain name (letters, digits, _ and -)"
            ));
        }
    }
    let mut seen = BTreeSet::new();
    for node in &lab.nodes {
        if !seen.insert(node.name.as_str()) {
            return Err(format!("two nodes are called '{}'", node.name));
        }
    }
    if lab.netns == NetnsPolicy::Off && !lab.links.is_empty() {
        return Err("[[link]] needs netns = \"optional\" or \"required\"".into());
    }
    Ok(())
}

fn check_node(lab: &Lab, node: &Node) -> std::result::Result<(), String> {
    if !is_identifier(&node.name) {
        return Err("'name' must be letters, digits, _ and - (replicas add .N)".into());
    }
    if node.run.is_empty() || node.run[0].is_empty() {
        return Err("'run' needs a program".into());
    }
    if node.replicas == 0 || node.replicas > 100 {
        return Err(format!("'replicas' is {}: use 1 to 100", node.replicas));
    }
    if node.input.is_some() && node.input_file.is_some() {
        return Err("'input' and 'input_file' cannot both be set".into());
    }
    for endpoint in &node.binds {
        if !lab.endpoints.contains_key(endpoint) {
            return Err(format!("'binds': unknown endpoint '{endpoint}'"));
        }
    }
    if node.host.is_some() && lab.netns == NetnsPolicy::Off {
        return Err("'host' needs netns = \"optional\" or \"required\"".into());
    }
    let counts = [
        ("expect.sent", node.expect.sent),
        ("expect.received", node.expect.received),
        ("expect.received_total", node.expect.received_total),
    ];
    for (field, count) in counts {
        if count.is_some() && !(node.stats && binary_of(&node.run[0]).is_some()) {
            return Err(format!(
                "{field} needs counts, which only the zpattern binaries report (with stats = true)"
            ));
        }
    }
    if let Some(Count::Range {
        min: Some(a),
        max: Some(b),
    }) = node.expect.received
    {
        if a > b {
            return Err(format!("expect.received: min {a} is above max {b}"));
        }
    }
    Ok(())
}

fn node_plan(lab: &Lab, node: &Node) -> std::result::Result<NodePlan, String> {
    let regex = |field: &str, pattern: &str| {
        Regex::new(pattern)
            .map(|r| (pattern.to_string(), r))
            .map_err(|e| format!("{field}: invalid regular expression: {e}"))
    };
    let each = |field: &str, patterns: &[String]| {
        patterns
            .iter()
            .enumerate()
            .map(|(i, p)| regex(&format!("{field}[{i}]"), p))
            .collect::<std::result::Result<Vec<_>, String>>()
    };
    let input = match (&node.input, &node.input_file) {
        (Some(text), _) => Some(text.clone().into_bytes()),
        (None, Some(path)) => {
            let path = match &lab.origin {
                Some(origin) => origin.dir().join(path),
                None => path.clone(),
            };
            let bytes = std::fs::read(&path)
                .map_err(|e| format!("input_file: cannot read {}: {e}", path.display()))?;
            Some(bytes)
        }
        (None, None) => None,
    };
    Ok(NodePlan {
        binary: binary_of(&node.run[0]),
        input,
        ready: node
            .ready
            .as_deref()
            .map(|p| regex("ready", p).map(|(_, r)| r))
            .transpose()?,
        stdout: each("expect.stdout", &node.expect.stdout)?,
        stdout_all: node
            .expect
            .stdout_all
            .as_deref()
            .map(|p| regex("expect.stdout_all", p))
            .transpose()?,
        stderr: each("expect.stderr", &node.expect.stderr)?,
    })
}

/// The zpattern binary `program` names, if it is one given by bare name.
pub(crate) fn binary_of(program: &str) -> Option<&'static str> {
    BINARIES.iter().copied().find(|b| *b == program)
}

/// Split a node's arguments into text and placeholders.
fn split_args(lab: &Lab, node: &Node) -> std::result::Result<Vec<Arg>, String> {
    let mut args = Vec::new();
    let mut words = node.run.iter().peekable();
    let mut previous: Option<&str> = None;
    while let Some(word) = words.next() {
        let is_option = word.starts_with('-') && word.len() > 1;
        let after_bind = matches!(previous, Some("--bind" | "-b"));
        let next_alone = words.peek().and_then(|w| alone(w));
        if let (true, false, Some(endpoint)) =
            (is_option, word == "--bind" || word == "-b", next_alone)
        {
            check_endpoint(lab, endpoint)?;
            if !node.binds.iter().any(|b| b == endpoint) {
                args.push(Arg::Each {
                    option: word.clone(),
                    endpoint: endpoint.to_string(),
                });
                words.next();
                previous = None;
                continue;
            }
        }
        args.push(Arg::One(parts(lab, node, word, after_bind)?));
        previous = Some(word);
    }
    Ok(args)
}

/// The endpoint name if `word` is exactly one placeholder, `{name}`.
fn alone(word: &str) -> Option<&str> {
    let name = word.strip_prefix('{')?.strip_suffix('}')?;
    (is_identifier(name) && name != REPLICA && name != DIR).then_some(name)
}

fn parts(
    lab: &Lab,
    node: &Node,
    word: &str,
    after_bind: bool,
) -> std::result::Result<Vec<Part>, String> {
    let mut parts = Vec::new();
    let mut text = String::new();
    let mut rest = word;
    while let Some(open) = rest.find('{') {
        let close = rest[open..].find('}').map(|c| open + c);
        let name = close
            .map(|c| &rest[open + 1..c])
            .filter(|n| is_identifier(n));
        let (Some(close), Some(name)) = (close, name) else {
            text.push_str(&rest[..=open]);
            rest = &rest[open + 1..];
            continue;
        };
        text.push_str(&rest[..open]);
        if !text.is_empty() {
            parts.push(Part::Text(std::mem::take(&mut text)));
        }
        parts.push(match name {
            REPLICA => Part::Replica,
            DIR => Part::Dir,
            _ => {
                check_endpoint(lab, name)?;
                let binds = after_bind
                    || word.starts_with("--bind=")
                    || node.binds.iter().any(|b| b == name);
                if binds {
                    Part::Bind(name.to_string())
                } else {
                    Part::Connect(name.to_string())
                }
            }
        });
        rest = &rest[close + 1..];
    }
    text.push_str(rest);
    if !text.is_empty() {
        parts.push(Part::Text(text));
    }
    Ok(parts)
}

fn check_endpoint(lab: &Lab, name: &str) -> std::result::Result<(), String> {
    if lab.endpoints.contains_key(name) {
        Ok(())
    } else {
        Err(format!(
            "unknown endpoint '{{{name}}}' (declare it under [endpoints])"
        ))
    }
}

fn is_identifier(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

/// One instance per replica.
fn expand(node_index: usize, node: &Node, args: &[Arg]) -> Vec<Instance> {
    let mut binds = BTreeSet::new();
    let mut connects = BTreeSet::new();
    for arg in args {
        match arg {
            Arg::Each { endpoint, .. } => {
                connects.insert(endpoint.clone());
            }
            Arg::One(parts) => {
                for part in parts {
                    match part {
                        Part::Bind(e) => {
                            binds.insert(e.clone());
                        }
                        Part::Connect(e) => {
                            connects.insert(e.clone());
                        }
                        _ => {}
                    }
                }
            }
        }
    }
    binds.extend(node.binds.iter().cloned());
    (1..=node.replicas)
        .map(|replica| Instance {
            name: if node.replicas == 1 {
                node.name.clone()
            } else {
                format!("{}.{replica}", node.name)
            },
            node: node_index,
            replica,
            args: args.to_vec(),
            binds: binds.iter().cloned().collect(),
            connects: connects.iter().cloned().collect(),
        })
        .collect()
}

/// Every endpoint connected to has a binder; a single-argument use of an endpoint
/// with several binders cannot be expanded.
fn check_binders(lab: &Lab, instances: &[Instance]) -> std::result::Result<(), (usize, String)> {
    let binders = binders(instances);
    for instance in instances {
        let node = &lab.nodes[instance.node];
        let fail = |m: String| (instance.node, format!("node '{}': {m}", node.name));
        for endpoint in &instance.connects {
            let count = binders.get(endpoint.as_str()).map_or(0, Vec::len);
            if count == 0 {
                return Err(fail(format!(
                    "connects to '{{{endpoint}}}', which no node binds (put --bind before it in the binder's 'run')"
                )));
            }
            if instance.binds.contains(endpoint) {
                return Err(fail(format!("both binds and connects to '{{{endpoint}}}'")));
            }
            let inline = instance.args.iter().any(|a| match a {
                Arg::One(parts) => parts.contains(&Part::Connect(endpoint.clone())),
                Arg::Each { .. } => false,
            });
            if inline && count > 1 {
                return Err(fail(format!(
                    "'{{{endpoint}}}' has {count} binders: write it as its own argument after an option (--connect {{{endpoint}}}) so that it repeats"
                )));
            }
        }
    }
    Ok(())
}

/// Endpoint name to the instances binding it.
pub(crate) fn binders(instances: &[Instance]) -> BTreeMap<&str, Vec<usize>> {
    let mut map: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for (i, instance) in instances.iter().enumerate() {
        for endpoint in &instance.binds {
            map.entry(endpoint.as_str()).or_default().push(i);
        }
    }
    map
}

/// Binders start before connectors: the "waits for" graph between nodes has no cycle.
fn check_order(lab: &Lab, instances: &[Instance]) -> std::result::Result<(), String> {
    let binders = binders(instances);
    let waits_for = |node: usize| -> BTreeSet<usize> {
        instances
            .iter()
            .filter(|i| i.node == node)
            .flat_map(|i| i.connects.iter())
            .flat_map(|e| binders.get(e.as_str()).into_iter().flatten())
            .map(|&b| instances[b].node)
            .collect()
    };
    // Repeatedly take the nodes whose binders are all taken; what remains is a cycle.
    let mut started = BTreeSet::new();
    while started.len() < lab.nodes.len() {
        let ready: Vec<usize> = (0..lab.nodes.len())
            .filter(|n| !started.contains(n) && waits_for(*n).is_subset(&started))
            .collect();
        if ready.is_empty() {
            let stuck: Vec<&str> = (0..lab.nodes.len())
                .filter(|n| !started.contains(n))
                .map(|n| lab.nodes[n].name.as_str())
                .collect();
            return Err(format!(
                "nodes {} wait for each other's endpoints: nothing can start first",
                stuck.join(", ")
            ));
        }
        started.extend(ready);
    }
    Ok(())
}

fn check_fault(lab: &Lab, fault: &super::spec::Fault) -> std::result::Result<(), String> {
    let target = &fault.target;
    let (node_name, replica) = match target.rsplit_once('.') {
        Some((name, n)) => (name, Some(n)),
        None => (target.as_str(), None),
    };
    let node = lab.nodes.iter().find(|n| n.name == node_name);
    let known = match (node, replica) {
        (Some(_), None) => true,
        (Some(node), Some(n)) => n
            .parse::<u32>()
            .is_ok_and(|n| (1..=node.replicas).contains(&n) && node.replicas > 1),
        (None, _) => false,
    };
    let verb = match fault.action {
        FaultAction::Kill { .. } => "kill",
        FaultAction::Restart => "restart",
    };
    if !known {
        return Err(format!(
            "fault: {verb} = '{target}': no such node or replica"
        ));
    }
    if fault.at >= lab.time_limit {
        return Err(format!(
            "fault: at = {} is not within the time limit ({})",
            crate::duration::display(fault.at),
            crate::duration::display(lab.time_limit)
        ));
    }
    Ok(())
}

fn check_link(lab: &Lab, between: &[String; 2]) -> std::result::Result<(), String> {
    if between[0] == between[1] {
        return Err(format!("link: both ends are host '{}'", between[0]));
    }
    for host in between {
        if !lab
            .nodes
            .iter()
            .any(|n| n.host.as_deref() == Some(host.as_str()))
        {
            return Err(format!("link: no node runs on host '{host}'"));
        }
        if !is_identifier(host) || host.len() > 10 {
            return Err(format!(
                "link: host name '{host}' must be a plain name of at most 10 characters"
            ));
        }
    }
    let same = |l: &super::spec::Link| {
        let mut a = l.between.clone();
        let mut b = between.clone();
        a.sort();
        b.sort();
        a == b
    };
    if lab.links.iter().filter(|l| same(l)).count() > 1 {
        return Err(format!(
            "link: hosts '{}' and '{}' are linked twice",
            between[0], between[1]
        ));
    }
    Ok(())
}

/// With namespaces, a connector reaches its binder on the same host or over a
/// direct link, and only tcp crosses a link.
fn check_hosts(lab: &Lab, instances: &[Instance]) -> std::result::Result<(), (usize, String)> {
    let binders = binders(instances);
    let host = |i: &Instance| lab.nodes[i.node].host.clone().unwrap_or_default();
    for instance in instances {
        let node = &lab.nodes[instance.node];
        for endpoint in &instance.connects {
            for &b in binders.get(endpoint.as_str()).into_iter().flatten() {
                let (from, to) = (host(instance), host(&instances[b]));
                if from == to {
                    continue;
                }
                let fail = |m: String| (instance.node, format!("node '{}': {m}", node.name));
                let spec = &lab.endpoints[endpoint];
                if spec.transport == super::spec::LabTransport::Ipc {
                    return Err(fail(format!(
                        "'{{{endpoint}}}' is ipc, which does not cross hosts: use transport = \"tcp\""
                    )));
                }
                let linked = lab.links.iter().any(|l| {
                    (l.between[0] == from && l.between[1] == to)
                        || (l.between[1] == from && l.between[0] == to)
                });
                if !linked {
                    let name = |h: &str| {
                        if h.is_empty() {
                            "the lab's own host".to_string()
                        } else {
                            format!("host '{h}'")
                        }
                    };
                    return Err(fail(format!(
                        "connects to '{{{endpoint}}}' on {} from {}, but no [[link]] joins them",
                        name(&to),
                        name(&from)
                    )));
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lab::spec::LabTransport;

    fn plan_error(text: &str) -> String {
        Lab::parse(text, "t.lab")
            .and_then(Lab::plan)
            .unwrap_err()
            .to_string()
    }

    const HEAD: &str = "name = \"t\"\n[endpoints]\nnews = { transport = \"tcp\" }\n";

    #[test]
    fn unknown_endpoints_are_named_with_their_node_and_line() {
        let e = plan_error(&format!(
            "{HEAD}\n[[node]]\nname = \"sub\"\nrun = [\"zsub\", \"--connect\", \"{{newz}}\"]\n"
        ));
        assert_eq!(
            e,
            "t.lab:5: node 'sub': unknown endpoint '{newz}' (declare it under [endpoints])"
        );
    }

    #[test]
    fn an_endpoint_nobody_binds_is_an_error() {
        let e = plan_error(&format!(
            "{HEAD}[[node]]\nname = \"sub\"\nrun = [\"zsub\", \"--connect\", \"{{news}}\"]\n"
        ));
        assert!(
            e.contains("node 'sub': connects to '{news}', which no node binds"),
            "{e}"
        );
    }

    #[test]
    fn waiting_in_a_circle_is_an_error() {
        let text = "name = \"t\"\n[endpoints]\na = {}\nb = {}\n\
            [[node]]\nname = \"x\"\nrun = [\"zpull\", \"--bind\", \"{a}\", \"--connect\", \"{b}\"]\n\
            [[node]]\nname = \"y\"\nrun = [\"zpull\", \"--bind\", \"{b}\", \"--connect\", \"{a}\"]\n";
        assert!(plan_error(text).contains("nodes x, y wait for each other"));
    }

    #[test]
    fn faults_name_existing_nodes() {
        let e = plan_error(&format!(
            "{HEAD}[[node]]\nname = \"p\"\nrun = [\"zpub\", \"--bind\", \"{{news}}\"]\n[[fault]]\nat = \"1s\"\nkill = \"q\"\n"
        ));
        assert_eq!(e, "t.lab:7: fault: kill = 'q': no such node or replica");
    }

    #[test]
    fn counts_need_a_zpattern_binary() {
        let e = plan_error(
            "name = \"t\"\n[[node]]\nname = \"c\"\nrun = [\"cat\"]\nexpect = { received = 1 }\n",
        );
        assert!(e.contains("node 'c': expect.received needs counts"), "{e}");
    }

    #[test]
    fn bad_regular_expressions_name_the_field() {
        let e = plan_error("name = \"t\"\n[[node]]\nname = \"c\"\nrun = [\"cat\"]\nexpect = { stdout = [\"ok\", \"(\"] }\n");
        assert!(
            e.contains("node 'c': expect.stdout[1]: invalid regular expression"),
            "{e}"
        );
    }

    #[test]
    fn connect_options_repeat_for_each_binder() {
        let lab = Lab::new("t")
            .endpoint("dryer", LabTransport::Ipc)
            .node(super::Node::new("dryer", ["zpull", "--bind", "{dryer}"]).replicas(2))
            .node(super::Node::new(
                "washer",
                ["zpush", "-c", "{dryer}", "--data", "dish {replica}"],
            ));
        let plan = lab.plan().unwrap();
        assert_eq!(plan.instance_names(), ["dryer.1", "dryer.2", "washer"]);
        let washer = &plan.instances[2];
        assert_eq!(washer.connects, ["dryer"]);
        assert_eq!(
            washer.args[1],
            Arg::Each {
                option: "-c".into(),
                endpoint: "dryer".into()
            }
        );
        assert_eq!(
            washer.args[3],
            Arg::One(vec![Part::Text("dish ".into()), Part::Replica])
        );
        assert_eq!(plan.instances[0].binds, ["dryer"]);
    }

    #[test]
    fn text_that_is_not_a_placeholder_stays() {
        let lab = Lab::new("t").node(super::Node::new("p", ["zpub", "--data", "{\"a\":1} {x y}"]));
        let plan = lab.plan().unwrap();
        assert_eq!(
            plan.instances[0].args[2],
            Arg::One(vec![Part::Text("{\"a\":1} {x y}".into())])
        );
    }

    #[test]
    fn hosts_need_a_link_and_tcp() {
        let text = "name = \"t\"\nnetns = \"optional\"\n[endpoints]\nq = {}\n\
            [[node]]\nname = \"a\"\nhost = \"left\"\nrun = [\"zpull\", \"--bind\", \"{q}\"]\n\
            [[node]]\nname = \"b\"\nhost = \"right\"\nrun = [\"zpush\", \"--connect\", \"{q}\"]\n";
        let e = plan_error(text);
        assert!(e.contains("node 'b': connects to '{q}' on host 'left' from host 'right', but no [[link]] joins them"), "{e}");
        let linked = format!("{text}[[link]]\nbetween = [\"left\", \"right\"]\nloss = \"5%\"\n");
        assert!(Lab::parse(&linked, "t.lab").unwrap().plan().is_ok());
    }
}
