//! The checks a lab must pass before it runs, each returning a message that names
//! the node, fault or link and the field at fault ([`Lab::plan`] adds the place).

use super::plan::{
    binary_of, binders as binders_of, is_identifier, Arg, Instance, Part, DIR, REPLICA,
};
use super::spec::{
    check_rate, Count, Fault, FaultAction, Lab, LabTransport, Link, NetnsPolicy, Node,
};
use std::collections::BTreeSet;
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

/// A zpattern binder with `--quiet` prints no `bound` line, so the nodes that
/// connect to it would wait for it until the time limit.
pub(super) fn quiet_binders(
    lab: &Lab,
    instances: &[Instance],
) -> std::result::Result<(), (usize, String)> {
    let waited_for: BTreeSet<&str> = instances
        .iter()
        .flat_map(|i| i.connects.iter().map(String::as_str))
        .collect();
    for instance in instances {
        let node = &lab.nodes[instance.node];
        let quiet = node.run.iter().any(|a| a == "--quiet" || a == "-q");
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
    instances: &[Instance],
) -> std::result::Result<(), (usize, String)> {
    let binders = binders_of(instances);
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

/// Binders start before connectors: the "waits for" graph between nodes has no cycle.
pub(super) fn order(lab: &Lab, instances: &[Instance]) -> std::result::Result<(), String> {
    let binders = binders_of(instances);
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

pub(super) fn fault(lab: &Lab, fault: &Fault) -> std::result::Result<(), String> {
    let target = &fault.target;
    let (node_name, replica) = match target.rsplit_once('.') {
        Some((name, n)) => (name, Some(n)),
        None => (target.as_str(), None),
    };
    let node = lab.nodes.iter().find(|n| n.name == node_name);
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
    if !known {
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

pub(super) fn link(lab: &Lab, link: &Link) -> std::result::Result<(), String> {
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
    let same = |l: &Link| {
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
pub(super) fn hosts(lab: &Lab, instances: &[Instance]) -> std::result::Result<(), (usize, String)> {
    let binders = binders_of(instances);
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
                if spec.transport == LabTransport::Ipc {
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
