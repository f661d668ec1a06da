//! Filling in placeholders: what a binder binds (an ephemeral tcp port, an ipc file
//! in the lab's directory, or the address it reported before a restart), what each
//! connector connects to (the reported address, seen from its host), and where the
//! lab's keys are.

use super::instance::{Arg, Part};
use super::keys;
use super::netns::Network;
use super::plan::Plan;
use super::spec::LabTransport;
use super::state::Live;
use crate::endpoint::{Endpoint, Transport};
use crate::error::{Error, Result};
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

    /// A node's arguments with every placeholder filled in.
    pub(crate) fn args(&self, i: usize) -> Vec<String> {
        let instance = &self.plan.instances[i];
        let mut args = Vec::new();
        for arg in &instance.args {
            match arg {
                Arg::One(parts) => args.push(
                    parts
                        .iter()
                        .map(|part| match part {
                            Part::Text(text) => text.clone(),
                            Part::Replica => instance.replica.to_string(),
                            Part::Dir => self.dir.display().to_string(),
                            Part::Key(file, name) => {
                                keys::path(self.dir, *file, name).display().to_string()
                            }
                            Part::Bind(e) => self.bind(i, e),
                            Part::Connect(e) => self.connect(i, e).join(","),
                        })
                        .collect(),
                ),
                Arg::Each { option, endpoint } => {
                    for address in self.connect(i, endpoint) {
                        args.push(option.clone());
                        args.push(address);
                    }
                }
            }
        }
        args
    }

    /// What instance `i` binds endpoint `name` to: the address it bound before, or
    /// one for the binder to choose (a tcp wildcard port, reported on its bound line).
    pub(crate) fn bind(&self, i: usize, name: &str) -> String {
        if let Some(known) = self.live[i].bound.get(name) {
            return known.clone();
        }
        match self.plan.lab.endpoints[name].transport {
            LabTransport::Ipc => self.ipc(i, name),
            LabTransport::Tcp => format!("tcp://{}:*", self.bind_host(i)),
        }
    }

    /// For a program that prints no bound line (it has a `ready` pattern): the
    /// addresses zlab chooses for the endpoints it binds and has not bound before.
    /// It cannot report a port it picked, so zlab picks one for it, once: the
    /// runner keeps the choice, and the binder and its connectors all use it.
    pub(crate) fn choose(&self, i: usize) -> Result<Vec<(String, String)>> {
        let instance = &self.plan.instances[i];
        let mut chosen = Vec::new();
        for name in &instance.binds {
            if self.live[i].bound.contains_key(name) {
                continue;
            }
            let address = match self.plan.lab.endpoints[name].transport {
                LabTransport::Ipc => self.ipc(i, name),
                LabTransport::Tcp => {
                    let port = free_port().map_err(|e| {
                        Error::io(
                            format!(
                                "node '{}': no free tcp port for '{{{name}}}'",
                                instance.name
                            ),
                            e,
                        )
                    })?;
                    format!("tcp://{}:{port}", self.bind_host(i))
                }
            };
            chosen.push((name.clone(), address));
        }
        Ok(chosen)
    }

    /// The ipc address of endpoint `name` for binder `i`.
    fn ipc(&self, i: usize, name: &str) -> String {
        let single = self.plan.binders_of(name).len() == 1;
        let file = if single {
            name.to_string()
        } else {
            format!("{name}-{}", self.plan.instances[i].name)
        };
        format!("ipc://{}", self.dir.join(file).display())
    }

    /// The interface a tcp binder binds: every one inside a lab namespace (its
    /// connectors come over a link), loopback otherwise.
    fn bind_host(&self, i: usize) -> &'static str {
        if self.host(i).is_some() {
            "0.0.0.0"
        } else {
            "127.0.0.1"
        }
    }

    /// Where instance `i` connects for endpoint `name`: one address per binder.
    pub(crate) fn connect(&self, i: usize, name: &str) -> Vec<String> {
        self.plan
            .binders_of(name)
            .iter()
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

/// A tcp port that is free on loopback right now (the kernel's choice of an
/// ephemeral port; another program could take it before the binder does, which the
/// binder would report as "address in use").
fn free_port() -> std::io::Result<u16> {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
}
