//! The checks a lab must pass before it runs, each returning a message that names
//! the node, fault or link and the field at fault ([`Lab::plan`] adds the place).

use super::instance::{binary_of, is_identifier, Arg, Instance, NodePlan, Part, DIR, REPLICA};
use super::spec::{
    check_rate, Count, Fault, FaultAction, Lab, LabTransport, Link, NetnsPolicy, Node,
};
use crate::cli::lines::flags;
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

pub(super) fn lab(lab: &Lab) -> std::result::Result<(), String> {
    if lab.name.trim().is_empty() {
        return Err("'name' is empty".into());
    }
    if lab.nodes.is_empty() {
        return Err("the lab has no [[node]]".into());
    }
    if lab.nodes.iter().all(|n| n.background) {
        return Err("every node is a background node: nothing would end the run".into());
    }
    if lab.time_limit == Duration::ZERO {
        return Err("'time_limit' is 0: a lab needs some time to run".into());
    }
    for name in lab.endpoints.keys() {
        if !is_identifier(name) || name == REPLICA || name == DIR {
            return Err(format!(
                "endpoint name '{name}' is reserved or not a plain name (letters, digits, _ and -)"
            ));
        }
    }
    if lab.netns == NetnsPolicy::Off && !lab.links.is_empty() {
        return Err("[[link]] needs netns = \"optional\" or \"required\"".into());
    }
    Ok(())
}

/// Node names are unique: the error is about the second node of a name.
pub(super) fn unique_names(lab: &Lab) -> std::result::Result<(), (usize, String)> {
    let mut seen = BTreeSet::new();
    for (i, node) in lab.nodes.iter().enumerate() {
        if !seen.insert(node.name.as_str()) {
            return Err((
                i,
                format!("two nodes are called '{}': names must be unique", node.name),
            ));
        }
    }
    Ok(())
}

pub(super) fn node(lab: &Lab, node: &Node) -> std::result::Result<(), String> {
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
    for (field, count) in counts {
        if let Some(Count::Range {
            min: Some(a),
            max: Some(b),
        }) = count
        {
            if a > b {
                return Err(format!("{field}: min {a} is above max {b}"));
            }
        }
    }
    Ok(())
}

/// The first instance of each node: its replicas share its endpoints and arguments.
fn first_instances<'a>(
    nodes: &'a [NodePlan],
    instances: &'a [Instance],
) -> impl Iterator<Item = &'a Instance> + 'a {
    nodes.iter().map(move |n| &instances[n.instances.start])
}

/// A zpattern binder with `--quiet` prints no `bound` line, so the nodes that
/// connect to it would wait for it until the time limit.
pub(super) fn quiet_binders(
    lab: &Lab,
    nodes: &[NodePlan],
    instances: &[Instance],
) -> std::result::Result<(), (usize, String)> {
    let waited_for: BTreeSet<&str> = first_instances(nodes, instances)
        .flat_map(|i| i.connects.iter().map(String::as_str))
        .collect();
    for instance in first_instances(nodes, instances) {
        let node = &lab.nodes[instance.node];
        let quiet = node
            .run
            .iter()
            .any(|a| a == flags::QUIET || a == flags::QUIET_SHORT);
        if !quiet || node.ready.is_some() || binary_of(&node.run[0]).is_none() {
            continue;
        }
        if let Some(endpoint) = instance
            .binds
            .iter()
            .find(|e| waited_for.contains(e.as_str()))
        {
            return Err((
                instance.node,
                format!(
                    "node '{}': --quiet hides the 'bound' line that the nodes connecting to '{{{endpoint}}}' wait for: drop --quiet, or set 'ready' to a pattern on its output",
                    node.name
                ),
            ));
        }
    }
    Ok(())
}

/// Every endpoint connected to has a binder; a single-argument use of an endpoint
/// with several binders cannot be expanded.
pub(super) fn binders(
    lab: &Lab,
    nodes: &[NodePlan],
    instances: &[Instance],
    binders: &BTreeMap<String, Vec<usize>>,
) -> std::result::Result<(), (usize, String)> {
    for instance in first_instances(nodes, instances) {
        let node = &lab.nodes[instance.node];
        let fail = |m: String| (instance.node, format!("node '{}': {m}", node.name));
        let inline: BTreeSet<&str> = instance
            .args
            .iter()
            .flat_map(|a| match a {
                Arg::One(parts) => parts.as_slice(),
                Arg::Each { .. } => &[],
            })
            .filter_map(|p| match p {
                Part::Connect(e) => Some(e.as_str()),
                _ => None,
            })
            .collect();
        for endpoint in &instance.connects {
            let count = binders.get(endpoint).map_or(0, Vec::len);
            if count == 0 {
                return Err(fail(format!(
                    "connects to '{{{endpoint}}}', which no node binds (put --bind before it in the binder's 'run')"
                )));
            }
            if instance.binds.contains(endpoint) {
                return Err(fail(format!("both binds and connects to '{{{endpoint}}}'")));
            }
            if inline.contains(endpoint.as_str()) && count > 1 {
                return Err(fail(format!(
                    "'{{{endpoint}}}' has {count} binders: write it as its own argument after an option (--connect {{{endpoint}}}) so that it repeats"
                )));
            }
        }
    }
    Ok(())
}

/// Binders start before connectors: the "waits for" graph between nodes has no
/// cycle. Nodes are taken in the order they can start (a node once every endpoint
/// it connects to has all its binders started; an endpoint once its last binder
/// is), each node and endpoint once: what is never taken is a cycle. Returns the
/// nodes in an order they can start in.
pub(super) fn order(
    lab: &Lab,
    nodes: &[NodePlan],
    instances: &[Instance],
) -> std::result::Result<Vec<usize>, String> {
    // Per endpoint: the nodes binding it, and those connecting to it.
    let mut binding: BTreeMap<&str, usize> = BTreeMap::new();
    let mut connecting: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    let mut waits = vec![0usize; nodes.len()];
    for instance in first_instances(nodes, instances) {
        for endpoint in &instance.binds {
            *binding.entry(endpoint.as_str()).or_default() += 1;
        }
        for endpoint in &instance.connects {
            connecting
                .entry(endpoint.as_str())
                .or_default()
                .push(instance.node);
            waits[instance.node] += 1;
        }
    }
    let mut ready: Vec<usize> = (0..nodes.len()).filter(|&n| waits[n] == 0).collect();
    let mut started = vec![false; nodes.len()];
    let mut order = Vec::with_capacity(nodes.len());
    while let Some(n) = ready.pop() {
        started[n] = true;
        order.push(n);
        for endpoint in &instances[nodes[n].instances.start].binds {
            let left = binding.entry(endpoint.as_str()).or_default();
            *left = left.saturating_sub(1);
            if *left > 0 {
                continue;
            }
            for &m in connecting.get(endpoint.as_str()).into_iter().flatten() {
                waits[m] -= 1;
                if waits[m] == 0 {
                    ready.push(m);
                }
            }
        }
    }
    let stuck: Vec<&str> = (0..nodes.len())
        .filter(|&n| !started[n])
        .map(|n| lab.nodes[n].name.as_str())
        .collect();
    if stuck.is_empty() {
        Ok(order)
    } else {
        Err(format!(
            "nodes {} wait for each other's endpoints: nothing can start first",
            stuck.join(", ")
        ))
    }
}

/// Node names to their index, to find a fault's target.
pub(super) struct NodeNames<'a>(BTreeMap<&'a str, usize>);

impl<'a> NodeNames<'a> {
    pub(super) fn new(lab: &'a Lab) -> NodeNames<'a> {
        NodeNames(
            lab.nodes
                .iter()
                .enumerate()
                .map(|(i, n)| (n.name.as_str(), i))
                .collect(),
        )
    }
}

/// A fault names an existing node or replica, within the time limit. Returns the
/// node's index.
pub(super) fn fault(
    lab: &Lab,
    names: &NodeNames,
    fault: &Fault,
) -> std::result::Result<usize, String> {
    let target = &fault.target;
    let (node_name, replica) = match target.rsplit_once('.') {
        Some((name, n)) => (name, Some(n)),
        None => (target.as_str(), None),
    };
    let index = names.0.get(node_name).copied();
    let node = index.map(|i| &lab.nodes[i]);
    let known = match (node, replica) {
        (Some(_), None) => true,
        // "a.2", never "a.02": the target is matched against the replica names.
        (Some(node), Some(n)) => n.parse::<u32>().is_ok_and(|k| {
            k.to_string() == n && (1..=node.replicas).contains(&k) && node.replicas > 1
        }),
        (None, _) => false,
    };
    let verb = match fault.action {
        FaultAction::Kill { .. } => "kill",
        FaultAction::Restart => "restart",
    };
    let (Some(index), true) = (index, known) else {
        let replicas = node.map_or(String::new(), |n| match n.replicas {
            1 => format!(" (node '{}' has one replica: write '{}')", n.name, n.name),
            k => format!(
                " (node '{}' has replicas {}.1 to {}.{k})",
                n.name, n.name, n.name
            ),
        });
        return Err(format!(
            "fault: {verb} = '{target}': no such node or replica{replicas}"
        ));
    };
    if fault.at >= lab.time_limit {
        return Err(format!(
            "fault: at = {} is not within the time limit ({})",
            crate::duration::display(fault.at),
            crate::duration::display(lab.time_limit)
        ));
    }
    Ok(index)
}

/// The hosts the nodes run on, and the pairs of hosts the links join.
pub(super) struct Hosts<'a> {
    used: BTreeSet<&'a str>,
    /// Each link's ends, in order, to the number of links joining them.
    linked: BTreeMap<(&'a str, &'a str), usize>,
}

impl<'a> Hosts<'a> {
    pub(super) fn new(lab: &'a Lab) -> Hosts<'a> {
        let mut linked = BTreeMap::new();
        for link in &lab.links {
            *linked.entry(ends(&link.between)).or_default() += 1;
        }
        Hosts {
            used: lab.nodes.iter().filter_map(|n| n.host.as_deref()).collect(),
            linked,
        }
    }

    /// Whether a link joins hosts `a` and `b`.
    fn joined(&self, a: &str, b: &str) -> bool {
        let pair = if a <= b { (a, b) } else { (b, a) };
        self.linked.contains_key(&pair)
    }
}

/// A link's two hosts, in order.
fn ends(between: &[String; 2]) -> (&str, &str) {
    let (a, b) = (between[0].as_str(), between[1].as_str());
    if a <= b {
        (a, b)
    } else {
        (b, a)
    }
}

pub(super) fn link(hosts: &Hosts, link: &Link) -> std::result::Result<(), String> {
    let between = &link.between;
    if let Some(rate) = &link.rate {
        check_rate(rate).map_err(|e| format!("link: {e}"))?;
    }
    if link.loss.is_some_and(|l| !(0.0..=100.0).contains(&l)) {
        return Err("link: 'loss' must be a percentage from 0 to 100".into());
    }
    if between[0] == between[1] {
        return Err(format!("link: both ends are host '{}'", between[0]));
    }
    for host in between {
        if !hosts.used.contains(host.as_str()) {
            return Err(format!("link: no node runs on host '{host}'"));
        }
        if !is_identifier(host) || host.len() > 10 {
            return Err(format!(
                "link: host name '{host}' must be a plain name of at most 10 characters"
            ));
        }
    }
    if hosts.linked.get(&ends(between)).is_some_and(|&n| n > 1) {
        return Err(format!(
            "link: hosts '{}' and '{}' are linked twice",
            between[0], between[1]
        ));
    }
    Ok(())
}

/// With namespaces, a connector reaches its binder on the same host or over a
/// direct link, and only tcp crosses a link. Each node is checked against the
/// distinct hosts of its endpoints' binders, not against every binder.
pub(super) fn hosts(
    lab: &Lab,
    hosts: &Hosts,
    nodes: &[NodePlan],
    instances: &[Instance],
    binders: &BTreeMap<String, Vec<usize>>,
) -> std::result::Result<(), (usize, String)> {
    let host = |node: usize| lab.nodes[node].host.as_deref().unwrap_or_default();
    let binder_hosts: BTreeMap<&str, BTreeSet<&str>> = binders
        .iter()
        .map(|(e, b)| {
            let hosts = b.iter().map(|&i| host(instances[i].node)).collect();
            (e.as_str(), hosts)
        })
        .collect();
    for instance in first_instances(nodes, instances) {
        let node = &lab.nodes[instance.node];
        let from = host(instance.node);
        for endpoint in &instance.connects {
            for &to in binder_hosts.get(endpoint.as_str()).into_iter().flatten() {
                if from == to {
                    continue;
                }
                let fail = |m: String| (instance.node, format!("node '{}': {m}", node.name));
                let spec = &lab.endpoints[endpoint];
                if spec.transport == LabTransport::Ipc {
                    return Err(fail(format!(
                        "'{{{endpoint}}}' is ipc, which does not cross hosts: use transport = \"tcp\""
                    )));
                }
                if !hosts.joined(from, to) {
                    let name = |h: &str| {
                        if h.is_empty() {
                            "the lab's own host".to_string()
                        } else {
                            format!("host '{h}'")
                        }
                    };
                    return Err(fail(format!(
                        "connects to '{{{endpoint}}}' on {} from {}, but no [[link]] joins them",
                        name(to),
                        name(from)
                    )));
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::limits::{MAX_FAULTS, MAX_LINKS};
    use super::*;

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
    fn a_link_rate_is_checked_where_it_is_written() {
        let text = "name = \"t\"\nnetns = \"optional\"\n[[node]]\nname = \"a\"\nhost = \"l\"\nrun = [\"true\"]\n\
            [[node]]\nname = \"b\"\nhost = \"r\"\nrun = [\"true\"]\n[[link]]\nbetween = [\"l\", \"r\"]\nrate = \"fast\"\n";
        let e = plan_error(text);
        assert!(e.starts_with("t.lab:13:8: invalid rate 'fast'"), "{e}");
        for good in ["1mbit", "500kbit", "2.5Mbit", "100kbps"] {
            let lab = Lab::parse(&text.replace("fast", good), "t.lab").unwrap();
            assert!(lab.plan().is_ok(), "{good}");
        }
        for bad in ["0mbit", "1", "mbit", "1 mbit", "1mbits"] {
            let e = plan_error(&text.replace("fast", bad));
            assert!(e.contains("invalid rate"), "{bad}: {e}");
        }
    }

    #[test]
    fn every_count_range_is_checked() {
        let e = plan_error(&format!(
            "{HEAD}[[node]]\nname = \"p\"\nrun = [\"zpub\", \"--bind\", \"{{news}}\"]\nexpect = {{ sent = {{ min = 5, max = 2 }} }}\n"
        ));
        assert_eq!(e, "t.lab:4: node 'p': expect.sent: min 5 is above max 2");
    }

    #[test]
    fn fault_targets_are_replicas_that_exist_written_as_they_are_named() {
        let lab = |target: &str| {
            format!(
                "{HEAD}[[node]]\nname = \"a\"\nreplicas = 2\nrun = [\"zpull\", \"--bind\", \"{{news}}\"]\n[[fault]]\nat = \"1s\"\nkill = \"{target}\"\n"
            )
        };
        for target in ["a.02", "a.3", "a.0", "a."] {
            let e = plan_error(&lab(target));
            assert_eq!(
                e,
                format!("t.lab:8: fault: kill = '{target}': no such node or replica (node 'a' has replicas a.1 to a.2)")
            );
        }
        for target in ["a", "a.2"] {
            assert!(Lab::parse(&lab(target), "t.lab").unwrap().plan().is_ok());
        }
    }

    #[test]
    fn faults_and_links_are_bounded_in_number() {
        let mut text =
            format!("{HEAD}[[node]]\nname = \"p\"\nrun = [\"zpub\", \"--bind\", \"{{news}}\"]\n");
        for _ in 0..=MAX_FAULTS {
            text.push_str("[[fault]]\nat = \"1s\"\nkill = \"p\"\n");
        }
        // The fault past the bound is named by its line.
        let line = 6 + 3 * MAX_FAULTS + 1;
        assert_eq!(
            plan_error(&text),
            format!("t.lab:{line}: 1001 faults: at most 1000 are allowed")
        );
        let mut text = "name = \"t\"\nnetns = \"optional\"\n".to_string();
        for k in 0..=MAX_LINKS {
            text.push_str(&format!(
                "[[node]]\nname = \"n{k}\"\nhost = \"h{k}\"\nrun = [\"true\"]\n"
            ));
        }
        for k in 0..=MAX_LINKS {
            text.push_str(&format!("[[link]]\nbetween = [\"h0\", \"h{}\"]\n", k + 1));
        }
        assert!(plan_error(&text).ends_with(": 257 links: at most 256 are allowed"));
    }

    #[test]
    fn a_zero_time_limit_is_an_error() {
        let e = plan_error(
            "name = \"t\"\ntime_limit = \"0s\"\n[[node]]\nname = \"c\"\nrun = [\"true\"]\n",
        );
        assert_eq!(e, "t.lab: 'time_limit' is 0: a lab needs some time to run");
    }

    #[test]
    fn a_second_node_of_the_same_name_is_named_with_its_line() {
        let e = plan_error(
            "name = \"t\"\n[[node]]\nname = \"a\"\nrun = [\"true\"]\n\n[[node]]\nname = \"a\"\nrun = [\"true\"]\n",
        );
        assert_eq!(e, "t.lab:6: two nodes are called 'a': names must be unique");
    }

    #[test]
    fn a_quiet_binder_others_wait_for_needs_a_ready_pattern() {
        let text = format!(
            "{HEAD}[[node]]\nname = \"p\"\nrun = [\"zpub\", \"-q\", \"--bind\", \"{{news}}\"]\n\
             [[node]]\nname = \"s\"\nrun = [\"zsub\", \"--connect\", \"{{news}}\"]\n"
        );
        let e = plan_error(&text);
        assert!(
            e.starts_with("t.lab:4: node 'p': --quiet hides the 'bound' line"),
            "{e}"
        );
        let ready = text.replace(
            "[[node]]\nname = \"s\"",
            "ready = \"stats\"\n[[node]]\nname = \"s\"",
        );
        assert!(Lab::parse(&ready, "t.lab").unwrap().plan().is_ok());
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
