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
use crate::os;
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
    /// The link settings that could not be applied, each with why.
    not_applied: Vec<String>,
}

/// What became of a lab's network conditions.
pub(crate) struct Setup {
    /// The namespaces and links, if the lab has them.
    pub(crate) network: Option<Network>,
    /// Lines for the report (namespaces unavailable).
    pub(crate) notes: Vec<String>,
    /// Why the lab's impairment, its point, is (partly) missing from the run: a
    /// lab with an impaired link whose impairment could not all be applied is
    /// skipped, not passed.
    pub(crate) skipped: Option<String>,
}

impl Network {
    /// Build the lab's network, or explain why it runs on loopback instead. The
    /// notes say what was (not) done; an error means the lab requires namespaces
    /// that cannot be had. A link setting that cannot be applied (a tc or nft
    /// failure) does not stop the lab: the report's network lines say it was NOT
    /// applied, and why, and the lab's verdict is SKIPPED.
    pub(crate) fn setup(lab: &Lab) -> Result<Setup> {
        if lab.netns == NetnsPolicy::Off {
            return Ok(Setup {
                network: None,
                notes: Vec::new(),
                skipped: None,
            });
        }
        let built = if os::is_root() {
            Network::build(lab)
        } else {
            Err("they need root, and zlab is not running as root".to_string())
        };
        let impaired = lab.links.iter().any(is_impaired);
        match (built, lab.netns) {
            (Ok(network), _) => {
                let skipped = (!network.not_applied.is_empty())
                    .then(|| network.not_applied.join("; "));
                Ok(Setup {
                    network: Some(network),
                    notes: Vec::new(),
                    skipped,
                })
            }
            (Err(why), NetnsPolicy::Required) => Err(Error::usage(format!(
                "lab '{}' needs network namespaces: {why}",
                lab.name
            ))),
            (Err(why), _) => Ok(Setup {
                network: None,
                notes: vec![format!(
                    "network namespaces unavailable ({why}): every node runs on loopback, without link impairment"
                )],
                skipped: impaired.then(|| {
                    format!("the links' impairment was not applied: network namespaces unavailable ({why})")
                }),
            }),
        }
    }

    /// The namespaces and links; an error says why namespaces are unavailable here.
    fn build(lab: &Lab) -> std::result::Result<Network, String> {
        let mut network = Network {
            hosts: BTreeMap::new(),
            addresses: BTreeMap::new(),
            summary: Vec::new(),
            not_applied: Vec::new(),
        };
        for host in lab.nodes.iter().filter_map(|n| n.host.as_ref()) {
            if network.hosts.contains_key(host) {
                continue;
            }
            let fd = os::new_network_namespace()
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
        )
        .map_err(|e| format!("cannot create a veth link: {e}"))?;
        let mut applied: Vec<String> = Vec::new();
        for (fd, ifname, host, peer, last) in [(fd_a, &if_a, a, b, 1), (fd_b, &if_b, b, a, 2)] {
            let address = Ipv4Addr::new(10, 77, subnet, last);
            let cidr = format!("{address}/24");
            run_in(fd, "ip", &["addr", "add", &cidr, "dev", ifname], None)?;
            run_in(fd, "ip", &["link", "set", ifname, "up"], None)?;
            for done in impair(fd, k, ifname, link) {
                if done.contains(NOT_APPLIED) && !self.not_applied.contains(&done) {
                    self.not_applied.push(done.clone());
                }
                if !applied.contains(&done) {
                    applied.push(done);
                }
            }
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

/// How a setting that could not be applied is reported: `loss 2% NOT applied: why`.
const NOT_APPLIED: &str = " NOT applied: ";

/// Whether `link` asks for an impairment (delay, loss or rate).
fn is_impaired(link: &Link) -> bool {
    settings(link).iter().any(Option::is_some)
}

/// The settings `link` asks for, in tc's words: delay, loss, rate.
fn settings(link: &Link) -> [Option<(&'static str, String)>; 3] {
    [
        link.delay.map(|d| ("delay", crate::duration::display(d))),
        link.loss.map(|l| ("loss", format!("{l}%"))),
        link.rate.clone().map(|r| ("rate", r)),
    ]
}

/// Apply `link`'s impairment (link number `k`) to the egress (and for loss without
/// netem, the ingress) of `ifname`. Returns what was applied, and what was NOT
/// applied and why.
fn impair(fd: RawFd, k: usize, ifname: &str, link: &Link) -> Vec<String> {
    let wanted: Vec<(&str, String)> = settings(link).into_iter().flatten().collect();
    if wanted.is_empty() {
        return Vec::new();
    }
    let mut netem = vec!["qdisc", "add", "dev", ifname, "root", "netem"];
    for (what, value) in &wanted {
        netem.extend([*what, value.as_str()]);
    }
    match run_in(fd, "tc", &netem, None) {
        Ok(()) => {
            return wanted
                .iter()
                .map(|(what, value)| format!("{what} {value} (netem)"))
                .collect()
        }
        // A kernel without sch_netem says the qdisc kind is unknown.
        Err(e) if !e.contains("unknown") => {
            return wanted
                .iter()
                .map(|(what, value)| format!("{what} {value}{NOT_APPLIED}{e}"))
                .collect()
        }
        Err(_) => {}
    }
    without_netem(fd, k, ifname, link)
}

/// The rate with tbf and the loss with nftables, for a kernel without netem.
fn without_netem(fd: RawFd, k: usize, ifname: &str, link: &Link) -> Vec<String> {
    let mut applied = Vec::new();
    if let Some(rate) = &link.rate {
        let tbf = [
            "qdisc", "add", "dev", ifname, "root", "tbf", "rate", rate, "burst", "32kb", "latency",
            "400ms",
        ];
        applied.push(match run_in(fd, "tc", &tbf, None) {
            Ok(()) => format!("rate {rate} (tbf)"),
            Err(e) => format!("rate {rate}{NOT_APPLIED}no netem, and tbf failed: {e}"),
        });
    }
    if let Some(percent) = link.loss {
        let script = nft_loss(k, ifname, percent);
        applied.push(match run_in(fd, "nft", &["-f", "-"], Some(&script)) {
            Ok(()) => format!("loss {percent}% (nftables)"),
            Err(e) => format!("loss {percent}%{NOT_APPLIED}no netem, and nft failed: {e}"),
        });
    }
    if let Some(delay) = link.delay {
        applied.push(format!(
            "delay {}{NOT_APPLIED}this kernel has no netem qdisc (sch_netem)",
            crate::duration::display(delay)
        ));
    }
    applied
}

/// An nftables rule dropping `percent` of the IPv4 packets arriving on `ifname`,
/// the end of link number `link` in its namespace. Each link has a table of its own:
/// a host at the end of two lossy links has two devices, and one shared chain would
/// hook both and apply both drop rules to each.
fn nft_loss(link: usize, ifname: &str, percent: f64) -> String {
    let per_10000 = (percent * 100.0).round() as u32;
    format!(
        "table netdev zlab_link{link} {{\n  chain loss {{\n    type filter hook ingress device \"{ifname}\" priority 0; policy accept;\n    meta protocol ip numgen random mod 10000 < {per_10000} drop\n  }}\n}}\n"
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
    os::supervise(&mut command, Some(fd), None);
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
        let rule = nft_loss(0, "to-b", 2.5);
        assert!(rule.contains("device \"to-b\""), "{rule}");
        assert!(
            rule.contains("numgen random mod 10000 < 250 drop"),
            "{rule}"
        );
    }

    #[test]
    fn each_link_has_its_own_loss_table() {
        let first = nft_loss(0, "to-b", 10.0);
        let second = nft_loss(1, "to-c", 20.0);
        let table = |rule: &str| rule.lines().next().unwrap_or_default().to_string();
        assert_ne!(table(&first), table(&second));
        assert!(first.starts_with("table netdev zlab_link0 {"), "{first}");
    }
}
