//! The fuzz corpus in `tests/corpus/`: hand-picked inputs that reach the corners of
//! each decoder (escapes cut short, odd hex, deep or ill-typed JSON, headers of
//! every wrong shape). Every file goes through every decoder, none may panic, and
//! whatever decodes in a binary-safe format reads back the same after encoding; a
//! structured JSON strategy reaches the JSON decoder's inner paths, which random
//! text rarely does. A failing case found by proptest belongs in the corpus.

use super::{Format, Frame, Header, Message};
use proptest::collection::vec;
use proptest::prelude::*;
use std::path::PathBuf;

fn corpus() -> Vec<(String, Vec<u8>)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/corpus");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| entry.expect("a corpus entry").path())
        .collect();
    files.sort();
    files
        .into_iter()
        .map(|path| {
            let bytes = std::fs::read(&path).expect("a readable corpus file");
            (path.display().to_string(), bytes)
        })
        .collect()
}

/// Decode `bytes` in every format; a binary-safe format must read back what it
/// writes of any message it decoded.
fn through_every_decoder(bytes: &[u8]) -> Result<(), String> {
    for format in Format::ALL {
        let Ok(msg) = format.decode(bytes) else {
            continue;
        };
        if matches!(format, Format::Escaped | Format::Hex | Format::Json) {
            let mut record = Vec::new();
            format.encode(&msg, &mut record);
            let record = record.strip_suffix(b"\n").unwrap_or(&record);
            if format.decode(record).ok().as_ref() != Some(&msg) {
                return Err(format!("{format} does not read back {msg:?}"));
            }
        }
    }
    if let Ok(header) = Header::decode(bytes) {
        if header.encode().as_slice() != bytes {
            return Err(format!("header {header:?} does not encode back"));
        }
    }
    let mut msg = Message::new("payload");
    msg.push(Frame::from(bytes));
    let _ = msg.pop_header();
    Ok(())
}

#[test]
fn every_corpus_file_goes_through_every_decoder() {
    let corpus = corpus();
    assert!(corpus.len() >= 20, "the corpus is missing");
    for (name, bytes) in corpus {
        if let Err(e) = through_every_decoder(&bytes) {
            panic!("{name}: {e}");
        }
    }
}

/// JSON values shaped like messages, and wrong in every way a peer or a user can
/// make them wrong.
fn json_value() -> impl Strategy<Value = String> {
    let leaf = prop_oneof![
        "[a-z\\\\\"\\t\u{e9}]{0,8}".prop_map(|s| serde_json::Value::String(s).to_string()),
        "[0-9a-fA-FxZ]{0,9}".prop_map(|h| format!("{{\"hex\":\"{h}\"}}")),
        Just("null".to_string()),
        Just("true".to_string()),
        any::<i64>().prop_map(|n| n.to_string()),
        Just("\"\\ud800\"".to_string()),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            vec(inner.clone(), 0..4).prop_map(|items| format!("[{}]", items.join(","))),
            vec(inner, 0..4).prop_map(|items| format!("{{\"frames\":[{}]}}", items.join(","))),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn no_json_shaped_record_makes_a_decoder_panic(json in json_value()) {
        prop_assert_eq!(through_every_decoder(json.as_bytes()), Ok(()));
    }
}
