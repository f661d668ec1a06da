//! Where a lab came from: its file and the line of each of its tables, so that an
//! error found at any stage (parsing, planning, starting) names its place.

use std::path::{Path, PathBuf};

/// Where a lab was read from: its file, the first line of each `[[node]]`,
/// `[[fault]]` and `[[link]]` table, and the line of each key of `[keys]`, so that
/// later errors can name their line.
#[derive(Clone, Debug)]
pub(crate) struct Origin {
    pub(crate) path: PathBuf,
    pub(crate) node_lines: Vec<usize>,
    pub(crate) fault_lines: Vec<usize>,
    pub(crate) link_lines: Vec<usize>,
    /// In the order of [`Lab::keys`](super::spec::Lab::keys) (by name).
    pub(crate) key_lines: Vec<usize>,
}

/// Which table of a lab an error is about.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Table {
    Lab,
    Node(usize),
    Fault(usize),
    Link(usize),
    /// The key at this index of `[keys]`, in name order.
    Key(usize),
}

impl Origin {
    /// `FILE:LINE` of `table`, or just `FILE`.
    pub(crate) fn place(&self, table: Table) -> String {
        let line = match table {
            Table::Lab => None,
            Table::Node(i) => self.node_lines.get(i),
            Table::Fault(i) => self.fault_lines.get(i),
            Table::Link(i) => self.link_lines.get(i),
            Table::Key(i) => self.key_lines.get(i),
        };
        match line {
            Some(line) => format!("{}:{line}", self.path.display()),
            None => self.path.display().to_string(),
        }
    }

    /// The directory relative paths in the file are read from.
    pub(crate) fn dir(&self) -> &Path {
        self.path.parent().unwrap_or(Path::new("."))
    }
}
