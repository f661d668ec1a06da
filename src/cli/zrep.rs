//! `zrep`: answer requests by echo, template or command.

use crate::cli::args::{duration_arg, report_bound, require, SocketArgs};
use crate::cli::{Filter, MessageWriter};
use crate::error::{ErrorKind, Result};
use crate::frame::{Format, Message};
use crate::reqrep::Replier;
use crate::stop::Stop;
use clap::Parser;
use std::time::Duration;

/// Answer requests and print each one (the REP side of req/rep).
///
/// Replies with the request itself (echo), with --reply TEMPLATE, or with the output
/// of --exec CMD.
#[derive(Parser, Debug)]
#[command(name = "zrep", version)]
pub struct Args {
    #[command(flatten)]
    #[allow(missing_docs)]
    pub socket: SocketArgs,
    /// Reply with TEMPLATE, where {} stands for the request (in --format), e.g.
    /// 'Stop saying {}'.
    #[arg(short, long, value_name = "TEMPLATE", conflicts_with = "exec")]
    pub reply: Option<String>,
    /// Reply with the output of shell command CMD, run once per request with the
    /// request on its stdin.
    #[arg(short, long, value_name = "CMD")]
    pub exec: Option<String>,
    /// Stop after answering N requests.
    #[arg(short = 'n', long, value_name = "N")]
    pub count: Option<u64>,
    /// Stop when no request arrives for DUR (exit 0; exit 2 if --count is not reached).
    #[arg(short = 'W', long, value_name = "DUR", value_parser = duration_arg)]
    pub timeout: Option<Duration>,
}

/// How a reply is made from a request.
enum Responder {
    Echo,
    Template(String, Format),
    Exec(Filter),
}

impl Responder {
    fn reply_to(&self, request: &Message) -> Result<Message> {
        match self {
            Responder::Echo => Ok(request.clone()),
            Responder::Template(template, format) => {
                let mut record = Vec::new();
                format.encode(request, &mut record);
                let text = String::from_utf8_lossy(record.strip_suffix(b"\n").unwrap_or(&record));
                format
                    .decode(template.replace("{}", &text).as_bytes())
                    .map_err(|e| e.context("--reply"))
            }
            Responder::Exec(filter) => {
                let filtered = filter.run(request)?;
                if let Some(failure) = filtered.failure {
                    note!("zrep: warning: {failure}; replying with its output");
                }
                Ok(filtered.message)
            }
        }
    }
}

/// Run `zrep`.
pub fn run(args: Args, stop: &Stop) -> Result<()> {
    let format = args.socket.format;
    require(
        args.reply.is_none() || format.is_line_based(),
        "--reply needs a line format, not raw",
    )?;
    let responder = match (&args.reply, &args.exec) {
        (Some(template), _) => Responder::Template(template.clone(), format),
        (None, Some(command)) => Responder::Exec(Filter::new(command, format)),
        (None, None) => Responder::Echo,
    };
    let mut writer = MessageWriter::stdout(format)?;
    let mut options = args.socket.options(stop);
    options.recv_timeout = args.timeout;
    let mut replier = Replier::open(options)?;
    report_bound("zrep", &args.socket, replier.endpoints());
    let (counters, _report) = args.socket.reporter("zrep", stop);
    let mut requests = 0;
    let mut handled = 0;
    let served = replier.serve(args.count, |request| {
        // The previous reply went out before this request could be received.
        counters.set_sent(requests);
        requests += 1;
        counters.set_received(requests);
        writer.write(&request)?;
        writer.flush()?;
        let reply = responder.reply_to(&request)?;
        handled += 1;
        Ok(reply)
    });
    match served {
        Ok(answered) => counters.set_sent(answered),
        Err(e) if e.kind() == ErrorKind::Timeout && args.count.is_none() => {
            counters.set_sent(requests)
        }
        Err(e) => {
            // A REP reply does not wait for the peer: every reply made went out.
            counters.set_sent(handled);
            return Err(e);
        }
    }
    replier.close()
}
