//! Filling in endpoint placeholders: what a binder binds (an ephemeral tcp port, an
//! ipc file in the lab's directory, or the address it reported before a restart),
//! and what each connector connects to (the reported address, seen from its host).

use super::netns::Network;
use super::plan::{binders, Plan};
use super::spec::LabTransport;
use super::state::Live;
use crate::endpoint::{Endpoint, Transport};
use std::path::Path;

/// Address lookups for one moment of a run.
pub(crate) struct Addresses<'a> {
    plan: &'a Plan,
    live: &'a [Live],
    network: Option<&'a Network>,
    dir: &'a Path,
}

impl<'a> Addresses<'a> {
    pub(crate) fn new(
        plan: &'a Plan,
        live: &'a [Live],
        network: Option<&'a Network>,
        dir: &'a Path,
    ) -> Addresses<'a> {
        Addresses {
            plan,
            live,
            network,
            dir,
        }
    }

    fn host(&self, instance: usize) -> Option<&'a str> {
        let node = &self.plan.lab.nodes[self.plan.instances[instance].node];
        self.network.and(node.host.as_deref())
    }

    /// What instance `i` binds endpoint `name` to.
    pub(crate) fn bind(&self, i: usize, name: &str) -> String {
        if let Some(known) = self.live[i].bound.get(name) {
            return known.clone();
        }
        let instance = &self.plan.instances[i];
        match self.plan.lab.endpoints[name].transport {
            LabTransport::Ipc => {
                let single = binders(&self.plan.instances)
                    .get(name)
                    .is_some_and(|b| b.len() == 1);
                let file = if single {
                    name.to_string()
                } else {
                    format!("{name}-{}", instance.name)
                };
                format!("ipc://{}", self.dir.join(file).display())
            }
            LabTransport::Tcp => {
                let host = if self.host(i).is_some() {
                    "0.0.0.0"
                } else {
                    "127.0.0.1"
                };
                // A program that prints no bound line cannot report a port it
                // picked, so zlab picks one for it.
                let port = match self.plan.nodes[instance.node].ready {
                    Some(_) => free_port().map_or("*".to_string(), |p| p.to_string()),
                    None => "*".to_string(),
                };
                format!("tcp://{host}:{port}")
            }
        }
    }

    /// Where instance `i` connects for endpoint `name`: one address per binder.
    pub(crate) fn connect(&self, i: usize, name: &str) -> Vec<String> {
        let binders = binders(&self.plan.instances);
        binders
            .get(name)
            .into_iter()
            .flatten()
            .filter_map(|&b| {
                let bound = self.live[b].bound.get(name)?;
                Some(self.seen_from(bound, b, i))
            })
            .collect()
    }

    /// The address `bound` by instance `binder`, as instance `from` reaches it.
    fn seen_from(&self, bound: &str, binder: usize, from: usize) -> String {
        let Ok(endpoint) = Endpoint::parse(bound) else {
            return bound.to_string();
        };
        let (Transport::Tcp, Some(host), Some(port)) =
            (endpoint.transport(), endpoint.host(), endpoint.port())
        else {
            return bound.to_string();
        };
        let (there, here) = (self.host(binder), self.host(from));
        let address = match (self.network, there, here) {
            (Some(network), Some(there), Some(here)) if there != here => {
                network.address(there, here).map(|a| a.to_string())
            }
            _ if host == "0.0.0.0" || host == "*" => Some("127.0.0.1".to_string()),
            _ => None,
        };
        match address {
            Some(address) => format!("tcp://{address}:{port}"),
            None => bound.to_string(),
        }
    }
}

/// A tcp port that is free on loopback right now.
fn free_port() -> Option<u16> {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .ok()
}
