//! zlab: the shipped labs pass; a lab's keys are made for each run, private, and
//! substituted; a failed expectation, a time limit and a bad lab file are named;
//! stopping or killing zlab leaves no process and no network namespace behind; the
//! HTML report renders in a real headless browser.

use crate::support::{program, run, Bin, Finished, Proc, TempDir, DEADLINE};
use std::path::{Path, PathBuf};
use std::thread;
use std::time::{Duration, Instant};
use zpattern::lab::{
    Count, Expect, FaultAction, KeySpec, Lab, LabTransport, Node, Quiet, RunOptions,
};

/// The labs in `patterns/` that have a test of their own below; every other lab
/// there is run by `every_other_shipped_lab_passes`.
const TESTED: [&str; 10] = [
    "pubsub",
    "reqrep",
    "pipeline",
    "three-stage",
    "three-stage-kill",
    "lossy-link",
    "slow-subscriber",
    "lazy-pirate",
    "slow-workers",
    "secure-pubsub",
];

fn patterns() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("patterns")
}

fn zlab(args: &[&str]) -> Finished {
    run(Bin::Zlab, args).start().finish()
}

fn run_shipped(name: &str) -> Finished {
    let file = patterns().join(format!("{name}.lab"));
    let done = zlab(&["run", "--quiet", file.to_str().unwrap()]).expect(0);
    let verdict = done.lines().last().cloned().unwrap_or_default();
    assert!(verdict.starts_with("verdict: PASS"), "{done:?}");
    done
}

/// Write `text` as `name` in `dir` and return its path as a string.
fn lab_file(dir: &TempDir, name: &str, text: &str) -> String {
    let path = dir.path().join(name);
    std::fs::write(&path, text).unwrap();
    path.to_str().unwrap().to_string()
}

/// The names of the `*.lab` files in `patterns/`.
fn shipped() -> Vec<String> {
    let mut found: Vec<String> = std::fs::read_dir(patterns())
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "lab"))
        .map(|p| p.file_stem().unwrap().to_string_lossy().into_owned())
        .collect();
    found.sort();
    found
}

#[test]
fn the_labs_with_a_test_of_their_own_are_shipped() {
    let shipped = shipped();
    for lab in TESTED {
        assert!(shipped.contains(&lab.to_string()), "patterns/{lab}.lab");
    }
}

/// A lab added to `patterns/` is in the suite from the start: it must pass.
#[test]
fn every_other_shipped_lab_passes() {
    for lab in shipped() {
        if !TESTED.contains(&lab.as_str()) {
            run_shipped(&lab);
        }
    }
}

#[test]
fn pubsub_lab_passes_and_shows_what_each_subscriber_received() {
    let done = run_shipped("pubsub");
    let text = done.lines().join("\n");
    assert!(text.contains("longhair printed (5 lines):"), "{text}");
    assert!(text.contains("    siamese | tam-o-shanter"), "{text}");
}

#[test]
fn reqrep_lab_passes() {
    run_shipped("reqrep");
}

#[test]
fn pipeline_lab_passes() {
    run_shipped("pipeline");
}

#[test]
fn three_stage_lab_passes_with_the_sinks_verdict() {
    let text = run_shipped("three-stage").lines().join("\n");
    assert!(text.contains("sink said:"), "{text}");
    assert!(
        text.contains("complete: 10000 of 10000 items, each exactly once"),
        "{text}"
    );
}

/// The three-stage-kill lab passes, and its HTML report draws its topology (five
/// nodes with their replica counts, four endpoints, who binds and who connects, the
/// faults on resize) and one rate line per node, not per replica.
#[test]
fn three_stage_kill_lab_passes_with_the_missing_items_named_and_drawn() {
    let dir = TempDir::new();
    let html = dir.path().join("report.html");
    let file = patterns().join("three-stage-kill.lab");
    let done = zlab(&[
        "run",
        "--quiet",
        "--report",
        html.to_str().unwrap(),
        file.to_str().unwrap(),
    ])
    .expect(0);
    let text = done.lines().join("\n");
    assert!(text.contains("resize.2    killed (fault)"), "{text}");
    assert!(text.contains(": incomplete: "), "{text}");
    assert!(!text.contains("each exactly once"), "{text}");

    let page = std::fs::read_to_string(&html).unwrap();
    let map = Svg::find(&page, "topology");
    let nodes: Vec<(String, String)> = map
        .elements("<g class=\"node\"")
        .iter()
        .map(|e| (e.get("data-node"), e.get("data-replicas")))
        .collect();
    let expected: Vec<(String, String)> = [
        ("sink", "1"),
        ("upload", "5"),
        ("resize", "4"),
        ("download", "3"),
        ("source", "1"),
    ]
    .iter()
    .map(|(n, r)| (n.to_string(), r.to_string()))
    .collect();
    assert_eq!(nodes, expected);
    let endpoints: Vec<String> = map
        .elements("<g class=\"endpoint\"")
        .iter()
        .map(|e| e.get("data-endpoint"))
        .collect();
    assert_eq!(endpoints, ["download", "resize", "sink", "upload"]);
    let edges = |start: &str| -> std::collections::BTreeSet<(String, String)> {
        map.elements(start)
            .iter()
            .map(|e| (e.get("data-node"), e.get("data-endpoint")))
            .collect()
    };
    let pairs = |list: &[(&str, &str)]| -> std::collections::BTreeSet<(String, String)> {
        list.iter()
            .map(|(n, e)| (n.to_string(), e.to_string()))
            .collect()
    };
    assert_eq!(
        edges("<line class=\"binds\""),
        pairs(&[
            ("sink", "sink"),
            ("upload", "upload"),
            ("resize", "resize"),
            ("download", "download"),
        ])
    );
    assert_eq!(
        edges("<g class=\"connects\""),
        pairs(&[
            ("upload", "sink"),
            ("resize", "upload"),
            ("download", "resize"),
            ("source", "download"),
        ])
    );
    let faults: Vec<(String, String, String)> = map
        .elements("<text class=\"fault\"")
        .iter()
        .map(|e| {
            (
                e.get("data-target"),
                e.get("data-action"),
                e.get("data-at-ms"),
            )
        })
        .collect();
    let fault = |a: &str, b: &str, c: &str| (a.to_string(), b.to_string(), c.to_string());
    assert_eq!(
        faults,
        [
            fault("resize.2", "SIGSTOP", "1000"),
            fault("resize.2", "SIGKILL", "2000")
        ]
    );
    // The rate chart: a line per node, a band per replicated node.
    let chart = Svg::find(&page, "timeline");
    let lines: Vec<String> = chart
        .elements("<polyline ")
        .iter()
        .map(|e| e.get("data-node"))
        .collect();
    assert_eq!(lines, ["sink", "upload", "resize", "download", "source"]);
    let bands: Vec<String> = chart
        .elements("<polygon class=\"band\"")
        .iter()
        .map(|e| e.get("data-node"))
        .collect();
    assert_eq!(bands, ["upload", "resize", "download"]);
}

/// One `<svg id="ID">...</svg>` of a page.
struct Svg(String);

/// The start tag of an element, to read its attributes.
struct Element(String);

impl Svg {
    fn find(page: &str, id: &str) -> Svg {
        let start = page
            .find(&format!("<svg id=\"{id}\""))
            .unwrap_or_else(|| panic!("no <svg id=\"{id}\"> in the page"));
        let end = page[start..].find("</svg>").expect("a closed svg") + start;
        Svg(page[start..end].to_string())
    }

    /// The start tags that begin with `start`, in order.
    fn elements(&self, start: &str) -> Vec<Element> {
        self.0
            .match_indices(start)
            .map(|(at, _)| {
                let tag = &self.0[at..];
                Element(tag[..tag.find('>').unwrap_or(tag.len())].to_string())
            })
            .collect()
    }
}

impl Element {
    /// The value of attribute `name` (empty if it has none).
    fn get(&self, name: &str) -> String {
        self.0
            .split(&format!(" {name}=\""))
            .nth(1)
            .and_then(|rest| rest.split('"').next())
            .unwrap_or_default()
            .to_string()
    }
}

#[test]
fn slow_subscriber_lab_passes_with_the_gaps_reported() {
    let text = run_shipped("slow-subscriber").lines().join("\n");
    assert!(text.contains("slow said:"), "{text}");
    assert!(text.contains("zsub: batch 7: incomplete: "), "{text}");
}

/// The lossy link passes only with its impairment applied: where any of it could
/// not be (no root, no netem, no nft), it is SKIPPED, exit 4, with the reason, its
/// expectations still checked on the run without it.
#[test]
fn lossy_link_lab_passes_only_with_its_impairment() {
    let file = patterns().join("lossy-link.lab");
    let done = zlab(&["run", "--quiet", file.to_str().unwrap()]);
    let text = done.lines().join("\n");
    let verdict = done.lines().last().cloned().unwrap_or_default();
    if zpattern_is_root() {
        assert!(
            text.contains("network: link left (10.77.0.1) <-> right (10.77.0.2)"),
            "{text}"
        );
    } else {
        assert!(text.contains("network namespaces unavailable"), "{text}");
    }
    let missing = text.contains("NOT applied") || text.contains("namespaces unavailable");
    if missing {
        assert_eq!(done.code, Some(4), "{text}");
        assert!(verdict.starts_with("verdict: SKIPPED - "), "{verdict}");
        assert!(
            verdict.contains("; 12 of 12 expectations held"),
            "{verdict}"
        );
        println!("note: {verdict}");
    } else {
        assert_eq!(done.code, Some(0), "{text}");
        assert!(verdict.starts_with("verdict: PASS - "), "{verdict}");
    }
}

#[test]
fn lazy_pirate_lab_passes_with_every_reply_in_order_and_the_resends_shown() {
    let file = patterns().join("lazy-pirate.lab");
    let done = zlab(&["run", "--quiet", "--json", file.to_str().unwrap()]).expect(0);
    let json: serde_json::Value = serde_json::from_str(&done.lines().join("\n")).unwrap();
    assert_eq!(json["passed"], true, "{json:#}");
    let checks = json["checks"].as_array().unwrap();
    let exact = checks
        .iter()
        .find(|c| c["node"] == "client" && c["expected"] == "stdout exactly as given (20 lines)")
        .expect("the in-order check");
    assert_eq!(exact["passed"], true, "{exact}");
    let client = &json["nodes"][1];
    assert_eq!(client["received"], 20);
    let resends = client["shown_stderr"].as_array().unwrap();
    assert!(
        resends
            .iter()
            .any(|l| l == "zreq: no reply within 300ms; resending (attempt 2 of 7)"),
        "{client}"
    );
    let server_events: Vec<&str> = json["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["node"] == "server")
        .map(|e| e["text"].as_str().unwrap())
        .collect();
    assert!(
        server_events.contains(&"fault: SIGKILL sent"),
        "{server_events:?}"
    );
    assert!(
        server_events.contains(&"fault: restart"),
        "{server_events:?}"
    );
}

/// Both wirings: each sink says complete, although each source exited while its
/// workers still had most of the batch before them (in their queues and kernel
/// buffers).
#[test]
fn slow_workers_lab_passes_with_the_backlog_outliving_the_source() {
    let file = patterns().join("slow-workers.lab");
    let done = zlab(&["run", "--quiet", "--json", file.to_str().unwrap()]).expect(0);
    let json: serde_json::Value = serde_json::from_str(&done.lines().join("\n")).unwrap();
    assert_eq!(json["passed"], true, "{json:#}");
    let node = |name: &str| {
        json["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|n| n["name"] == name)
            .unwrap_or_else(|| panic!("no node {name}"))
            .clone()
    };
    let exited_at = |name: &str| {
        json["events"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["node"] == name && e["text"] == "exited with 0")
            .and_then(|e| e["at_ms"].as_u64())
            .unwrap_or_else(|| panic!("{name} did not exit 0: {json:#}"))
    };
    for wiring in ["a", "b"] {
        let sink = node(&format!("sink-{wiring}"));
        let said = sink["shown_stderr"].to_string();
        assert!(
            said.contains("complete: 1000 of 1000 items, each exactly once"),
            "{said}"
        );
        // What the sink had when the source left: far from all of it.
        let left = exited_at(&format!("source-{wiring}"));
        let had = sink["samples"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|s| s["at_ms"].as_u64().unwrap() <= left)
            .filter_map(|s| s["received"].as_u64())
            .max()
            .unwrap_or(0);
        assert!(
            had < 1000,
            "wiring {wiring}: the sink had all {had} before the source left"
        );
    }
}

const THREE_CATS: &str = r#"
name = "three-cats"
[endpoints]
news = {}
[[node]]
name = "publisher"
run = ["zpub", "--bind", "{news}", "--data", "siamese", "--count", "3"]
[[node]]
name = "sub"
run = ["zsub", "--connect", "{news}", "--count", "3", "--timeout", "5s"]
"#;

/// The encrypted feed reaches its subscriber, and each intruder is refused: the
/// intruder says why (exit 1, no message), and the servers say whom they refused.
#[test]
fn secure_pubsub_lab_refuses_every_intruder_on_both_sides() {
    let text = run_shipped("secure-pubsub").lines().join("\n");
    assert!(text.contains("subscriber printed (10 lines):"), "{text}");
    for intruder in ["unknown-key", "wrong-server-key", "no-key", "outsider"] {
        let row = text
            .lines()
            .find(|l| l.starts_with(&format!("{intruder} ")))
            .unwrap_or_default();
        assert!(row.contains(" exited 1 "), "{intruder}: {text}");
    }
    let said = |server: &str| -> Vec<&str> {
        text.split(&format!("{server} said:\n"))
            .nth(1)
            .unwrap_or_default()
            .lines()
            .take_while(|l| l.starts_with("    "))
            .collect()
    };
    assert!(
        said("publisher")
            .iter()
            .any(|l| l.contains("refused CURVE from 127.0.0.1") && l.ends_with("is not allowed")),
        "{text}"
    );
    assert!(
        said("vault")
            .iter()
            .any(|l| l.ends_with("refused CURVE from 127.0.0.1 (domain zpattern): address denied")),
        "{text}"
    );
}

/// A lab that prints where its keys are, relative to `{dir}`, with their modes,
/// what the allow list holds, and the server's public key.
const KEY_FILES: &str = r#"
name = "key-files"
time_limit = "20s"
[keys]
server = { allow = ["client"] }
client = {}
[[node]]
name = "files"
run = ["sh", "-c", """
    cd "$1" &&
    test "$2" = "$1/keys/server.key" && test "$3" = "$1/keys/server.key_secret" &&
    test "$4" = "$1/keys/server.allowed" && test "$5" = "$1/keys/client.key" &&
    stat -c '%a %n' keys keys/server.key_secret keys/server.allowed &&
    ls keys/server.allowed && cmp keys/client.key keys/server.allowed/client.key &&
    grep -h public-key "$2" && echo "in dir: $6"
    """, "sh", "{dir}", "{key:server}", "{secret:server}", "{allowed:server}",
    "{key:client}", "{dir}"]
show = true
"#;

/// The shown stdout of the first node of a `zlab run --json` report.
fn shown_stdout(done: &Finished) -> Vec<String> {
    let json: serde_json::Value = serde_json::from_str(&done.lines().join("\n")).unwrap();
    assert_eq!(json["passed"], true, "{json:#}");
    json["nodes"][0]["shown"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l.as_str().unwrap().to_string())
        .collect()
}

#[test]
fn lab_keys_are_made_afresh_for_each_run_private_and_substituted() {
    let dir = TempDir::new();
    let file = lab_file(&dir, "keys.lab", KEY_FILES);
    let first = shown_stdout(&zlab(&["run", "--quiet", "--json", &file]).expect(0));
    let second = shown_stdout(&zlab(&["run", "--quiet", "--json", &file]).expect(0));
    assert_eq!(
        first[..4],
        [
            "700 keys",
            "600 keys/server.key_secret",
            "700 keys/server.allowed",
            "client.key"
        ],
        "{first:?}"
    );
    let key = |lines: &[String]| lines[4].trim().to_string();
    assert!(key(&first).starts_with("public-key = \""), "{first:?}");
    assert_ne!(key(&first), key(&second), "a run's keys are its own");
    // The keys go with the lab's directory.
    let lab_dir = first[5].strip_prefix("in dir: ").unwrap();
    assert!(!Path::new(lab_dir).exists(), "{lab_dir}");
}

#[test]
fn unknown_keys_and_missing_allow_lists_are_named_with_their_line() {
    let dir = TempDir::new();
    let head = "name = \"k\"\n[keys]\nserver = { allow = [\"client\"] }\nclient = {}\n";
    let node = |run: &str| format!("{head}\n[[node]]\nname = \"a\"\nrun = [{run}]\n");
    let cases = [
        (
            node(r#""zsub", "--curve-client", "{secret:clinet}""#),
            "6: node 'a': unknown key '{secret:clinet}' (declare it under [keys])",
        ),
        (
            node(r#""cat", "x{key:nobody}""#),
            "6: node 'a': unknown key '{key:nobody}' (declare it under [keys])",
        ),
        (
            node(r#""zpub", "--curve-allow", "{allowed:client}""#),
            "6: node 'a': '{allowed:client}': key 'client' has no allow list (declare it as client = { allow = [\"...\"] } under [keys])",
        ),
        (
            node(r#""true""#).replace("[\"client\"]", "[\"client\", \"cleint\"]"),
            "3: key 'server': allow: unknown key 'cleint' (declare it under [keys])",
        ),
        (
            node(r#""true""#).replace("client = {}", "client = {}\n\"a.b\" = {}"),
            "5: key name 'a.b' is not a plain name (letters, digits, _ and -)",
        ),
    ];
    for (n, (text, error)) in cases.iter().enumerate() {
        let file = lab_file(&dir, &format!("bad{n}.lab"), text);
        let done = zlab(&["check", &file]).expect(2);
        assert_eq!(
            done.stderr_text().trim_end(),
            format!("zlab: {file}:{error}")
        );
    }
}

/// Keys from the library: a CURVE server lets in the key it allows.
#[test]
fn a_lab_built_in_code_asks_for_keys() {
    let lab = Lab::new("keys")
        .key("server", KeySpec::allowing(["client"]))
        .key("client", KeySpec::default())
        .endpoint("talk", LabTransport::Tcp)
        .node(
            Node::new(
                "server",
                [
                    "zrep",
                    "--bind",
                    "{talk}",
                    "--curve-server",
                    "{secret:server}",
                    "--curve-allow",
                    "{allowed:server}",
                    "--reply",
                    "sealed {}",
                ],
            )
            .background(),
        )
        .node(
            Node::new(
                "client",
                [
                    "zreq",
                    "--connect",
                    "{talk}",
                    "--curve-serverkey",
                    "{key:server}",
                    "--curve-client",
                    "{secret:client}",
                    "--timeout",
                    "5s",
                ],
            )
            .input("letter\n")
            .expect(Expect::default().stdout_exactly("sealed letter\n")),
        );
    let report = lab
        .plan()
        .unwrap()
        .run(&RunOptions::default(), &mut Quiet)
        .unwrap();
    assert!(report.passed, "{}", report.to_text());
}

#[test]
fn a_failed_expectation_fails_the_lab_and_is_named() {
    let dir = TempDir::new();
    let text = format!("{THREE_CATS}expect = {{ received = 4, stdout = [\"^siamese$\"] }}\n");
    let file = lab_file(&dir, "fail.lab", &text);
    let done = zlab(&["run", "--quiet", &file]).expect(1);
    let lines = done.lines();
    assert!(
        lines.contains(&"FAILED sub: expected received 4, found received 3".to_string()),
        "{done:?}"
    );
    assert!(
        lines
            .last()
            .unwrap()
            .starts_with("verdict: FAIL - 3 of 4 expectations held"),
        "{done:?}"
    );
}

#[test]
fn the_time_limit_stops_the_lab_and_fails_it() {
    let dir = TempDir::new();
    let text = "name = \"forever\"\ntime_limit = \"1s\"\n[[node]]\nname = \"sub\"\nrun = [\"zsub\", \"--bind\", \"tcp://127.0.0.1:*\"]\n";
    let file = lab_file(&dir, "slow.lab", text);
    let started = Instant::now();
    let done = zlab(&["run", "--quiet", &file]).expect(1);
    assert!(started.elapsed() < Duration::from_secs(10));
    let lines = done.lines();
    assert!(
        lines.contains(
            &"FAILED sub: expected exit 0, found still running at the end; stopped".to_string()
        ),
        "{done:?}"
    );
    assert!(
        lines
            .last()
            .unwrap()
            .starts_with("verdict: FAIL - time limit (1s) reached"),
        "{done:?}"
    );
}

#[test]
fn the_json_report_has_counts_and_checks() {
    let file = patterns().join("reqrep.lab");
    let done = zlab(&["run", "--quiet", "--json", file.to_str().unwrap()]).expect(0);
    let json: serde_json::Value = serde_json::from_str(&done.lines().join("\n")).unwrap();
    assert_eq!(json["passed"], true);
    assert_eq!(json["nodes"][1]["name"], "client");
    assert_eq!(json["nodes"][1]["received"], 5);
    assert!(json["checks"]
        .as_array()
        .unwrap()
        .iter()
        .all(|c| c["passed"] == true));
}

#[test]
fn a_syntax_error_names_file_line_and_column() {
    let dir = TempDir::new();
    let file = lab_file(
        &dir,
        "bad.lab",
        "name = \"x\"\n[[node]]\nname = \"a\nrun = []\n",
    );
    let done = zlab(&["run", &file]).expect(2);
    let error = done.stderr_text();
    assert!(error.starts_with(&format!("zlab: {file}:3:")), "{error}");
}

#[test]
fn a_bad_field_and_an_unknown_endpoint_are_named() {
    let dir = TempDir::new();
    let text = THREE_CATS.replace("name = \"sub\"", "name = \"sub\"\nreplica = 2");
    let file = lab_file(&dir, "bad.lab", &text);
    let error = zlab(&["check", &file]).expect(2).stderr_text();
    assert!(
        error.starts_with(&format!("zlab: {file}:10:1: unknown field `replica`")),
        "{error}"
    );
    let file = lab_file(
        &dir,
        "bad2.lab",
        &THREE_CATS.replace("--connect\", \"{news}", "--connect\", \"{newz}"),
    );
    let error = zlab(&["check", &file]).expect(2).stderr_text();
    assert_eq!(
        error,
        format!("zlab: {file}:8: node 'sub': unknown endpoint '{{newz}}' (declare it under [endpoints])")
    );
}

#[test]
fn the_worked_example_of_the_lab_readme_passes() {
    let readme = std::fs::read_to_string(patterns().join("README.md")).unwrap();
    let example = readme
        .split("## A worked example")
        .nth(1)
        .and_then(|rest| rest.split("```toml\n").nth(1))
        .and_then(|block| block.split("```").next())
        .expect("a toml block after '## A worked example'");
    let dir = TempDir::new();
    let file = lab_file(&dir, "stop-saying.lab", example);
    let done = zlab(&["run", "--quiet", &file]).expect(0);
    assert!(
        done.lines()
            .contains(&"    Stop saying client 2".to_string()),
        "{done:?}"
    );
}

#[test]
fn check_shows_the_plan() {
    let file = patterns().join("pipeline.lab");
    let done = zlab(&["check", file.to_str().unwrap()]).expect(0);
    assert!(
        done.lines()
            .contains(&"2 nodes, 3 processes: dryer.1, dryer.2, washer".to_string()),
        "{done:?}"
    );
}

/// A lab that runs until stopped, with one node per host when namespaces are
/// available, and a shell node whose background job is a grandchild of zlab.
const FOREVER: &str = r#"
name = "forever"
time_limit = "5m"
netns = "optional"
[endpoints]
q = {}
[[link]]
between = ["a", "b"]
[[node]]
name = "sink"
host = "a"
run = ["zpull", "--bind", "{q}"]
[[node]]
name = "source"
host = "b"
run = ["zpush", "--connect", "{q}", "--data", "x", "--count", "1000000", "--interval", "10ms"]
[[node]]
name = "shell"
host = "a"
run = ["sh", "-c", "sleep 300 & sleep 300"]
"#;

/// Start zlab on FOREVER; return it and every process of the lab (the nodes and
/// the shell's background job) once all started.
fn start_forever(dir: &TempDir) -> (Proc, Vec<u32>) {
    let file = lab_file(dir, "forever.lab", FOREVER);
    let mut zlab = run(Bin::Zlab, &["run", &file]).start();
    let mut pids = Vec::new();
    let deadline = Instant::now() + DEADLINE;
    while Instant::now() < deadline {
        let Some(line) = zlab.stderr_line_within(deadline - Instant::now()) else {
            break;
        };
        if let Some(pid) = line.split("started (pid ").nth(1) {
            pids.push(pid.split(')').next().unwrap().parse().unwrap());
        }
        if line.contains("every node started") {
            assert_eq!(pids.len(), 3, "{pids:?}");
            return (zlab, members_once_forked(&pids));
        }
    }
    panic!("zlab did not start its nodes: {:?}", zlab.finish());
}

/// Every process in the nodes' groups, once the shell has forked its background
/// job (one more process than there are nodes).
fn members_once_forked(groups: &[u32]) -> Vec<u32> {
    let deadline = Instant::now() + DEADLINE;
    loop {
        let members = group_members(groups);
        if members.len() > groups.len() {
            return members;
        }
        assert!(Instant::now() < deadline, "no background job: {members:?}");
        thread::sleep(Duration::from_millis(10));
    }
}

/// The process group of `pid` (the fifth field of /proc/PID/stat).
fn group_of(pid: u32) -> Option<u32> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    stat.rsplit(')')
        .next()?
        .split_whitespace()
        .nth(2)?
        .parse()
        .ok()
}

/// Every live process whose process group is one of `groups`.
fn group_members(groups: &[u32]) -> Vec<u32> {
    std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(|e| e.ok())
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter(|&pid| !gone(pid) && group_of(pid).is_some_and(|g| groups.contains(&g)))
        .collect()
}

/// The network namespace of a process, e.g. `net:[4026532301]`.
fn netns_of(pid: u32) -> Option<String> {
    std::fs::read_link(format!("/proc/{pid}/ns/net"))
        .ok()
        .map(|l| l.to_string_lossy().into_owned())
}

/// Whether any process is in namespace `ns`.
fn netns_in_use(ns: &str) -> bool {
    std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(|e| e.ok())
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .any(|pid| !gone(pid) && netns_of(pid).as_deref() == Some(ns))
}

/// Whether `pid` is gone (or a zombie, dead but not reaped by its new parent).
fn gone(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => true,
        Ok(stat) => stat
            .rsplit(')')
            .next()
            .is_some_and(|rest| rest.trim_start().starts_with('Z')),
    }
}

fn zpattern_is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .unwrap()
        .lines()
        .any(|l| l.starts_with("Uid:") && l.split_whitespace().nth(1) == Some("0"))
}

/// Wait until every pid is gone and no process is in any of `namespaces`.
fn assert_nothing_left(pids: &[u32], namespaces: &[String]) {
    let deadline = Instant::now() + DEADLINE;
    loop {
        let alive: Vec<&u32> = pids.iter().filter(|&&p| !gone(p)).collect();
        let used: Vec<&String> = namespaces.iter().filter(|n| netns_in_use(n)).collect();
        if alive.is_empty() && used.is_empty() {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "left behind: processes {alive:?}, namespaces {used:?}"
        );
        thread::sleep(Duration::from_millis(20));
    }
}

/// The namespaces the lab's processes run in, other than our own.
fn lab_namespaces(pids: &[u32]) -> Vec<String> {
    let own = netns_of(std::process::id());
    let mut namespaces: Vec<String> = pids
        .iter()
        .filter_map(|&p| netns_of(p))
        .filter(|n| Some(n) != own.as_ref())
        .collect();
    namespaces.sort();
    namespaces.dedup();
    if zpattern_is_root() {
        assert_eq!(namespaces.len(), 2, "one namespace per host");
    } else {
        println!("note: not root, so the lab ran on loopback; only processes are checked");
    }
    namespaces
}

/// Stop zlab with `signal`: exit 130 with the interrupted verdict, and nothing of
/// the lab left, the shell node's background job included.
fn stopped_by(signal: libc::c_int) {
    let dir = TempDir::new();
    let (zlab, pids) = start_forever(&dir);
    let namespaces = lab_namespaces(&pids);
    zlab.signal(signal);
    let done = zlab.finish().expect(130);
    assert!(
        done.lines()
            .last()
            .unwrap()
            .starts_with("verdict: FAIL - interrupted"),
        "{done:?}"
    );
    assert_nothing_left(&pids, &namespaces);
}

#[test]
fn sigterm_stops_every_node_and_removes_the_namespaces() {
    stopped_by(libc::SIGTERM);
}

#[test]
fn sigint_mid_lab_exits_130_with_no_process_left() {
    stopped_by(libc::SIGINT);
}

#[test]
fn sigkill_of_zlab_leaves_no_process_and_no_namespace() {
    let dir = TempDir::new();
    let (mut zlab, pids) = start_forever(&dir);
    let namespaces = lab_namespaces(&pids);
    let lab_dir = std::env::temp_dir().join(format!("zlab-{}-0", zlab.id()));
    assert!(lab_dir.is_dir(), "{}", lab_dir.display());
    zlab.kill();
    zlab.wait_with_deadline(DEADLINE).expect("zlab ended");
    // The shell's background job is no child of zlab: only the watchdog kills it.
    assert_nothing_left(&pids, &namespaces);
    // The killed zlab could not remove its directory: the next run does.
    run_shipped("reqrep");
    assert!(!lab_dir.exists(), "{}", lab_dir.display());
}

#[test]
fn a_killed_binder_restarts_on_the_same_endpoint() {
    let dir = TempDir::new();
    let text = r#"
name = "crash"
[endpoints]
q = {}
[[node]]
name = "sink"
run = ["zpull", "--bind", "{q}", "--timeout", "3s"]
[[node]]
name = "source"
run = ["zpush", "--connect", "{q}", "--data", "x", "--count", "30", "--interval", "50ms", "--linger", "10s"]
expect = { sent = 30 }
[[fault]]
at = "300ms"
kill = "sink"
[[fault]]
at = "600ms"
restart = "sink"
"#;
    let file = lab_file(&dir, "crash.lab", text);
    let done = zlab(&["run", "--json", &file]).expect(0);
    let json: serde_json::Value = serde_json::from_str(&done.lines().join("\n")).unwrap();
    let events: Vec<String> = json["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["node"] == "sink")
        .map(|e| e["text"].as_str().unwrap().to_string())
        .collect();
    let starts: Vec<&String> = events.iter().filter(|e| e.starts_with("started")).collect();
    assert_eq!(starts.len(), 2, "{events:?}");
    assert!(
        starts[0].contains("--bind 'tcp://127.0.0.1:*'"),
        "{events:?}"
    );
    let port = starts[1]
        .split("--bind tcp://127.0.0.1:")
        .nth(1)
        .map(|r| r.split(' ').next().unwrap());
    assert!(
        port.is_some_and(|p| p.parse::<u16>().is_ok()),
        "restarted on the reported port: {events:?}"
    );
    assert!(
        events.contains(&"fault: SIGKILL sent".to_string()),
        "{events:?}"
    );
    assert!(events.contains(&"fault: restart".to_string()), "{events:?}");
    assert!(json["nodes"][0]["received"].as_u64().unwrap() > 0);
}

#[test]
fn a_lab_built_in_code_runs_from_the_library() {
    let lab = Lab::new("stop-saying")
        .endpoint("talk", LabTransport::Ipc)
        .node(
            Node::new(
                "server",
                ["zrep", "--bind", "{talk}", "--reply", "Stop saying {}"],
            )
            .background(),
        )
        .node(
            Node::new("client", ["zreq", "--connect", "{talk}", "--timeout", "5s"])
                .input("message #1\nmessage #2\n")
                .expect(
                    Expect::default()
                        .received(Count::Exactly(2))
                        .stdout("^Stop saying message #2$"),
                ),
        )
        .fault(Duration::from_secs(50), "server", FaultAction::Restart);
    // No bin_dir: this test program runs from target/debug/deps, and the default
    // lookup finds the binaries in the directory above it.
    let report = lab
        .plan()
        .unwrap()
        .run(&RunOptions::default(), &mut Quiet)
        .unwrap();
    assert!(report.passed, "{}", report.to_text());
    assert_eq!(report.nodes[0].state, "stopped");
}

#[test]
fn binds_and_ready_give_the_binder_and_its_connectors_one_address() {
    // Two binders that print no bound line: zrep --quiet, and a shell running it
    // with the endpoint declared in `binds`. zlab picks each port once; the
    // clients get replies only if they connect where the servers bound.
    let text = format!(
        r#"
name = "ready"
time_limit = "30s"
[endpoints]
a = {{}}
b = {{}}
[[node]]
name = "quiet"
run = ["zrep", "--quiet", "--bind", "{{a}}", "--reply", "a {{}}"]
ready = "^zrep: stats "
background = true
[[node]]
name = "wrapped"
run = ["sh", "-c", "exec \"$0\" --quiet --stats 100ms --bind \"$1\" --reply 'b {{}}'", "{zrep}", "{{b}}"]
binds = ["b"]
ready = "^zrep: stats "
background = true
[[node]]
name = "client-a"
run = ["zreq", "--connect", "{{a}}", "--data", "x", "--count", "3", "--timeout", "5s"]
expect = {{ received = 3, stdout_all = "^a x$" }}
[[node]]
name = "client-b"
run = ["zreq", "--connect", "{{b}}", "--data", "y", "--count", "3", "--timeout", "5s"]
expect = {{ received = 3, stdout_all = "^b y$" }}
"#,
        zrep = env!("CARGO_BIN_EXE_zrep")
    );
    let dir = TempDir::new();
    let file = lab_file(&dir, "ready.lab", &text);
    let done = zlab(&["run", "--quiet", "--json", &file]).expect(0);
    let json: serde_json::Value = serde_json::from_str(&done.lines().join("\n")).unwrap();
    let started = |node: &str| -> String {
        json["events"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["node"] == node && e["text"].as_str().unwrap().starts_with("started"))
            .map(|e| e["text"].as_str().unwrap().to_string())
            .unwrap_or_default()
    };
    let port = |line: &str| -> String {
        line.split("tcp://127.0.0.1:")
            .nth(1)
            .unwrap_or("")
            .chars()
            .take_while(char::is_ascii_digit)
            .collect()
    };
    for (server, client) in [("quiet", "client-a"), ("wrapped", "client-b")] {
        let (bound, connected) = (port(&started(server)), port(&started(client)));
        assert!(!bound.is_empty(), "{}", started(server));
        assert_eq!(bound, connected, "{server} and {client}");
    }
}

#[test]
fn a_binder_that_never_reports_gets_a_hint() {
    let text = r#"
name = "silent"
time_limit = "7s"
[endpoints]
q = {}
[[node]]
name = "silent"
run = ["sleep", "30"]
binds = ["q"]
[[node]]
name = "client"
run = ["zreq", "--connect", "{q}", "--data", "x"]
"#;
    let dir = TempDir::new();
    let file = lab_file(&dir, "silent.lab", text);
    let done = zlab(&["run", &file]).expect(1);
    let hint = "silent: hint: not ready after 5s (its 'NAME: bound EP' line on stderr has not come); client wait for it";
    assert!(done.stderr_text().contains(hint), "{}", done.stderr_text());
}

#[test]
fn a_missing_or_unreadable_lab_file_exits_2() {
    let dir = TempDir::new();
    let missing = dir.path().join("missing.lab");
    let error = zlab(&["run", missing.to_str().unwrap()])
        .expect(2)
        .stderr_text();
    assert!(
        error.starts_with(&format!(
            "zlab: cannot read lab file {}: ",
            missing.display()
        )),
        "{error}"
    );
    let binary = dir.path().join("binary.lab");
    std::fs::write(&binary, b"name = \"x\"\n# caf\xe9\n").unwrap();
    let error = zlab(&["check", binary.to_str().unwrap()])
        .expect(2)
        .stderr_text();
    assert_eq!(
        error.trim_end(),
        format!(
            "zlab: {}:2:6: the lab file is not UTF-8 text",
            binary.display()
        )
    );
}

#[test]
fn an_unwritable_report_path_is_refused_before_anything_starts() {
    let dir = TempDir::new();
    let page = dir.path().join("no-such-dir").join("report.html");
    let file = patterns().join("reqrep.lab");
    let done = zlab(&[
        "run",
        "--report",
        page.to_str().unwrap(),
        file.to_str().unwrap(),
    ])
    .expect(2);
    let error = done.stderr_text();
    assert!(
        error.starts_with(&format!(
            "zlab: --report {}: cannot write there: ",
            page.display()
        )),
        "{error}"
    );
    assert!(!error.contains("started"), "nothing ran: {error}");
    assert!(done.lines().is_empty(), "{done:?}");
}

#[test]
fn the_report_is_printed_even_when_the_page_cannot_be_written_at_the_end() {
    // The lab itself removes the directory of its --report page.
    let dir = TempDir::new();
    let pages = dir.path().join("pages");
    std::fs::create_dir(&pages).unwrap();
    let page = pages.join("report.html");
    let text = format!(
        "name = \"vanish\"\n[[node]]\nname = \"rm\"\nrun = [\"rm\", \"-r\", \"{}\"]\n",
        pages.display()
    );
    let file = lab_file(&dir, "vanish.lab", &text);
    let done = zlab(&["run", "--quiet", "--report", page.to_str().unwrap(), &file]).expect(1);
    let verdict = done.lines().last().cloned().unwrap_or_default();
    assert!(verdict.starts_with("verdict: PASS"), "{done:?}");
    assert!(
        done.stderr_text()
            .contains(&format!("zlab: cannot write {}: ", page.display())),
        "{}",
        done.stderr_text()
    );
}

/// `nft list ruleset` inside a lab host that ends two lossy links: each link's loss
/// has its own table, hooked to its own device only.
#[test]
fn two_lossy_links_on_one_host_drop_each_its_own_share() {
    if !zpattern_is_root() || !Path::new("/usr/sbin/nft").exists() {
        println!("SKIPPED: needs root and nft (.ci/run installs nftables)");
        return;
    }
    let text = r#"
name = "two-links"
netns = "required"
[[node]]
name = "hub"
host = "hub"
run = ["nft", "list", "ruleset"]
show = true
[[node]]
name = "x"
host = "x"
run = ["true"]
[[node]]
name = "y"
host = "y"
run = ["true"]
[[link]]
between = ["hub", "x"]
loss = "10%"
[[link]]
between = ["hub", "y"]
loss = "20%"
"#;
    let dir = TempDir::new();
    let file = lab_file(&dir, "two-links.lab", text);
    let done = zlab(&["run", "--quiet", "--json", &file]).expect(0);
    let json: serde_json::Value = serde_json::from_str(&done.lines().join("\n")).unwrap();
    let network = json["network"].to_string();
    if network.contains("(netem)") {
        println!("SKIPPED: this kernel has netem, so zlab uses no nftables rule");
        return;
    }
    assert!(network.contains("loss 10% (nftables)"), "{network}");
    assert!(network.contains("loss 20% (nftables)"), "{network}");
    let ruleset: Vec<String> = json["nodes"][0]["shown"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l.as_str().unwrap().trim().to_string())
        .collect();
    let count = |needle: &str| ruleset.iter().filter(|l| l.contains(needle)).count();
    assert_eq!(count("table netdev "), 2, "{ruleset:#?}");
    assert_eq!(count("numgen random mod 10000"), 2, "{ruleset:#?}");
    assert_eq!(count("device \"to-x\""), 1, "{ruleset:#?}");
    assert_eq!(count("device \"to-y\""), 1, "{ruleset:#?}");
    assert_eq!(
        count("devices = {"),
        0,
        "one device per chain: {ruleset:#?}"
    );
}

/// On a terminal the live table is redrawn after every event: the last one drawn
/// shows every node as it ended, never "running".
#[test]
fn the_live_table_on_a_terminal_shows_the_final_states() {
    if !Path::new("/usr/bin/script").exists() {
        println!("SKIPPED: needs script(1) (util-linux) for a terminal");
        return;
    }
    let file = patterns().join("reqrep.lab");
    let command = format!("{} run {}", env!("CARGO_BIN_EXE_zlab"), file.display());
    let done = program(
        "script",
        "/usr/bin/script",
        &["-qec", &command, "/dev/null"],
    )
    .start()
    .finish()
    .expect(0);
    let screen = done.lines().join("\n");
    let live = screen.split("lab reqrep:").next().unwrap_or_default();
    assert!(
        live.contains("s node    state"),
        "no live table: {screen:?}"
    );
    let last_table = live.rsplit("s node    state").next().unwrap_or_default();
    assert!(last_table.contains("server  exited 0"), "{last_table:?}");
    assert!(last_table.contains("client  exited 0"), "{last_table:?}");
    assert!(!last_table.contains("running"), "{last_table:?}");
}

/// Debian's Chromium, if installed (CI installs it).
fn chromium() -> Option<&'static str> {
    ["/usr/bin/chromium", "/usr/bin/chromium-browser"]
        .into_iter()
        .find(|p| Path::new(p).exists())
}

/// Every reference the page makes is to itself (`#...`) or inline (`data:`).
fn assert_self_contained(page: &str) {
    for outside in [
        "http://", "https://", "src=", "url(", "@import", "<link", "<script",
    ] {
        assert!(!page.contains(outside), "{outside} in the page");
    }
    for reference in page.split("href=").skip(1) {
        let target = reference.trim_start_matches(['"', '\'']);
        assert!(
            target.starts_with('#') || target.starts_with("data:"),
            "href={}",
            &reference[..reference.len().min(40)]
        );
    }
}

/// Run headless Chromium on `url` with `extra` arguments.
fn chromium_on(chromium: &str, dir: &TempDir, url: &str, extra: &[&str]) -> Finished {
    let profile = dir.path().join(format!("profile-{}", extra.len()));
    let profile = format!("--user-data-dir={}", profile.display());
    let mut args = vec![
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        &profile,
    ];
    args.extend(extra);
    args.push(url);
    program("chromium", chromium, &args).start().finish()
}

/// A screenshot of `url`, as PNG bytes.
fn screenshot(chromium: &str, dir: &TempDir, url: &str, name: &str) -> Vec<u8> {
    let png = dir.path().join(name);
    let shot = format!("--screenshot={}", png.display());
    let done = chromium_on(chromium, dir, url, &[&shot, "--window-size=1100,1400"]);
    std::fs::read(&png).unwrap_or_else(|e| panic!("no screenshot {}: {e}; {done:?}", png.display()))
}

#[test]
fn the_html_report_renders_in_headless_chromium() {
    let dir = TempDir::new();
    let html = dir.path().join("report.html");
    let file = patterns().join("pipeline.lab");
    zlab(&[
        "run",
        "--quiet",
        "--report",
        html.to_str().unwrap(),
        file.to_str().unwrap(),
    ])
    .expect(0);
    let page = std::fs::read_to_string(&html).unwrap();
    assert_self_contained(&page);
    let Some(chromium) = chromium() else {
        println!("SKIPPED the browser check: chromium is not installed (.ci/run installs it)");
        return;
    };
    let url = format!("file://{}", html.display());
    let done = chromium_on(chromium, &dir, &url, &["--dump-dom"]);
    let dom = done.lines().join("\n");
    assert!(dom.contains("<svg id=\"timeline\""), "{done:?}");
    assert!(dom.contains("<svg id=\"topology\""), "{done:?}");
    for (node, replicas) in [("dryer", 2), ("washer", 1)] {
        assert!(
            dom.contains(&format!(
                "<polyline data-node=\"{node}\" data-replicas=\"{replicas}\""
            )),
            "{node}: {dom}"
        );
        assert!(
            dom.contains(&format!(
                "<g class=\"node\" data-node=\"{node}\" data-replicas=\"{replicas}\""
            )),
            "{node}: {dom}"
        );
    }
    assert!(dom.contains("verdict: PASS"), "{dom}");
    // A real render: the page's screenshot holds far more than a blank page's.
    let blank = dir.path().join("blank.html");
    std::fs::write(&blank, "<!DOCTYPE html><html><body></body></html>").unwrap();
    let blank = screenshot(
        chromium,
        &dir,
        &format!("file://{}", blank.display()),
        "blank.png",
    );
    let report = screenshot(chromium, &dir, &url, "report.png");
    assert!(report.starts_with(b"\x89PNG\r\n\x1a\n"), "not a PNG");
    assert!(
        report.len() > 4 * blank.len() && report.len() > 20_000,
        "a report of {} bytes, a blank page of {}",
        report.len(),
        blank.len()
    );
}

/// A lab whose worker runs `sleep 30.MARK` for its one item with `zpull --exec`
/// (in a process group of its own), and whose sink ends the run after a quiet
/// `sink_timeout`; `extra` is appended (a fault).
fn exec_lab(mark: &str, sink_timeout: &str, extra: &str) -> String {
    format!(
        r#"
name = "exec"
time_limit = "1m"
[endpoints]
work = {{}}
sink = {{}}
[[node]]
name = "sink"
run = ["zpull", "--bind", "{{sink}}", "--timeout", "{sink_timeout}"]
[[node]]
name = "worker"
run = ["zpull", "--bind", "{{work}}", "--timeout", "50s",
       "--exec", "echo exec started >&2; sleep 30.{mark}", "--push", "{{sink}}"]
show_stderr = true
expect = {{ stderr = ["^exec started$"] }}
[[node]]
name = "source"
run = ["zpush", "--connect", "{{work}}", "--data", "item"]
{extra}"#
    )
}

/// A mark for `sleep 30.MARK` that no other test or run shares.
fn sleep_mark(test: u32) -> String {
    format!("{test}{:07}", std::process::id())
}

/// The live processes running `sleep 30.MARK`.
fn sleeping(mark: &str) -> Vec<u32> {
    let wanted = format!("sleep\0{}\0", format_args!("30.{mark}"));
    std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(|e| e.ok())
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter(|&pid| {
            std::fs::read(format!("/proc/{pid}/cmdline"))
                .is_ok_and(|c| c.ends_with(wanted.as_bytes()) && !gone(pid))
        })
        .collect()
}

/// Wait until no `sleep 30.MARK` is left: within 10s, so that a command that
/// was not killed is still there when the wait gives up.
fn assert_no_sleep_left(mark: &str) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let left = sleeping(mark);
        if left.is_empty() {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "the --exec command outlived its node: sleep 30.{mark} is still running as {left:?}"
        );
        thread::sleep(Duration::from_millis(20));
    }
}

/// A fault that kills a `zpull --exec` node with SIGKILL takes the command it was
/// running with it, although the command runs in a process group of its own.
#[test]
fn a_node_killed_by_a_fault_takes_its_exec_command_with_it() {
    let mark = sleep_mark(1);
    let fault = "[[fault]]\nat = \"2s\"\nkill = \"worker\"\n";
    let dir = TempDir::new();
    let file = lab_file(&dir, "exec-kill.lab", &exec_lab(&mark, "4s", fault));
    let done = zlab(&["run", "--quiet", &file]).expect(0);
    assert!(
        done.lines().contains(&"    exec started".to_string()),
        "{done:?}"
    );
    assert_no_sleep_left(&mark);
}

/// A zlab killed with SIGKILL while a `zpull --exec` node runs its command leaves
/// neither behind: the watchdog kills the command's group too.
#[test]
fn a_killed_zlab_takes_the_exec_commands_of_its_nodes_with_it() {
    let mark = sleep_mark(2);
    let dir = TempDir::new();
    let file = lab_file(&dir, "exec-zlab.lab", &exec_lab(&mark, "40s", ""));
    let mut zlab = run(Bin::Zlab, &["run", "--quiet", &file]).start();
    let deadline = Instant::now() + DEADLINE;
    while sleeping(&mark).is_empty() {
        assert!(Instant::now() < deadline, "the command never started");
        thread::sleep(Duration::from_millis(10));
    }
    zlab.kill();
    zlab.wait_with_deadline(DEADLINE).expect("zlab ended");
    assert_no_sleep_left(&mark);
}

/// A lab whose one node reads `input_file = "PATH"`.
fn input_file_lab(path: &str) -> String {
    format!("name = \"input\"\n\n[[node]]\nname = \"reader\"\nrun = [\"wc\", \"-c\"]\ninput_file = \"{path}\"\n")
}

/// `input_file` must be a regular file: a device would feed zlab or the node
/// without end, a named pipe would block; both are refused with their line before
/// anything runs, by check and run alike.
#[test]
fn an_input_file_that_is_not_a_regular_file_is_refused() {
    let dir = TempDir::new();
    let fifo = dir.path().join("fifo");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(made.success());
    for (path, what) in [
        ("/dev/zero".to_string(), "a device"),
        (fifo.display().to_string(), "a named pipe"),
        (dir.path().display().to_string(), "a directory"),
    ] {
        let file = lab_file(&dir, "input.lab", &input_file_lab(&path));
        for command in ["check", "run"] {
            let error = zlab(&[command, &file]).expect(2).stderr_text();
            assert_eq!(
                error.trim_end(),
                format!("zlab: {file}:3: node 'reader': input_file: {path} is {what}: only a regular file can be a node's input"),
                "{command}"
            );
        }
    }
}

/// An `input_file` is handed to its node as stdin, and may be at most 1 GiB.
#[test]
fn an_input_file_is_given_whole_and_bounded_in_size() {
    let dir = TempDir::new();
    let data = dir.path().join("data");
    std::fs::write(&data, "x".repeat(100_000)).unwrap();
    let text = input_file_lab("data").replace("run = [", "show = true\nrun = [");
    let file = lab_file(&dir, "input.lab", &text);
    let done = zlab(&["run", "--quiet", &file]).expect(0);
    assert!(done.lines().contains(&"    100000".to_string()), "{done:?}");
    // Sparse: it takes no room on disk.
    std::fs::File::create(&data)
        .unwrap()
        .set_len((1 << 30) + 1)
        .unwrap();
    let error = zlab(&["check", &file]).expect(2).stderr_text();
    assert_eq!(
        error.trim_end(),
        format!(
            "zlab: {file}:3: node 'reader': input_file: {}/data has 1073741825 bytes: at most 1073741824 (1 GiB) are allowed",
            dir.path().display()
        )
    );
}

/// A lab file is read up to 16 MiB: /dev/zero is not read without end.
#[test]
fn a_lab_file_without_end_is_refused() {
    let error = zlab(&["check", "/dev/zero"]).expect(2).stderr_text();
    assert_eq!(
        error.trim_end(),
        "zlab: /dev/zero: the lab file is larger than 16777216 bytes (16 MiB)"
    );
}

/// Ten nodes of 100 replicas each, every one `true`, or one `true` more.
fn processes_lab(extra: bool) -> String {
    let mut text = String::from("name = \"many\"\ntime_limit = \"1m\"\n");
    for n in 0..10 {
        text.push_str(&format!(
            "\n[[node]]\nname = \"n{n}\"\nreplicas = 100\nrun = [\"true\"]\n"
        ));
    }
    if extra {
        text.push_str("\n[[node]]\nname = \"one-more\"\nrun = [\"true\"]\n");
    }
    text
}

/// A lab runs at most 1000 processes: a lab of 1000 runs, one more is refused,
/// naming the node that goes past the bound.
#[test]
fn a_lab_runs_at_most_a_thousand_processes() {
    let dir = TempDir::new();
    let file = lab_file(&dir, "many.lab", &processes_lab(false));
    let done = zlab(&["run", "--quiet", &file]).expect(0);
    let verdict = done.lines().last().cloned().unwrap_or_default();
    assert!(
        verdict.starts_with("verdict: PASS - 1000 of 1000 expectations held"),
        "{verdict}"
    );
    let file = lab_file(&dir, "more.lab", &processes_lab(true));
    for command in ["check", "run"] {
        let error = zlab(&[command, &file]).expect(2).stderr_text();
        assert_eq!(
            error.trim_end(),
            format!("zlab: {file}:54: node 'one-more': 'replicas' = 1 takes the lab to 1001 processes: at most 1000 are allowed, all nodes' replicas together")
        );
    }
}

/// A chain of 1000 nodes, each connecting to the one before: the worst case for
/// ordering their start. `zlab check` plans it well within the harness deadline.
#[test]
fn a_lab_at_the_process_bound_checks_in_bounded_time() {
    let mut text = String::from("name = \"chain\"\n\n[endpoints]\n");
    for n in 0..1000 {
        text.push_str(&format!("e{n} = {{}}\n"));
    }
    for n in 0..1000 {
        let connect = match n {
            0 => String::new(),
            _ => format!(", \"--connect\", \"{{e{}}}\"", n - 1),
        };
        text.push_str(&format!(
            "\n[[node]]\nname = \"n{n}\"\nrun = [\"zpull\", \"--bind\", \"{{e{n}}}\"{connect}]\n"
        ));
    }
    let dir = TempDir::new();
    let file = lab_file(&dir, "chain.lab", &text);
    let done = zlab(&["check", &file]).expect(0);
    let lines = done.lines();
    assert!(
        lines[1].starts_with("1000 nodes, 1000 processes: n0, n1, "),
        "{lines:?}"
    );
    // Closing the chain into a circle is named as such.
    let circle = text.replace(
        "name = \"n0\"\nrun = [\"zpull\", \"--bind\", \"{e0}\"]",
        "name = \"n0\"\nrun = [\"zpull\", \"--bind\", \"{e0}\", \"--connect\", \"{e999}\"]",
    );
    let file = lab_file(&dir, "circle.lab", &circle);
    let error = zlab(&["check", &file]).expect(2).stderr_text();
    assert!(
        error.contains(": nodes n0, n1, n2, ") && error.contains("wait for each other's endpoints"),
        "{error}"
    );
}

/// THREE_CATS with the subscriber's `--timeout` mistyped.
fn mistyped() -> String {
    THREE_CATS.replace("\"--timeout\", \"5s\"", "\"--timout\", \"5s\"")
}

/// A mistyped option of a zpattern node is named by zlab check, with its node and
/// line, as the binary's own parser words it; zlab run stops at it before starting
/// anything.
#[test]
fn a_mistyped_option_is_named_before_anything_starts() {
    let dir = TempDir::new();
    let file = lab_file(&dir, "typo.lab", &mistyped());
    let expected = format!(
        "zlab: {file}:8: node 'sub': zsub: unexpected argument '--timout' found tip: a similar argument exists: '--timeout' (see zsub --help)"
    );
    let error = zlab(&["check", &file]).expect(2).stderr_text();
    assert_eq!(error.trim_end(), expected);
    let done = zlab(&["run", &file]).expect(2);
    assert_eq!(done.stderr_text().trim_end(), expected, "nothing started");
    assert!(done.lines().is_empty(), "{done:?}");
    // What zlab adds is checked too: a node's own --stats clashes with zlab's.
    let text = THREE_CATS.replace(
        "\"--count\", \"3\"]",
        "\"--count\", \"3\", \"--stats\", \"1s\"]",
    );
    let file = lab_file(&dir, "stats.lab", &text);
    let error = zlab(&["check", &file]).expect(2).stderr_text();
    assert!(
        error.starts_with(&format!(
            "zlab: {file}:5: node 'publisher': zpub: the argument '--stats <DUR>' cannot be used multiple times"
        )),
        "{error}"
    );
    let text = text.replace(
        "name = \"publisher\"",
        "name = \"publisher\"\nstats = false",
    );
    let file = lab_file(&dir, "no-stats.lab", &text);
    zlab(&["check", &file]).expect(0);
}

/// The check mode itself: with ZPATTERN_CHECK_ARGS=1 a binary parses its
/// arguments and exits, binding nothing.
#[test]
fn a_binary_in_check_mode_parses_its_arguments_and_runs_nothing() {
    let check = |bin: &str, args: &[&str]| {
        let mut all = vec!["ZPATTERN_CHECK_ARGS=1", bin];
        all.extend(args);
        program("env", "env", &all).start().finish()
    };
    let zpull = env!("CARGO_BIN_EXE_zpull");
    let done = check(zpull, &["--bind", "tcp://127.0.0.1:*", "--timeout", "1h"]).expect(0);
    assert!(done.stderr_text().is_empty(), "bound nothing: {done:?}");
    let error = check(zpull, &["--bind", "tcp://127.0.0.1:*", "--timout", "1h"])
        .expect(2)
        .stderr_text();
    assert!(
        error.starts_with("zpull: unexpected argument '--timout' found"),
        "{error}"
    );
    assert_eq!(error.lines().count(), 1, "{error}");
}

/// A program that is not found is named with its node's line, with the zpattern
/// binary it nearly names.
#[test]
fn a_program_not_found_is_named_with_its_line() {
    let dir = TempDir::new();
    let text = THREE_CATS.replace("[\"zpub\",", "[\"zpul\",");
    let file = lab_file(&dir, "zpul.lab", &text);
    for command in ["check", "run"] {
        let error = zlab(&[command, &file]).expect(2).stderr_text();
        assert_eq!(
            error.trim_end(),
            format!("zlab: {file}:5: node 'publisher': program 'zpul' not found in PATH (did you mean 'zpub' or 'zpull'?)"),
            "{command}"
        );
    }
}

/// `zlab FILE` says how to run the file.
#[test]
fn a_lab_file_without_a_command_gets_the_command_suggested() {
    let file = patterns().join("reqrep.lab");
    let file = file.to_str().unwrap();
    let error = zlab(&[file]).expect(2).stderr_text();
    assert_eq!(
        error.trim_end(),
        format!("zlab: '{file}' is not a command: to run the lab, zlab run {file}; to check it, zlab check {file} (see zlab --help)")
    );
    let error = zlab(&["frobnicate"]).expect(2).stderr_text();
    assert!(
        error.starts_with("zlab: unrecognized subcommand 'frobnicate'"),
        "{error}"
    );
}

/// `make lab LAB=typo` lists the labs and fails, before building anything.
#[test]
fn make_lab_with_an_unknown_name_lists_the_labs() {
    if !Path::new("/usr/bin/make").exists() {
        println!("SKIPPED: needs make");
        return;
    }
    let manifest = env!("CARGO_MANIFEST_DIR");
    let done = program(
        "make",
        "/usr/bin/make",
        &[
            "--no-print-directory",
            "-C",
            manifest,
            "lab",
            "LAB=no-such-lab",
        ],
    )
    .start()
    .finish()
    .expect(2);
    let error = done.stderr_text();
    let listed = error
        .lines()
        .find_map(|l| {
            l.strip_prefix(
                "make lab: no lab 'no-such-lab' (no patterns/no-such-lab.lab); the labs are: ",
            )
        })
        .unwrap_or_else(|| panic!("{error}"));
    let mut listed: Vec<&str> = listed.split(' ').collect();
    listed.sort_unstable();
    assert_eq!(listed, shipped(), "{error}");
}

/// Without a terminal, the live view prints one short line per event and the
/// totals now and then, never a line per node joined into one: with 21 processes,
/// and a command line of 20 endpoints, no line passes 160 characters.
#[test]
fn the_live_view_without_a_terminal_prints_short_lines() {
    let text = r#"
name = "wide"
time_limit = "30s"
[endpoints]
q = {}
[[node]]
name = "a-worker-with-a-rather-long-name"
replicas = 20
run = ["zpull", "--bind", "{q}", "--timeout", "2s"]
[[node]]
name = "source"
run = ["zpush", "--connect", "{q}", "--data", "x", "--count", "300", "--interval", "5ms"]
"#;
    let dir = TempDir::new();
    let file = lab_file(&dir, "wide.lab", text);
    let done = zlab(&["run", &file]).expect(0);
    let longest = done
        .stderr
        .iter()
        .map(|l| l.chars().count())
        .max()
        .unwrap_or(0);
    assert!(longest <= 160, "a line of {longest}: {:#?}", done.stderr);
    let started = done
        .stderr
        .iter()
        .find(|l| l.contains("source: started"))
        .expect("the source's start");
    assert!(started.ends_with("..."), "cut: {started}");
    let totals = done
        .stderr
        .iter()
        .filter(|l| l.contains("] 21 processes: "))
        .count();
    assert!(totals > 0, "{:#?}", done.stderr);
}
