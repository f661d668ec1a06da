//! The planned pieces of a lab that the checks, the runner and the report share:
//! what each node needs beyond its spec ([`NodePlan`]), the processes to start
//! ([`Instance`]), their arguments split into text and placeholders ([`Arg`],
//! [`Part`]), and the names zlab gives a meaning to.

use super::keys::KeyFile;
use regex::Regex;
use std::ops::Range;
use std::path::PathBuf;
use std::sync::Arc;

/// The zpattern binaries: found next to the running program, given `--stats`, and
/// able to report counts.
pub const BINARIES: [&str; 6] = ["zpub", "zsub", "zreq", "zrep", "zpush", "zpull"];

/// Placeholders that are not endpoints.
pub(crate) const REPLICA: &str = "replica";
pub(crate) const DIR: &str = "dir";

/// What the runner needs to know about one node beyond its spec.
#[derive(Debug)]
pub(crate) struct NodePlan {
    /// The zpattern binary the node runs, if it runs one.
    pub(crate) binary: Option<&'static str>,
    /// Its instances: replicas are planned one after the other.
    pub(crate) instances: Range<usize>,
    /// Standard input: `input` or `input_file`.
    pub(crate) input: Option<Input>,
    pub(crate) ready: Option<Regex>,
    pub(crate) stdout: Vec<(String, Regex)>,
    pub(crate) stdout_all: Option<(String, Regex)>,
    pub(crate) stderr: Vec<(String, Regex)>,
}

/// A node's standard input.
#[derive(Clone, Debug)]
pub(crate) enum Input {
    /// The text of `input`, shared by every start of every replica.
    Text(Arc<[u8]>),
    /// `input_file`, checked to be a regular file of at most [`MAX_INPUT_FILE`]
    /// bytes, opened at each start and handed over as the node's stdin.
    File(PathBuf),
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
    /// `{key:NAME}`, `{secret:NAME}`, `{allowed:NAME}`: a file of a lab key.
    Key(KeyFile, String),
}

/// The zpattern binary `program` names, if it is one given by bare name.
pub(crate) fn binary_of(program: &str) -> Option<&'static str> {
    BINARIES.iter().copied().find(|b| *b == program)
}

/// Whether `name` is a plain name: a letter or `_`, then letters, digits, `_` and
/// `-`.
pub(crate) fn is_identifier(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}
