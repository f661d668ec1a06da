//! Checking a lab and planning its run: replicas become instances, each argument is
//! split into text and endpoint references, every endpoint is known to have a binder
//! that starts before its connectors, and regular expressions are compiled. Every
//! error names the node (and, for a file, its line) and the field at fault.

use super::check;
use super::instance::{
    binary_of, is_identifier, Arg, Input, Instance, NodePlan, Part, DIR, REPLICA,
};
use super::keys;
use super::limits::{check_input_file, MAX_FAULTS, MAX_LINKS, MAX_PROCESSES};
use super::origin::Table;
use super::spec::{FaultAction, Lab, Node};
use crate::cli::lines::flags;
use crate::error::{Error, Result};
use regex::Regex;
use std::collections::{BTreeMap, BTreeSet};
use std::ops::Range;

/// A list of instance (or fault) indices per fault (or instance).
type InstanceLists = Vec<Vec<usize>>;

/// A checked lab, ready to run: see [`Plan::run`].
#[derive(Debug)]
pub struct Plan {
    pub(crate) lab: Lab,
    pub(crate) nodes: Vec<NodePlan>,
    pub(crate) instances: Vec<Instance>,
    /// Endpoint name to the instances binding it.
    pub(crate) binders: BTreeMap<String, Vec<usize>>,
    /// The instances of each fault's target.
    pub(crate) fault_targets: Vec<Vec<usize>>,
    /// For each instance, the restart faults aimed at it.
    pub(crate) restarts_of: Vec<Vec<usize>>,
    /// The nodes in an order they can start in: each after the binders of what it
    /// connects to.
    pub(crate) order: Vec<usize>,
}

impl Lab {
    /// Check the lab and plan its run. Errors name the node or fault and the field,
    /// and for a lab read from a file, the line: `x.lab:12: node 'sub': unknown
    /// endpoint '{news}'`. The checks take time in proportion to the lab's size
    /// (its nodes, replicas, arguments, faults and links), never to its square.
    pub fn plan(self) -> Result<Plan> {
        let at = |table: Table, message: String| self.error_at(table, message);
        check::lab(&self).map_err(|m| at(Table::Lab, m))?;
        keys::check(&self).map_err(|(i, m)| at(Table::Key(i), m))?;
        check::unique_names(&self).map_err(|(i, m)| at(Table::Node(i), m))?;
        let (nodes, instances) = self.plan_nodes()?;
        let binders = binders(&instances);
        check::binders(&self, &nodes, &instances, &binders)
            .map_err(|(i, m)| at(Table::Node(i), m))?;
        check::quiet_binders(&self, &nodes, &instances).map_err(|(i, m)| at(Table::Node(i), m))?;
        let order = check::order(&self, &nodes, &instances).map_err(|m| at(Table::Lab, m))?;
        let (fault_targets, restarts_of) = self.plan_faults(&nodes, &instances)?;
        if self.links.len() > MAX_LINKS {
            let m = format!(
                "{} links: at most {MAX_LINKS} are allowed",
                self.links.len()
            );
            return Err(at(Table::Link(MAX_LINKS), m));
        }
        let hosts = check::Hosts::new(&self);
        for (i, link) in self.links.iter().enumerate() {
            check::link(&hosts, link).map_err(|m| at(Table::Link(i), m))?;
        }
        check::hosts(&self, &hosts, &nodes, &instances, &binders)
            .map_err(|(i, m)| at(Table::Node(i), m))?;
        Ok(Plan {
            lab: self,
            nodes,
            instances,
            binders,
            fault_targets,
            restarts_of,
            order,
        })
    }

    /// Each node checked and planned, and its replicas, within [`MAX_PROCESSES`].
    fn plan_nodes(&self) -> Result<(Vec<NodePlan>, Vec<Instance>)> {
        let mut nodes = Vec::new();
        let mut instances = Vec::new();
        for (i, node) in self.nodes.iter().enumerate() {
            let fail =
                |m: String| self.error_at(Table::Node(i), format!("node '{}': {m}", node.name));
            check::node(self, node).map_err(fail)?;
            let processes = instances.len() + node.replicas as usize;
            if processes > MAX_PROCESSES {
                return Err(fail(format!(
                    "'replicas' = {} takes the lab to {processes} processes: at most {MAX_PROCESSES} are allowed, all nodes' replicas together",
                    node.replicas
                )));
            }
            let mut node_plan = node_plan(self, node).map_err(fail)?;
            let args = split_args(self, node).map_err(fail)?;
            let first = instances.len();
            instances.extend(expand(i, node, &args));
            node_plan.instances = first..instances.len();
            nodes.push(node_plan);
        }
        Ok((nodes, instances))
    }

    /// Each fault checked, within [`MAX_FAULTS`]: the instances it hits, and for
    /// each instance the restarts aimed at it.
    fn plan_faults(
        &self,
        nodes: &[NodePlan],
        instances: &[Instance],
    ) -> Result<(InstanceLists, InstanceLists)> {
        if self.faults.len() > MAX_FAULTS {
            let m = format!(
                "{} faults: at most {MAX_FAULTS} are allowed",
                self.faults.len()
            );
            return Err(self.error_at(Table::Fault(MAX_FAULTS), m));
        }
        let names = check::NodeNames::new(self);
        let mut fault_targets = Vec::new();
        let mut restarts_of = vec![Vec::new(); instances.len()];
        for (f, fault) in self.faults.iter().enumerate() {
            let node =
                check::fault(self, &names, fault).map_err(|m| self.error_at(Table::Fault(f), m))?;
            let targets = targets(&nodes[node], instances, &fault.target);
            if fault.action == FaultAction::Restart {
                for &i in &targets {
                    restarts_of[i].push(f);
                }
            }
            fault_targets.push(targets);
        }
        Ok((fault_targets, restarts_of))
    }
}

impl Lab {
    /// A usage error about `table`: `FILE:LINE: message` for a lab read from a
    /// file, `lab 'NAME': message` for one built in code.
    pub(crate) fn error_at(&self, table: Table, message: String) -> Error {
        match &self.origin {
            Some(origin) => Error::usage(format!("{}: {message}", origin.place(table))),
            None => Error::usage(format!("lab '{}': {message}", self.name)),
        }
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
    pub(crate) fn replicas_of(&self, node: usize) -> Range<usize> {
        self.nodes[node].instances.clone()
    }

    /// The instances binding endpoint `name`.
    pub(crate) fn binders_of(&self, name: &str) -> &[usize] {
        self.binders.get(name).map_or(&[], Vec::as_slice)
    }
}

/// The instances a fault target (`NAME` or `NAME.N`) of node `node` designates.
fn targets(node: &NodePlan, instances: &[Instance], target: &str) -> Vec<usize> {
    node.instances
        .clone()
        .filter(|&i| instances[i].name == target || !target.contains('.'))
        .collect()
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
        (Some(text), _) => Some(Input::Text(text.as_bytes().into())),
        (None, Some(path)) => {
            let path = match &lab.origin {
                Some(origin) => origin.dir().join(path),
                None => path.clone(),
            };
            let metadata = std::fs::metadata(&path)
                .map_err(|e| format!("input_file: cannot read {}: {e}", path.display()))?;
            check_input_file(&path, &metadata).map_err(|e| format!("input_file: {e}"))?;
            Some(Input::File(path))
        }
        (None, None) => None,
    };
    Ok(NodePlan {
        binary: binary_of(&node.run[0]),
        instances: 0..0,
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

/// Split a node's arguments into text and placeholders.
fn split_args(lab: &Lab, node: &Node) -> std::result::Result<Vec<Arg>, String> {
    let mut args = Vec::new();
    let mut words = node.run.iter().peekable();
    let mut previous: Option<&str> = None;
    while let Some(word) = words.next() {
        let is_option = word.starts_with('-') && word.len() > 1;
        let is_bind = |w: &str| w == flags::BIND || w == flags::BIND_SHORT;
        let after_bind = previous.is_some_and(is_bind);
        let next_alone = words.peek().and_then(|w| alone(w));
        if let (true, false, Some(endpoint)) = (is_option, is_bind(word), next_alone) {
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
        let inner = close.map(|c| &rest[open + 1..c]);
        let key = inner.and_then(keys::placeholder);
        let name = inner.filter(|n| is_identifier(n) || key.is_some());
        let (Some(close), Some(name)) = (close, name) else {
            text.push_str(&rest[..=open]);
            rest = &rest[open + 1..];
            continue;
        };
        text.push_str(&rest[..open]);
        if !text.is_empty() {
            parts.push(Part::Text(std::mem::take(&mut text)));
        }
        parts.push(match (key, name) {
            (Some((file, key)), _) => {
                keys::check_placeholder(lab, file, key)?;
                Part::Key(file, key.to_string())
            }
            (None, REPLICA) => Part::Replica,
            (None, DIR) => Part::Dir,
            _ => {
                check_endpoint(lab, name)?;
                let binds = after_bind
                    || word
                        .strip_prefix(flags::BIND)
                        .is_some_and(|rest| rest.starts_with('='))
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

/// Endpoint name to the instances binding it.
fn binders(instances: &[Instance]) -> BTreeMap<String, Vec<usize>> {
    let mut map: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    for (i, instance) in instances.iter().enumerate() {
        for endpoint in &instance.binds {
            map.entry(endpoint.clone()).or_default().push(i);
        }
    }
    map
}

#[cfg(test)]
mod tests {
    use super::super::spec::LabTransport;
    use super::*;

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
    fn key_placeholders_name_a_file_of_their_key() {
        use super::super::keys::KeyFile;
        use super::super::spec::KeySpec;
        let lab = Lab::new("t")
            .key("server", KeySpec::allowing(["client"]))
            .key("client", KeySpec::default())
            .node(super::Node::new(
                "p",
                [
                    "zpub",
                    "--curve-allow",
                    "{allowed:server}",
                    "-x",
                    "a{secret:client}b",
                ],
            ));
        let plan = lab.plan().unwrap();
        let args = &plan.instances[0].args;
        assert_eq!(
            args[2],
            Arg::One(vec![Part::Key(KeyFile::Allowed, "server".into())])
        );
        assert_eq!(
            args[4],
            Arg::One(vec![
                Part::Text("a".into()),
                Part::Key(KeyFile::Secret, "client".into()),
                Part::Text("b".into())
            ])
        );
        assert!(plan.instances[0].connects.is_empty());
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
}
