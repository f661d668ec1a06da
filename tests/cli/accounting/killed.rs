//! Workers killed mid-batch: what is lost is what had been dealt to the dead worker
//! and not passed on (its queues, the kernel buffers to it, the pusher's queue for
//! it); the pusher cannot see which items (over TCP it may not see the loss at all:
//! the victim's kernel acknowledged what its process never read), and the sink
//! names exactly those items missing.
//!
//! A victim is hung with SIGSTOP first, so that its share of the batch waits in its
//! buffers deterministically, then killed with SIGKILL.

use super::{
    bound_worker, expand, items, lines, numbers, report, sink, stage, stop, wait_for_connections,
};
use crate::support::{run, Bin, Proc, ANY, DEADLINE};
use std::collections::BTreeSet;
use std::time::{Duration, Instant};

/// Hang `proc` with SIGSTOP and wait (up to [`DEADLINE`]) until every one of its
/// threads has stopped. `kill` returns before that: on a loaded machine, threads
/// other than the one that takes the signal can go on running (and forwarding)
/// until the group stop reaches them.
fn hang(proc: &Proc) {
    proc.signal(libc::SIGSTOP);
    let tasks = format!("/proc/{}/task", proc.id());
    let deadline = Instant::now() + DEADLINE;
    while !all_stopped(&tasks) {
        assert!(Instant::now() < deadline, "{tasks} did not stop");
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// Whether every thread under `/proc/PID/task` is stopped (state `T`).
fn all_stopped(tasks: &str) -> bool {
    let Ok(entries) = std::fs::read_dir(tasks) else {
        return false;
    };
    entries.flatten().all(|task| {
        let stat = std::fs::read_to_string(task.path().join("stat")).unwrap_or_default();
        // The state follows the command name, which is in parentheses.
        let state = stat
            .rsplit(')')
            .next()
            .unwrap_or("")
            .split_whitespace()
            .next();
        state == Some("T")
    })
}

#[test]
fn a_worker_killed_mid_batch_leaves_exactly_its_items_missing() {
    // The sink gives up 3 s after the last arrival: long enough for the survivor
    // on a loaded machine, since what it forwards must not be reported missing.
    let (mut sink, sink_ep) = sink("3s");
    let (mut source, source_ep) = run(Bin::Zpush, &["--bind", ANY, "--header", "--pullers", "2"])
        .stdin_piped()
        .bound();
    let survivor = super::worker(&source_ep, &sink_ep);
    let victim = super::worker(&source_ep, &sink_ep);
    let all = items(200);
    // One item each: once both reached the sink, both workers are up and working.
    source.write_stdin(format!("{}\n{}\n", all[0], all[1]).as_bytes());
    lines(&mut sink, 2);
    hang(&victim);
    source.write_stdin((all[2..].join("\n") + "\n").as_bytes());
    source.close_stdin();
    // Round-robin deals the other 198 items in turn: once the survivor's 99 are in,
    // the victim's share waits in its buffers. Kill it with the batch unfinished.
    lines(&mut sink, 99);
    victim.signal(libc::SIGKILL);

    let out = sink.finish().expect(3);
    let report = report(&out);
    let batch = &report["batches"][0];
    assert_eq!(report["verdict"], "incomplete", "{report}");
    assert_eq!(batch["expected"], 200, "{report}");
    assert_eq!(batch["duplicates"], 0, "{report}");
    let missing = expand(&batch["missing_ranges"]);
    let arrived = numbers(&out.lines());
    let everything: BTreeSet<u64> = (0..200).collect();
    // Exactly what did not arrive is reported missing, nothing more or less.
    assert_eq!(missing, &everything - &arrived);
    assert_eq!(batch["missing"], missing.len());
    let survived = numbers(&stop(survivor));
    assert!(
        missing.len() >= 98,
        "the victim's share is missing: {missing:?}; the survivor had {survived:?}; {report}"
    );
    assert!(missing.is_disjoint(&survived));
    let verdict = format!(
        "zpull: batch incomplete: 1 of 1 batches seen, {} items missing",
        missing.len()
    );
    assert!(out.errors().contains(&verdict.as_str()), "{out:?}");
    dealt_to_the_victim(source.finish());
}

/// How a pusher that dealt to the victim ends. It cannot see which items were
/// lost (PUSH/PULL has no acknowledgements). Over TCP the victim's kernel
/// acknowledged what it received, though the hung victim never read it: the pusher
/// counts that as delivered and may have ended as usual before the victim died (0).
/// If it was still running, it says that messages were in flight when the victim's
/// connection closed (3); if it gave up waiting for the hung victim first, that
/// bytes were left unread (2). Either way the sink names every missing item.
fn dealt_to_the_victim(pushed: crate::support::Finished) {
    let text = pushed.stderr_text();
    match pushed.code {
        Some(0) => {}
        Some(3) => assert!(
            text.contains("closed with messages in flight"),
            "{pushed:?}"
        ),
        Some(2) => assert!(text.contains("still unread by peers"), "{pushed:?}"),
        _ => panic!("{pushed:?}"),
    }
}

#[test]
fn a_worker_killed_under_a_connecting_source_loses_only_what_reached_no_other() {
    let (mut sink, sink_ep) = sink("3s");
    let (survivor, survivor_ep) = bound_worker(&[&sink_ep], &[]);
    let (victim, victim_ep) = bound_worker(&[&sink_ep], &[]);
    // zpush --connect waits until both workers are connected before its first send.
    let mut source = run(
        Bin::Zpush,
        &[
            "--connect",
            &survivor_ep,
            "--connect",
            &victim_ep,
            "--header",
        ],
    )
    .stdin_piped()
    .start();
    let all = items(300);
    source.write_stdin(format!("{}\n{}\n", all[0], all[1]).as_bytes());
    lines(&mut sink, 2);
    // Hung, the victim keeps its connection: zpush goes on dealing it every other
    // item, which waits in the buffers to it.
    hang(&victim);
    source.write_stdin((all[2..200].join("\n") + "\n").as_bytes());
    lines(&mut sink, 99);
    victim.signal(libc::SIGKILL);
    let victim_printed = numbers(&victim.finish().lines());
    // After the death, zpush deals only to the survivor (a few items may still go
    // to the dead connection before zpush sees it close: lost, and reported).
    source.write_stdin((all[200..].join("\n") + "\n").as_bytes());
    source.close_stdin();

    let out = sink.finish().expect(3);
    let report = report(&out);
    let batch = &report["batches"][0];
    assert_eq!(
        report["verdict"], "incomplete",
        "no false complete: {report}"
    );
    assert_eq!(batch["expected"], 300, "{report}");
    assert_eq!(batch["duplicates"], 0, "{report}");
    let missing = expand(&batch["missing_ranges"]);
    let arrived = numbers(&out.lines());
    let everything: BTreeSet<u64> = (0..300).collect();
    assert_eq!(missing, &everything - &arrived);
    let survived = numbers(&stop(survivor));
    // Missing is exactly what reached no worker that passed it on: the survivor
    // forwarded all it handled, the victim only what it handled before it hung.
    assert_eq!(victim_printed.len(), 1, "{victim_printed:?}");
    let forwarded: BTreeSet<u64> = survived.union(&victim_printed).copied().collect();
    assert_eq!(missing, &everything - &forwarded);
    assert!(missing.len() >= 99, "the victim's share: {missing:?}");
    let after: BTreeSet<u64> = (200..300).collect();
    let kept_working = survived.intersection(&after).count();
    assert!(kept_working >= 50, "the survivor got {kept_working} of 100");
    dealt_to_the_victim(source.finish());
}

#[test]
fn a_resize_worker_killed_leaves_missing_exactly_what_no_upload_worker_handled() {
    // patterns/three-stage-kill.lab at a smaller scale: download -> resize ->
    // upload, two workers each, resize worker 1 hung, then killed.
    let (mut sink, sink_ep) = sink("3s");
    let (upload, upload_eps) = stage(&[&sink_ep], &[]);
    let (mut resize, resize_eps) = stage(&[&upload_eps[0], &upload_eps[1]], &[]);
    let (mut download, download_eps) = stage(&[&resize_eps[0], &resize_eps[1]], &[]);
    // Every worker connected to every worker of the next stage, so that each
    // download worker deals to the victim.
    for endpoint in resize_eps.iter().chain(&upload_eps) {
        wait_for_connections(endpoint, 2);
    }
    wait_for_connections(&sink_ep, 2);
    let mut source = run(
        Bin::Zpush,
        &[
            "--connect",
            &download_eps[0],
            "--connect",
            &download_eps[1],
            "--header",
        ],
    )
    .stdin_piped()
    .start();
    let all = items(200);
    source.write_stdin((all[..4].join("\n") + "\n").as_bytes());
    lines(&mut sink, 4);
    let victim = resize.remove(1);
    hang(&victim);
    source.write_stdin((all[4..].join("\n") + "\n").as_bytes());
    source.close_stdin();
    // Once the download workers have handled every item, the victim's share has
    // been dealt to it.
    for worker in &mut download {
        lines(worker, 100);
    }
    victim.signal(libc::SIGKILL);

    let out = sink.finish().expect(3);
    let report = report(&out);
    let batch = &report["batches"][0];
    assert_eq!(report["verdict"], "incomplete", "{report}");
    assert_eq!(batch["expected"], 200, "{report}");
    let missing = expand(&batch["missing_ranges"]);
    let uploaded: BTreeSet<u64> = upload.into_iter().flat_map(|w| numbers(&stop(w))).collect();
    let everything: BTreeSet<u64> = (0..200).collect();
    // The sink's list of missing items is exactly what no upload worker handled.
    assert_eq!(missing, &everything - &uploaded);
    assert_eq!(uploaded, numbers(&out.lines()));
    assert!(!missing.is_empty(), "the victim held nothing: {report}");
    // What the resize workers forwarded is what the upload workers handled: the
    // survivor forwarded all it handled, the victim what it had before it hung.
    let mut resized = numbers(&victim.finish().lines());
    resized.extend(resize.into_iter().flat_map(|w| numbers(&stop(w))));
    assert_eq!(resized, uploaded);
    // The download workers dealt to the victim (interrupted: 130; or 3 if one saw
    // the victim's connection close with messages in flight).
    for worker in download {
        worker.terminate();
        let out = worker.finish();
        assert_eq!(out.lines().len(), 100);
        if out.code != Some(130) {
            dealt_to_the_victim(out);
        }
    }
    source.finish().expect(0);
}
