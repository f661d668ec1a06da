//! The lab model: what a lab file says, as Rust values. [`Lab`] is built either by
//! [`Lab::parse`] from TOML or in code with the chained constructors below; either
//! way [`Lab::plan`] validates it before anything runs.

use super::origin::Origin;
use crate::duration;
use serde::{Deserialize, Deserializer};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

/// How long a lab may run when its file sets no `time_limit`.
pub const DEFAULT_TIME_LIMIT: Duration = Duration::from_secs(60);

/// A topology to run: named endpoints, nodes, scripted faults and (with network
/// namespaces) links between hosts.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct Lab {
    /// Short name, shown in reports.
    pub name: String,
    /// One or two sentences: what the lab shows.
    #[serde(default)]
    pub description: String,
    /// The whole run must end within this; nodes still running then are stopped and
    /// the lab fails.
    #[serde(default = "default_time_limit", deserialize_with = "de_duration")]
    pub time_limit: Duration,
    /// Whether nodes with a `host` run in network namespaces.
    #[serde(default)]
    pub netns: NetnsPolicy,
    /// Endpoint names used as `{name}` in node arguments, and their transport.
    #[serde(default)]
    pub endpoints: BTreeMap<String, EndpointSpec>,
    /// CURVE keys generated for each run, used as `{key:NAME}`, `{secret:NAME}`
    /// and `{allowed:NAME}` in node arguments.
    #[serde(default)]
    pub keys: BTreeMap<String, KeySpec>,
    /// The processes to run.
    #[serde(default, rename = "node")]
    pub nodes: Vec<Node>,
    /// What happens to which node when.
    #[serde(default, rename = "fault")]
    pub faults: Vec<Fault>,
    /// Links between hosts, with their impairment (network namespaces only).
    #[serde(default, rename = "link")]
    pub links: Vec<Link>,
    /// Where the lab came from (file, lines), for error messages and relative paths.
    #[serde(skip)]
    pub(crate) origin: Option<Origin>,
}

/// How a lab uses network namespaces.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum NetnsPolicy {
    /// Everything runs on loopback; `host` and `[[link]]` are not allowed.
    #[default]
    Off,
    /// Use namespaces and link impairments when possible (root); otherwise say so and
    /// run everything on loopback without impairment.
    Optional,
    /// Namespaces are essential to the lab: without them it does not run.
    Required,
}

/// The transport zlab allocates for an endpoint.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EndpointSpec {
    /// `tcp` (an ephemeral port) or `ipc` (a socket file in the lab's directory).
    #[serde(default)]
    pub transport: LabTransport,
}

/// Transports a lab endpoint can use.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LabTransport {
    /// `tcp://127.0.0.1:*` (or the host's address in a namespace).
    #[default]
    Tcp,
    /// `ipc://LABDIR/NAME`: loopback only, never across a link.
    Ipc,
}

/// A CURVE key pair that zlab generates at the start of each run, in the lab's
/// directory: `LABDIR/keys/NAME.key` (the public certificate, `{key:NAME}` in a
/// node's arguments) and `LABDIR/keys/NAME.key_secret` (the secret one, mode 0600,
/// `{secret:NAME}`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct KeySpec {
    /// The keys this one lets in: with a list, zlab also makes the directory
    /// `LABDIR/keys/NAME.allowed/` (`{allowed:NAME}`, for `--curve-allow`) holding
    /// a copy of the public certificate of each key listed.
    #[serde(default)]
    pub allow: Option<Vec<String>>,
}

impl KeySpec {
    /// A key with an allow list: the keys named are let in by `{allowed:NAME}`.
    pub fn allowing<S: Into<String>>(names: impl IntoIterator<Item = S>) -> KeySpec {
        KeySpec {
            allow: Some(names.into_iter().map(Into::into).collect()),
        }
    }
}

/// One process of the lab, possibly replicated.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct Node {
    /// Unique name; replicas are called `NAME.1`, `NAME.2`, ...
    pub name: String,
    /// Program and arguments. `{endpoint}` is replaced by the endpoint's address,
    /// `{replica}` by the replica number, `{dir}` by the lab's directory, and
    /// `{key:NAME}`, `{secret:NAME}`, `{allowed:NAME}` by the paths of the files
    /// of [key](KeySpec) NAME. The six zpattern binaries are found next to the
    /// running program.
    pub run: Vec<String>,
    /// How many copies to run.
    #[serde(default = "one")]
    pub replicas: u32,
    /// Text given on standard input (otherwise stdin is empty).
    #[serde(default)]
    pub input: Option<String>,
    /// A file given on standard input, relative to the lab file.
    #[serde(default)]
    pub input_file: Option<PathBuf>,
    /// The network namespace the node runs in (with `netns`).
    #[serde(default)]
    pub host: Option<String>,
    /// Endpoints this node binds although no `--bind`/`-b` precedes them (programs
    /// other than the zpattern binaries).
    #[serde(default)]
    pub binds: Vec<String>,
    /// For a binder that prints no `NAME: bound EP` line: a regular expression on
    /// its stdout or stderr that says it is ready.
    #[serde(default)]
    pub ready: Option<String>,
    /// Runs until the other nodes are done, then zlab stops it (a server without
    /// `--count`). Its exit by that stop counts as success.
    #[serde(default)]
    pub background: bool,
    /// Add `--stats` to a zpattern binary for live counts (default true).
    #[serde(default = "yes")]
    pub stats: bool,
    /// Print the node's stdout in the report (the first lines).
    #[serde(default)]
    pub show: bool,
    /// Print what the node said on stderr in the report (a sink's verdict, a
    /// summary), other than its bound and stats lines.
    #[serde(default)]
    pub show_stderr: bool,
    /// What must hold at the end.
    #[serde(default)]
    pub expect: Expect,
}

/// What must hold for a node at the end of the run. Every field is optional.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct Expect {
    /// Exit code of each replica (default 0; for background nodes, 0 or stopped):
    /// one (`exit = 3`), or any of several (`exit = [0, 3]`).
    #[serde(default)]
    pub exit: Option<ExitCodes>,
    /// Messages each replica sent.
    #[serde(default)]
    pub sent: Option<Count>,
    /// Messages each replica received.
    #[serde(default)]
    pub received: Option<Count>,
    /// Messages all replicas together received.
    #[serde(default)]
    pub received_total: Option<Count>,
    /// Regular expressions that must each match a line of each replica's stdout.
    #[serde(default)]
    pub stdout: Vec<String>,
    /// A regular expression every stdout line must match.
    #[serde(default)]
    pub stdout_all: Option<String>,
    /// The whole stdout, line by line, in order (a final newline is optional).
    #[serde(default)]
    pub stdout_exactly: Option<String>,
    /// Regular expressions that must each match a line of each replica's stderr
    /// (a sink's verdict, a warning).
    #[serde(default)]
    pub stderr: Vec<String>,
    /// No stdout line appears twice, across all replicas (each message handled once).
    #[serde(default)]
    pub distinct: bool,
}

/// Expected exit codes: one (`exit = 3`) or any of several (`exit = [0, 3]`, for a
/// node whose ending depends on timing the lab does not control).
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(untagged)]
pub enum ExitCodes {
    /// Exactly this code.
    One(i32),
    /// Any of these codes.
    AnyOf(Vec<i32>),
}

impl ExitCodes {
    /// Whether `code` is expected.
    pub fn allows(&self, code: i32) -> bool {
        match self {
            ExitCodes::One(want) => code == *want,
            ExitCodes::AnyOf(codes) => codes.contains(&code),
        }
    }
}

impl std::fmt::Display for ExitCodes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ExitCodes::One(code) => write!(f, "exit {code}"),
            ExitCodes::AnyOf(codes) => {
                let codes: Vec<String> = codes.iter().map(ToString::to_string).collect();
                write!(f, "exit {}", codes.join(" or "))
            }
        }
    }
}

/// An expected count: exactly `n` (`received = 3`) or a range
/// (`received = { min = 1, max = 10 }`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Count {
    /// Exactly this many.
    Exactly(u64),
    /// At least `min`, at most `max` (each optional).
    Range {
        /// Lower bound, inclusive.
        min: Option<u64>,
        /// Upper bound, inclusive.
        max: Option<u64>,
    },
}

impl Count {
    /// Whether `n` satisfies the expectation.
    pub fn holds(&self, n: u64) -> bool {
        match *self {
            Count::Exactly(want) => n == want,
            Count::Range { min, max } => min.is_none_or(|m| n >= m) && max.is_none_or(|m| n <= m),
        }
    }
}

impl std::fmt::Display for Count {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match *self {
            Count::Exactly(n) => write!(f, "{n}"),
            Count::Range {
                min: Some(a),
                max: Some(b),
            } => write!(f, "{a} to {b}"),
            Count::Range { min: Some(a), .. } => write!(f, "at least {a}"),
            Count::Range { max: Some(b), .. } => write!(f, "at most {b}"),
            Count::Range { .. } => f.write_str("any number"),
        }
    }
}

impl<'de> Deserialize<'de> for Count {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Count, D::Error> {
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Bounds {
            min: Option<u64>,
            max: Option<u64>,
        }
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Form {
            Exactly(u64),
            Range(Bounds),
        }
        match Form::deserialize(deserializer) {
            Ok(Form::Exactly(n)) => Ok(Count::Exactly(n)),
            Ok(Form::Range(Bounds { min, max })) => Ok(Count::Range { min, max }),
            Err(_) => Err(serde::de::Error::custom(
                "expected a count: a number (3) or a range ({ min = 1, max = 10 })",
            )),
        }
    }
}

/// A scripted fault: at `at` (after every node has started), kill or restart a node.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(try_from = "FaultFile")]
#[non_exhaustive]
pub struct Fault {
    /// When, counted from the moment the whole topology is up.
    pub at: Duration,
    /// Which node (all its replicas) or replica (`NAME.2`).
    pub target: String,
    /// What happens.
    pub action: FaultAction,
}

/// What a fault does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FaultAction {
    /// Send `signal` (KILL by default: a crash) to the node's process group.
    Kill {
        /// The signal to send.
        signal: Signal,
    },
    /// Start the node again, with the same arguments and bound endpoints.
    Restart,
}

/// Signals a fault can send.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Signal {
    /// SIGKILL: a crash, no cleanup.
    Kill,
    /// SIGTERM: a polite stop.
    Term,
    /// SIGINT: Ctrl-C.
    Int,
    /// SIGSTOP: the node freezes (a hung process: its connections stay open, it
    /// reads nothing).
    Stop,
    /// SIGCONT: a frozen node carries on.
    Cont,
}

impl Signal {
    /// The signal number.
    pub fn number(self) -> i32 {
        match self {
            Signal::Kill => libc::SIGKILL,
            Signal::Term => libc::SIGTERM,
            Signal::Int => libc::SIGINT,
            Signal::Stop => libc::SIGSTOP,
            Signal::Cont => libc::SIGCONT,
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FaultFile {
    #[serde(deserialize_with = "de_duration")]
    at: Duration,
    kill: Option<String>,
    restart: Option<String>,
    signal: Option<Signal>,
}

impl TryFrom<FaultFile> for Fault {
    type Error = String;
    fn try_from(file: FaultFile) -> Result<Fault, String> {
        let (target, action) = match (file.kill, file.restart, file.signal) {
            (Some(target), None, signal) => (
                target,
                FaultAction::Kill {
                    signal: signal.unwrap_or(Signal::Kill),
                },
            ),
            (None, Some(target), None) => (target, FaultAction::Restart),
            (None, Some(_), Some(_)) => return Err("'signal' goes with 'kill'".into()),
            _ => return Err("a fault needs exactly one of kill = NODE or restart = NODE".into()),
        };
        Ok(Fault {
            at: file.at,
            target,
            action,
        })
    }
}

/// A link between two hosts (network namespaces), with its impairment in each
/// direction.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct Link {
    /// The two hosts the link joins.
    pub between: [String; 2],
    /// Added one-way delay (netem).
    #[serde(default, deserialize_with = "de_opt_duration")]
    pub delay: Option<Duration>,
    /// Packet loss in percent, each way: `"5%"` or `5`.
    #[serde(default, deserialize_with = "de_percent")]
    pub loss: Option<f64>,
    /// Bandwidth each way, as tc writes it: `"1mbit"`, `"500kbit"`.
    #[serde(default, deserialize_with = "de_rate")]
    pub rate: Option<String>,
}

/// The rate units tc accepts (in any case): bits or bytes per second, with decimal
/// or binary prefixes.
const RATE_UNITS: [&str; 18] = [
    "bit", "kbit", "mbit", "gbit", "tbit", "kibit", "mibit", "gibit", "tibit", "bps", "kbps",
    "mbps", "gbps", "tbps", "kibps", "mibps", "gibps", "tibps",
];

/// Check a link rate as tc reads it: a positive number and a unit, `"1mbit"`,
/// `"500kbit"`, `"2.5mbps"`. The error says what was expected.
pub(crate) fn check_rate(text: &str) -> Result<(), String> {
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let positive = number
        .parse::<f64>()
        .is_ok_and(|n| n > 0.0 && n.is_finite());
    let unit = unit.to_ascii_lowercase();
    if positive && RATE_UNITS.contains(&unit.as_str()) {
        Ok(())
    } else {
        Err(format!(
            "invalid rate '{text}': expected a number and a unit, like \"1mbit\" or \"500kbit\" (units: {})",
            RATE_UNITS.join(", ")
        ))
    }
}

impl Lab {
    /// An empty lab called `name` (add endpoints and nodes).
    pub fn new(name: impl Into<String>) -> Lab {
        Lab {
            name: name.into(),
            description: String::new(),
            time_limit: DEFAULT_TIME_LIMIT,
            netns: NetnsPolicy::Off,
            endpoints: BTreeMap::new(),
            keys: BTreeMap::new(),
            nodes: Vec::new(),
            faults: Vec::new(),
            links: Vec::new(),
            origin: None,
        }
    }

    /// Declare endpoint `name` with `transport`.
    pub fn endpoint(mut self, name: impl Into<String>, transport: LabTransport) -> Lab {
        self.endpoints
            .insert(name.into(), EndpointSpec { transport });
        self
    }

    /// Declare key `name`, generated at the start of each run.
    pub fn key(mut self, name: impl Into<String>, key: KeySpec) -> Lab {
        self.keys.insert(name.into(), key);
        self
    }

    /// Add a node.
    pub fn node(mut self, node: Node) -> Lab {
        self.nodes.push(node);
        self
    }

    /// Add a fault.
    pub fn fault(mut self, at: Duration, target: impl Into<String>, action: FaultAction) -> Lab {
        self.faults.push(Fault {
            at,
            target: target.into(),
            action,
        });
        self
    }

    /// Set the time limit.
    pub fn time_limit(mut self, limit: Duration) -> Lab {
        self.time_limit = limit;
        self
    }
}

impl Node {
    /// A node running `run` (program and arguments), one replica, expected to exit 0.
    pub fn new<S: Into<String>>(name: impl Into<String>, run: impl IntoIterator<Item = S>) -> Node {
        Node {
            name: name.into(),
            run: run.into_iter().map(Into::into).collect(),
            replicas: 1,
            input: None,
            input_file: None,
            host: None,
            binds: Vec::new(),
            ready: None,
            background: false,
            stats: true,
            show: false,
            show_stderr: false,
            expect: Expect::default(),
        }
    }

    /// Run `n` copies.
    pub fn replicas(mut self, n: u32) -> Node {
        self.replicas = n;
        self
    }

    /// Give `text` on standard input.
    pub fn input(mut self, text: impl Into<String>) -> Node {
        self.input = Some(text.into());
        self
    }

    /// Run until the other nodes are done, then be stopped.
    pub fn background(mut self) -> Node {
        self.background = true;
        self
    }

    /// Set what must hold at the end.
    pub fn expect(mut self, expect: Expect) -> Node {
        self.expect = expect;
        self
    }
}

impl Expect {
    /// Expect each replica to exit with `code`.
    pub fn exit(mut self, code: i32) -> Expect {
        self.exit = Some(ExitCodes::One(code));
        self
    }

    /// Expect each replica to have received `count` messages.
    pub fn received(mut self, count: Count) -> Expect {
        self.received = Some(count);
        self
    }

    /// Expect each replica to have sent `count` messages.
    pub fn sent(mut self, count: Count) -> Expect {
        self.sent = Some(count);
        self
    }

    /// Expect a stdout line of each replica to match `pattern`.
    pub fn stdout(mut self, pattern: impl Into<String>) -> Expect {
        self.stdout.push(pattern.into());
        self
    }

    /// Expect each replica's stdout to be exactly `text`, line by line.
    pub fn stdout_exactly(mut self, text: impl Into<String>) -> Expect {
        self.stdout_exactly = Some(text.into());
        self
    }
}

fn default_time_limit() -> Duration {
    DEFAULT_TIME_LIMIT
}

fn one() -> u32 {
    1
}

fn yes() -> bool {
    true
}

fn de_duration<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Duration, D::Error> {
    let text = String::deserialize(deserializer)?;
    duration::parse(&text).map_err(serde::de::Error::custom)
}

fn de_opt_duration<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<Duration>, D::Error> {
    de_duration(deserializer).map(Some)
}

fn de_rate<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<String>, D::Error> {
    let text = String::deserialize(deserializer)?;
    check_rate(&text).map_err(serde::de::Error::custom)?;
    Ok(Some(text))
}

fn de_percent<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<f64>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Form {
        Number(f64),
        Text(String),
    }
    let bad = |what: &str| {
        serde::de::Error::custom(format!(
            "invalid loss '{what}': expected a percentage from 0 to 100, like \"5%\""
        ))
    };
    let value = match Form::deserialize(deserializer)? {
        Form::Number(n) => n,
        Form::Text(text) => text
            .trim()
            .trim_end_matches('%')
            .trim()
            .parse()
            .map_err(|_| bad(&text))?,
    };
    if (0.0..=100.0).contains(&value) {
        Ok(Some(value))
    } else {
        Err(bad(&value.to_string()))
    }
}
