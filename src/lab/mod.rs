//! Scripted network labs: describe a topology once, run it repeatably, get a
//! verdict. This is what the `zlab` binary runs; a program can use it directly.
//!
//! A [`Lab`] names endpoints, nodes (any of the six zpattern binaries or any
//! command, with a replica count), CURVE [keys](KeySpec) made afresh for each run,
//! scripted [faults](Fault) and, when run as root, hosts in network namespaces
//! joined by impaired [links](Link). [`Lab::plan`] checks
//! it and orders the start: a node that connects to `{news}` starts only after the
//! node that binds `{news}` has reported its bound endpoint, never after a sleep.
//! [`Plan::run`] runs it, stops everything it started on every way out, and
//! returns a [`Report`] that says whether every [expectation](Expect) held.
//!
//! Lab files are TOML; `patterns/README.md` documents the format. The same lab in
//! code:
//!
//! ```
//! use zpattern::lab::{Count, Expect, Lab, LabTransport, Node, Quiet, RunOptions};
//!
//! let lab = Lab::new("stop-saying")
//!     .endpoint("talk", LabTransport::Tcp)
//!     .node(
//!         Node::new("server", ["zrep", "--bind", "{talk}", "--reply", "Stop saying {}"])
//!             .background(),
//!     )
//!     .node(
//!         Node::new("client", ["zreq", "--connect", "{talk}", "--timeout", "5s"])
//!             .input("message #1\nmessage #2\n")
//!             .expect(
//!                 Expect::default()
//!                     .received(Count::Exactly(2))
//!                     .stdout("^Stop saying message #2$"),
//!             ),
//!     );
//! let mut options = RunOptions::default();
//! # // A doc test runs from a temporary directory, far from the binaries: point it
//! # // at the ones cargo built (`cargo test` builds them for the integration tests).
//! # let target = option_env!("CARGO_TARGET_DIR").unwrap_or(concat!(env!("CARGO_MANIFEST_DIR"), "/target"));
//! # options.bin_dir = Some(std::path::Path::new(target).join("debug"));
//! # if !options.bin_dir.as_ref().is_some_and(|d| d.join("zrep").is_file()) {
//! #     eprintln!("SKIPPED: the zpattern binaries are not built (cargo build)");
//! #     return Ok(());
//! # }
//! let report = lab.plan()?.run(&options, &mut Quiet)?;
//! println!("{}", report.to_text());
//! assert!(report.passed, "{}", report.to_text());
//! # Ok::<(), zpattern::Error>(())
//! ```
//!
//! The zpattern binaries are looked up next to the running program, then in the
//! directory above it (where cargo puts the binaries of `cargo run --example` and of
//! tests), then in `PATH`; [`RunOptions::bin_dir`] names the one directory to use
//! instead. Every node's process group dies with the program running the lab, even
//! when it is killed with SIGKILL, so a killed program leaves no processes behind.

mod addresses;
mod arguments;
mod check;
mod expect;
mod faults;
mod html;
mod instance;
mod keys;
mod limits;
mod map;
mod markup;
mod netns;
mod observe;
mod origin;
mod parse;
mod plan;
mod process;
mod readiness;
mod report;
mod run;
mod setup;
mod spec;
mod state;
mod topology;
mod watchdog;

pub use expect::Check;
pub use instance::BINARIES;
pub use limits::{MAX_FAULTS, MAX_INPUT_FILE, MAX_KEYS, MAX_LAB_FILE, MAX_LINKS, MAX_PROCESSES};
pub use observe::{Observer, Quiet, Row, RunOptions};
pub use plan::Plan;
pub use report::{Event, NodeReport, Outcome, Report};
pub use spec::{
    Count, EndpointSpec, ExitCodes, Expect, Fault, FaultAction, KeySpec, Lab, LabTransport, Link,
    NetnsPolicy, Node, Signal, DEFAULT_TIME_LIMIT,
};
pub use state::Sample;
pub use topology::{Topology, TopologyEndpoint, TopologyFault, TopologyNode};
