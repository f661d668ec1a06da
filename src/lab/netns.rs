//! Real network conditions: each host of a lab is a network namespace, each
//! `[[link]]` a veth pair between two of them with its impairment applied to both
//! ends (netem for delay, loss and rate; where the kernel has no netem, tbf for the
//! rate and an nftables ingress rule for the loss).
//!
//! The namespaces are anonymous: zlab holds them by file descriptor, never by a name
//! under `/var/run/netns`. They, and the links in them, vanish when zlab and the
//! nodes inside are gone, so a crashed or killed zlab leaves nothing to clean up.

use super::spec::{Lab, Link, NetnsPolicy};
use crate::error::{Error, Result};
use crate::sys;
use std::collections::BTreeMap;
use std::io::Write;
use std::net::Ipv4Addr;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::process::{Command, Stdio};

/// The namespaces and links of a running lab.
pub(crate) struct Network {
    hosts: BTreeMap<String, OwnedFd>,
    /// (host, peer) to the host's address on the link to the peer.
    addresses: BTreeMap<(String, String), Ipv4Addr>,
    summary: Vec<String>,
}

impl Network {
    /// Build the lab's network, or explain why it runs on loopback instead. The
    /// notes say what was (not) done; an error means the lab requires namespaces
    /// that cannot be had.
    pub(crate) fn setup(lab: &Lab) -> Result<(Option<Network>, Vec<String>)> {
        if lab.netns == NetnsPolicy::Off {
            return Ok((None, Vec::new()));
        }
        let built = if sys::is_root() {
            Network::build(lab)
        } else {
            Err("they need root, and zlab is not running as root".to_string())
        };
        match (built, lab.netns) {
            (Ok(network), _) => Ok((Some(network), Vec::new())),
            (Err(why), NetnsPolicy::Required) => Err(Error::usage(format!(
                "lab '{}' needs network namespaces: {why}",
                lab.name
            ))),
            (Err(why), _) => Ok((
                None,
                vec![format!(
                    "network namespaces unavailable ({why}): every node runs on loopback, without link impairment"
                )],
            )),
        }
    }

    fn build(lab: &Lab) -> std::result::Result<Network, String> {
        let mut network = Network {
            hosts: BTreeMap::new(),
            addresses: BTreeMap::new(),
            summary: Vec::new(),
        };
        for host in lab.nodes.iter().filter_map(|n| n.host.as_ref()) {
            if network.hosts.contains_key(host) {
                continue;
            }
            let fd = sys::new_network_namespace()
                .map_err(|e| format!("cannot create a network namespace: {e}"))?;
            run_in(fd.as_raw_fd(), "ip", &["link", "set", "lo", "up"], None)?;
            network.hosts.insert(host.clone(), fd);
        }
        for (k, link) in lab.links.iter().enumerate() {
            network.link(k, link)?;
        }
        Ok(network)
    }

    /// Create link number `k`: a veth pair, addresses 10.77.k.1 and .2, impairment.
    fn link(&mut self, k: usize, link: &Link) -> std::result::Result<(), String> {
        let [a, b] = &link.between;
        let subnet = u8::try_from(k).map_err(|_| "more than 256 links".to_string())?;
        let (fd_a, fd_b) = (self.fd_of(a)?, self.fd_of(b)?);
        let (if_a, if_b) = (format!("to-{b}"), format!("to-{a}"));
        // The peer end is created directly in b's namespace, named by the path of
        // our descriptor for it: nothing ever appears in the root namespace.
        let peer_ns = format!("/proc/{}/fd/{fd_b}", std::process::id());
        run_in(
            fd_a,
            "ip",
            &[
                "link", "add", &if_a, "type", "veth", "peer", "name", &if_b, "netns", &peer_ns,
            ],
            None,
        )?;
        let mut applied = Vec::new();
        for (fd, ifname, host, peer, last) in [(fd_a, &if_a, a, b, 1), (fd_b, &if_b, b, a, 2)] {
            let address = Ipv4Addr::new(10, 77, subnet, last);
            let cidr = format!("{address}/24");
            run_in(fd, "ip", &["addr", "add", &cidr, "dev", ifname], None)?;
            run_in(fd, "ip", &["link", "set", ifname, "up"], None)?;
            applied = impair(fd, ifname, link)?;
            self.addresses.insert((host.clone(), peer.clone()), address);
        }
        self.summary.push(format!(
            "link {a} (10.77.{subnet}.1) <-> {b} (10.77.{subnet}.2): {}",
            if applied.is_empty() {
                "no impairment".to_string()
            } else {
                applied.join(", ")
            }
        ));
        Ok(())
    }

    fn fd_of(&self, host: &str) -> std::result::Result<RawFd, String> {
        self.hosts
            .get(host)
            .map(AsRawFd::as_raw_fd)
            .ok_or_else(|| format!("no node runs on host '{host}'"))
    }

    /// The namespace a node on `host` runs in (`None`: the lab's own).
    pub(crate) fn fd(&self, host: Option<&str>) -> Option<RawFd> {
        host.and_then(|h| self.hosts.get(h)).map(AsRawFd::as_raw_fd)
    }

    /// `host`'s address on its link to `peer`.
    pub(crate) fn address(&self, host: &str, peer: &str) -> Option<Ipv4Addr> {
        self.addresses
            .get(&(host.to_string(), peer.to_string()))
            .copied()
    }

    /// One line per link: addresses and the impairment applied.
    pub(crate) fn summary(&self) -> Vec<String> {
        self.summary.clone()
    }
}

/// Apply `link`'s impairment to the egress (and for loss without netem, the
/// ingress) of `ifname`. Returns what was applied, and what could not be.
fn impair(fd: RawFd, ifname: &str, link: &Link) -> std::result::Result<Vec<String>, String> {
    let mut netem = vec!["qdisc", "add", "dev", ifname, "root", "netem"];
    let delay = link.delay.map(crate::duration::display);
    let loss = link.loss.map(|l| format!("{l}%"));
    if let Some(delay) = &delay {
        netem.extend(["delay", delay]);
    }
    if let Some(loss) = &loss {
        netem.extend(["loss", loss]);
    }
    if let Some(rate) = &link.rate {
        netem.extend(["rate", rate]);
    }
    if netem.len() == 6 {
        return Ok(Vec::new());
    }
    let described = |what: Vec<Option<String>>| what.into_iter().flatten().collect::<Vec<_>>();
    match run_in(fd, "tc", &netem, None) {
        Ok(()) => {
            return Ok(described(vec![
                delay.map(|d| format!("delay {d}")),
                loss.map(|l| format!("loss {l}")),
                link.rate.clone().map(|r| format!("rate {r}")),
            ])
            .into_iter()
            .map(|s| format!("{s} (netem)"))
            .collect())
        }
        Err(e) if !e.contains("unknown") => return Err(e),
        Err(_) => {}
    }
    // No netem in this kernel: the rate with tbf, the loss with nftables.
    let mut applied = Vec::new();
    if let Some(rate) = &link.rate {
        let tbf = [
            "qdisc", "add", "dev", ifname, "root", "tbf", "rate", rate, "burst", "32kb", "latency",
            "400ms",
        ];
        run_in(fd, "tc", &tbf, None)?;
        applied.push(format!("rate {rate} (tbf)"));
    }
    if let (Some(percent), Some(text)) = (link.loss, &loss) {
        let script = nft_loss(ifname, percent);
        match run_in(fd, "nft", &["-f", "-"], Some(&script)) {
            Ok(()) => applied.push(format!("loss {text} (nftables)")),
            Err(e) => applied.push(format!(
                "loss {text} NOT applied: no netem, and nft failed: {e}"
            )),
        }
    }
    if let Some(delay) = delay {
        applied.push(format!(
            "delay {delay} NOT applied: this kernel has no netem qdisc (sch_netem)"
        ));
    }
    Ok(applied)
}

/// An nftables rule dropping `percent` of the IPv4 packets arriving on `ifname`.
fn nft_loss(ifname: &str, percent: f64) -> String {
    let per_10000 = (percent * 100.0).round() as u32;
    format!(
        "table netdev zlab {{\n  chain loss {{\n    type filter hook ingress device \"{ifname}\" priority 0; policy accept;\n    meta protocol ip numgen random mod 10000 < {per_10000} drop\n  }}\n}}\n"
    )
}

/// Run `program args` inside namespace `fd`, with `input` on stdin; an error
/// carries its stderr.
fn run_in(
    fd: RawFd,
    program: &str,
    args: &[&str],
    input: Option<&str>,
) -> std::result::Result<(), String> {
    let mut command = Command::new(program);
    command
        .args(args)
        .stdin(if input.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    sys::supervise(&mut command, Some(fd), None);
    let shown = format!("{program} {}", args.join(" "));
    let mut child = command
        .spawn()
        .map_err(|e| format!("cannot run '{program}': {e}"))?;
    if let (Some(mut stdin), Some(input)) = (child.stdin.take(), input) {
        stdin
            .write_all(input.as_bytes())
            .map_err(|e| format!("{shown}: {e}"))?;
    }
    let output = child
        .wait_with_output()
        .map_err(|e| format!("{shown}: {e}"))?;
    if output.status.success() {
        Ok(())
    } else {
        Err(format!(
            "'{shown}' failed: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loss_rule_counts_in_hundredths_of_a_percent() {
        let rule = nft_loss("to-b", 2.5);
        assert!(rule.contains("device \"to-b\""), "{rule}");
        assert!(
            rule.contains("numgen random mod 10000 < 250 drop"),
            "{rule}"
        );
    }
}
