//! The shape of a lab, for its report: nodes (with their replica counts), the
//! endpoints each binds and connects to, and the faults aimed at each, with every
//! node's place in the start order (binders before the nodes that connect to them).

use super::plan::Plan;
use super::spec::{FaultAction, LabTransport, Signal};
use serde::Serialize;

/// What a lab is made of and how it is wired.
#[derive(Clone, Debug, Default, Serialize)]
#[non_exhaustive]
pub struct Topology {
    /// The nodes, in file order.
    pub nodes: Vec<TopologyNode>,
    /// The endpoints, in name order.
    pub endpoints: Vec<TopologyEndpoint>,
    /// The faults, in file order.
    pub faults: Vec<TopologyFault>,
}

/// A node of the lab.
#[derive(Clone, Debug, Serialize)]
#[non_exhaustive]
pub struct TopologyNode {
    /// Its name (its replicas are `NAME.1`, `NAME.2`, ...).
    pub name: String,
    /// How many replicas it runs.
    pub replicas: u32,
    /// Its program, as the lab file names it.
    pub program: String,
    /// The network namespace it runs in, if any.
    pub host: Option<String>,
    /// The endpoints it binds.
    pub binds: Vec<String>,
    /// The endpoints it connects to.
    pub connects: Vec<String>,
    /// Its rank in the start order: 0 for a node that waits for nobody, else one
    /// more than the highest rank of the binders it waits for.
    pub rank: usize,
}

/// An endpoint of the lab.
#[derive(Clone, Debug, Serialize)]
#[non_exhaustive]
pub struct TopologyEndpoint {
    /// Its name, `{NAME}` in the nodes' arguments.
    pub name: String,
    /// `tcp` or `ipc`.
    pub transport: String,
}

/// A scripted fault.
#[derive(Clone, Debug, Serialize)]
#[non_exhaustive]
pub struct TopologyFault {
    /// When, in milliseconds from the moment every node has started.
    pub at_ms: u64,
    /// The node it hits.
    pub node: String,
    /// Its target as written: the node, or one replica (`NAME.2`).
    pub target: String,
    /// What it does: `SIGKILL`, `SIGSTOP`, ..., or `restart`.
    pub action: String,
}

impl Topology {
    /// The topology of `plan`'s lab.
    pub(crate) fn of(plan: &Plan) -> Topology {
        let lab = &plan.lab;
        let shape = |n: usize| &plan.instances[plan.nodes[n].instances.start];
        // Ranks in start order: every binder a node waits for is ranked before it.
        let mut rank = vec![0; lab.nodes.len()];
        for &n in &plan.order {
            rank[n] = shape(n)
                .connects
                .iter()
                .flat_map(|e| plan.binders_of(e))
                .map(|&i| rank[plan.instances[i].node] + 1)
                .max()
                .unwrap_or(0);
        }
        let nodes = lab
            .nodes
            .iter()
            .enumerate()
            .map(|(n, node)| TopologyNode {
                name: node.name.clone(),
                replicas: node.replicas,
                program: node.run[0].clone(),
                host: node.host.clone(),
                binds: shape(n).binds.clone(),
                connects: shape(n).connects.clone(),
                rank: rank[n],
            })
            .collect();
        let endpoints = lab
            .endpoints
            .iter()
            .map(|(name, spec)| TopologyEndpoint {
                name: name.clone(),
                transport: match spec.transport {
                    LabTransport::Tcp => "tcp".into(),
                    LabTransport::Ipc => "ipc".into(),
                },
            })
            .collect();
        let faults = lab
            .faults
            .iter()
            .map(|fault| TopologyFault {
                at_ms: u64::try_from(fault.at.as_millis()).unwrap_or(u64::MAX),
                node: fault
                    .target
                    .split_once('.')
                    .map_or(fault.target.as_str(), |(node, _)| node)
                    .to_string(),
                target: fault.target.clone(),
                action: match fault.action {
                    FaultAction::Kill { signal } => signal_name(signal).to_string(),
                    FaultAction::Restart => "restart".to_string(),
                },
            })
            .collect();
        Topology {
            nodes,
            endpoints,
            faults,
        }
    }
}

/// The name of a signal a fault sends.
pub(crate) fn signal_name(signal: Signal) -> &'static str {
    match signal {
        Signal::Kill => "SIGKILL",
        Signal::Term => "SIGTERM",
        Signal::Int => "SIGINT",
        Signal::Stop => "SIGSTOP",
        Signal::Cont => "SIGCONT",
    }
}
