//! `zrep`: answer requests by echo, template or command.

use crate::cli::args::{timeout_arg, SocketArgs};
use crate::cli::context::{Reporting, Reports, Run};
use crate::cli::template::TemplateArgs;
use crate::cli::{Filter, MessageWriter};
use crate::error::{Error, ErrorKind, Result};
use crate::frame::{Format, Limits, Message};
use crate::reqrep::Replier;
use clap::Parser;
use std::time::Duration;

/// Answer requests and print each one (the REP side of req/rep).
///
/// Replies with the request itself (echo), with --reply TEMPLATE, or with the output
/// of --exec CMD. Prints each request in --format, or as --template says.
#[derive(Parser, Debug)]
#[command(name = "zrep", version)]
pub struct Args {
    #[command(flatten)]
    #[allow(missing_docs)]
    pub socket: SocketArgs,
    /// Reply with TEMPLATE, where {} stands for the request's frames joined by TAB
    /// (as bytes, whatever --format), e.g. 'Stop saying {}'; a TAB in the result
    /// separates reply frames.
    #[arg(short, long, value_name = "TEMPLATE", conflicts_with = "exec")]
    pub reply: Option<String>,
    /// Reply with the output of shell command CMD, run once per request with the
    /// request on its stdin (both in --format).
    #[arg(short, long, value_name = "CMD")]
    pub exec: Option<String>,
    /// Stop after answering N requests.
    #[arg(short = 'n', long, value_name = "N")]
    pub count: Option<u64>,
    /// Stop when no request arrives for DUR (exit 0; exit 2 if --count is not reached).
    #[arg(short = 'W', long, value_name = "DUR", value_parser = timeout_arg)]
    pub timeout: Option<Duration>,
    /// The requests it prints.
    #[command(flatten)]
    pub output: TemplateArgs,
}

/// How a reply is made from a request.
enum Responder {
    Echo,
    Template(Vec<u8>, Limits),
    Exec(Filter),
}

impl Responder {
    fn reply_to(&self, request: &Message, run: &Run) -> Result<Message> {
        match self {
            Responder::Echo => Ok(request.clone()),
            Responder::Template(template, limits) => fill(template, request, limits),
            Responder::Exec(filter) => {
                let filtered = filter.run(request)?;
                if let Some(failure) = filtered.failure {
                    run.warn(format_args!("{failure}; replying with its output"));
                }
                Ok(filtered.message)
            }
        }
    }
}

/// `template` with every `{}` replaced by the request's frames joined by TAB, split
/// into frames at each TAB. Bytes throughout: a request that is not UTF-8 comes
/// back as it came. A reply that would break `limits` (more bytes in all than the
/// largest frame allowed, or more frames) is refused before it is built: a request's
/// TABs and size decide the reply's, and must not make it unbounded.
fn fill(template: &[u8], request: &Message, limits: &Limits) -> Result<Message> {
    let mut joined = Vec::new();
    Format::Text.encode(request, &mut joined);
    joined.pop(); // the newline
    let holes = template.windows(2).filter(|w| *w == b"{}").count();
    let tabs = |bytes: &[u8]| memchr::memchr_iter(b'\t', bytes).count();
    let size = template.len() - 2 * holes + holes * joined.len();
    let frames = 1 + tabs(template) + holes * tabs(&joined);
    if size > limits.max_message_size || frames > limits.max_frames {
        return Err(Error::protocol(format!(
            "dropped a request: its reply would be {size} bytes in {frames} frames, over the limits ({} bytes, {} frames)",
            limits.max_message_size, limits.max_frames
        )));
    }
    let mut reply = Vec::with_capacity(size);
    let mut rest = template;
    while let Some(at) = rest.windows(2).position(|w| w == b"{}") {
        reply.extend_from_slice(&rest[..at]);
        reply.extend_from_slice(&joined);
        rest = &rest[at + 2..];
    }
    reply.extend_from_slice(rest);
    Format::Text.decode(&reply)
}

impl Reports for Args {
    fn reporting(&self) -> Reporting {
        self.socket.reporting()
    }
}

/// Run `zrep`.
pub fn run(args: Args, run: &Run) -> Result<()> {
    let format = run.format();
    let limits = Limits {
        max_message_size: args.socket.max_size,
        ..Limits::default()
    };
    let responder = match (&args.reply, &args.exec) {
        (Some(template), _) => Responder::Template(template.clone().into_bytes(), limits),
        (None, Some(command)) => Responder::Exec(run.filter(command)),
        (None, None) => Responder::Echo,
    };
    args.output
        .check(false, "zreq and zrep exchange no batch header")?;
    let mut writer = MessageWriter::stdout(format)?.template(args.output.template.clone());
    let mut replier = Replier::open(args.socket.options(run)?)?;
    run.report_bound(replier.endpoints());
    let counters = run.counters();
    let mut printing = true;
    let mut answered = 0;
    while args.count.is_none_or(|count| answered < count) {
        let request = match replier.recv_request(args.timeout) {
            Ok(request) => request,
            // Dropped unanswered (too many frames, no envelope): go on serving.
            Err(e) if e.kind() == ErrorKind::Protocol => {
                counters.add_skipped();
                run.warn(&e);
                continue;
            }
            Err(e) => return Err(e),
        };
        let Some(request) = request else {
            replier.close()?;
            return no_more_requests(&args, answered);
        };
        counters.set_received(answered + 1);
        // Printing is a side effect: a reader that went away does not stop the
        // answers.
        if printing {
            match writer.write(&request).and_then(|()| writer.flush()) {
                Err(e) if e.kind() == ErrorKind::BrokenPipe => printing = false,
                outcome => outcome?,
            }
        }
        let reply = match responder.reply_to(&request, run) {
            Ok(reply) => reply,
            Err(e) if e.kind() == ErrorKind::Protocol => {
                counters.add_skipped();
                run.warn(&e);
                continue;
            }
            Err(e) => return Err(e),
        };
        replier.reply(reply)?;
        answered += 1;
        counters.set_sent(answered);
    }
    replier.close()
}

/// No request came within --timeout: the end without --count, a timeout with it.
fn no_more_requests(args: &Args, answered: u64) -> Result<()> {
    match (args.count, args.timeout) {
        (Some(count), Some(timeout)) => Err(Error::timeout(format!(
            "answered {answered} of {count} requests; none arrived for {}",
            crate::duration::display(timeout)
        ))),
        _ => Ok(()),
    }
}
