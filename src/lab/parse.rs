//! Reading a lab file: TOML into [`Lab`], with every error pointing at its place,
//! `FILE:LINE:COL: message` for syntax and type errors and `FILE:LINE: node 'x': ...`
//! for the checks made later by the planner.

use super::limits::MAX_LAB_FILE;
use super::origin::Origin;
use super::spec::Lab;
use crate::error::{Error, Result};
use serde::de::IgnoredAny;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::io::Read;
use std::ops::Range;
use std::path::Path;
use toml::Spanned;

/// Just the positions of the repeated tables.
#[derive(Deserialize)]
struct Positions {
    #[serde(default)]
    node: Vec<Spanned<IgnoredAny>>,
    #[serde(default)]
    fault: Vec<Spanned<IgnoredAny>>,
    #[serde(default)]
    link: Vec<Spanned<IgnoredAny>>,
    /// In name order, as in [`Lab::keys`].
    #[serde(default)]
    keys: BTreeMap<String, Spanned<IgnoredAny>>,
}

impl Lab {
    /// Read a lab file. A file that is missing, unreadable, larger than
    /// [`MAX_LAB_FILE`] or not UTF-8 is a bad lab file like one that does not
    /// parse: a usage error.
    pub fn load(path: impl AsRef<Path>) -> Result<Lab> {
        let path = path.as_ref();
        let cannot =
            |e| Error::usage(format!("cannot read lab file {}", path.display())).with_source(e);
        let mut bytes = Vec::new();
        std::fs::File::open(path)
            .and_then(|file| file.take(MAX_LAB_FILE + 1).read_to_end(&mut bytes))
            .map_err(cannot)?;
        if bytes.len() as u64 > MAX_LAB_FILE {
            return Err(Error::usage(format!(
                "{}: the lab file is larger than {MAX_LAB_FILE} bytes (16 MiB)",
                path.display()
            )));
        }
        let text = String::from_utf8(bytes).map_err(|e| {
            let valid = e.utf8_error().valid_up_to();
            let before = String::from_utf8_lossy(&e.as_bytes()[..valid]);
            let (line, column) = line_column(&before, valid..valid);
            Error::usage(format!(
                "{}:{line}:{column}: the lab file is not UTF-8 text",
                path.display()
            ))
        })?;
        Lab::parse(&text, path)
    }

    /// Parse lab `text`; `path` names it in errors and anchors relative paths.
    ///
    /// ```
    /// use zpattern::lab::Lab;
    /// let err = Lab::parse("name = \"x\"\n[[node]]\nname = 3\n", "x.lab").unwrap_err();
    /// assert!(err.to_string().starts_with("x.lab:3:8: invalid type"), "{err}");
    /// ```
    pub fn parse(text: &str, path: impl AsRef<Path>) -> Result<Lab> {
        let path = path.as_ref();
        let located = |e: toml::de::Error| {
            let (line, column) = line_column(text, e.span().unwrap_or(0..0));
            Error::usage(format!(
                "{}:{line}:{column}: {}",
                path.display(),
                e.message().trim_end()
            ))
        };
        let mut lab: Lab = toml::from_str(text).map_err(located)?;
        let positions: Positions = toml::from_str(text).map_err(located)?;
        let lines = |tables: Vec<Spanned<IgnoredAny>>| {
            tables
                .iter()
                .map(|t| line_column(text, t.span()).0)
                .collect()
        };
        lab.origin = Some(Origin {
            path: path.to_path_buf(),
            node_lines: lines(positions.node),
            fault_lines: lines(positions.fault),
            link_lines: lines(positions.link),
            key_lines: lines(positions.keys.into_values().collect()),
        });
        Ok(lab)
    }
}

/// 1-based line and column of the start of `span`.
fn line_column(text: &str, span: Range<usize>) -> (usize, usize) {
    let before = &text[..span.start.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let column = before.len() - before.rfind('\n').map_or(0, |i| i + 1) + 1;
    (line, column)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error(text: &str) -> String {
        Lab::parse(text, "t.lab").unwrap_err().to_string()
    }

    #[test]
    fn syntax_errors_name_line_and_column() {
        let e = error("name = \"x\"\n[[node]]\nname = \"a\n");
        assert!(e.starts_with("t.lab:3:"), "{e}");
    }

    #[test]
    fn unknown_fields_are_named_where_they_are() {
        let e = error("name = \"x\"\n\n[[node]]\nname = \"a\"\nrun = [\"zsub\"]\nrepilcas = 2\n");
        assert!(e.starts_with("t.lab:6:1: unknown field `repilcas`"), "{e}");
    }

    #[test]
    fn bad_values_say_what_was_expected() {
        let e = error("name = \"x\"\ntime_limit = \"soon\"\n");
        assert!(e.starts_with("t.lab:2:14: invalid duration 'soon'"), "{e}");
        let e = error("name = \"x\"\n[[node]]\nname = \"a\"\nrun = [\"zsub\"]\nexpect = { received = \"lots\" }\n");
        assert!(e.starts_with("t.lab:5:"), "{e}");
        assert!(e.contains("expected a count"), "{e}");
        let e = error("name = \"x\"\n[[fault]]\nat = \"1s\"\n");
        assert!(
            e.contains("exactly one of kill = NODE or restart = NODE"),
            "{e}"
        );
        let e = error("name = \"x\"\nnetns = \"maybe\"\n");
        assert!(e.starts_with("t.lab:2:9: unknown variant `maybe`"), "{e}");
    }

    #[test]
    fn tables_remember_their_lines() {
        use super::super::origin::Table;
        let lab = Lab::parse(
            "name = \"x\"\n\n[[node]]\nname = \"a\"\nrun = [\"zsub\"]\n\n[[node]]\nname = \"b\"\nrun = [\"zpub\"]\n",
            "t.lab",
        )
        .unwrap();
        let origin = lab.origin.unwrap();
        assert_eq!(origin.place(Table::Node(1)), "t.lab:7");
        assert_eq!(origin.place(Table::Lab), "t.lab");
    }
}
