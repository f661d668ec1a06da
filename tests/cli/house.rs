//! The command-line tools and the lab runner use only what the library makes
//! public, as any program built on it would: nothing of the private shared layer.

use std::path::Path;

/// The library's private modules: the shared socket layer and the unsafe calls.
const PRIVATE: [&str; 4] = [
    "crate::sys",
    "crate::socket",
    "crate::monitor",
    "crate::role",
];

fn sources(dir: &Path, found: &mut Vec<(String, String)>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            sources(&path, found);
        } else if path.extension().is_some_and(|e| e == "rs") {
            let text = std::fs::read_to_string(&path).unwrap();
            found.push((path.display().to_string(), text));
        }
    }
}

#[test]
fn the_tools_and_the_lab_use_only_the_public_library() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    sources(&root.join("cli"), &mut files);
    sources(&root.join("lab"), &mut files);
    assert!(files.len() > 20, "{} files", files.len());
    let mut reaching = Vec::new();
    for (path, text) in &files {
        for (n, line) in text.lines().enumerate() {
            if PRIVATE.iter().any(|private| line.contains(private)) {
                reaching.push(format!("{path}:{}: {}", n + 1, line.trim()));
            }
        }
    }
    assert!(reaching.is_empty(), "{reaching:#?}");
}
