//! zpush's and zpull's job done the way a user of the pure-Rust `zeromq` crate
//! would write it; `make bench` times it beside the zpattern binaries on the same
//! input, as it does `benches/pyzmq_pipe.py`.
//!
//! ```text
//! zeromq_pipe pull ENDPOINT COUNT > out   bind, write COUNT messages, one per line
//! zeromq_pipe push ENDPOINT < lines       connect, send each stdin line as a message
//! ```
//!
//! The puller prints `zeromq_pipe: bound ENDPOINT` on stderr once bound, as the
//! zpattern binaries do, and gives up after 30 s without a message.
//!
//! The crate has no linger: `PushSocket::close` drops what is still queued (on this
//! machine 178,852 of 200,000 lines arrived when the pusher closed at the end of its
//! input), and its monitor reports no disconnect of a PUSH peer until the next send.
//! So the pusher, once its input is sent, holds on for 30 s before closing, and
//! `make bench` stops it as soon as the puller has every message: the clock stops
//! when the puller exits, which spares this side the delivery-confirming close
//! zpattern's side pays for.

use std::error::Error;
use std::io::{BufRead, BufWriter, Write};
use std::time::Duration;
use zeromq::{PullSocket, PushSocket, Socket, SocketRecv, SocketSend, ZmqMessage};

type Result<T> = std::result::Result<T, Box<dyn Error>>;

const IDLE: Duration = Duration::from_secs(30);

async fn pull(endpoint: &str, count: u64) -> Result<()> {
    let mut socket = PullSocket::new();
    // The crate takes port 0, not `*`, for an ephemeral port.
    let bound = socket.bind(&endpoint.replace(":*", ":0")).await?;
    eprintln!("zeromq_pipe: bound {bound}");
    let mut out = BufWriter::with_capacity(64 * 1024, std::io::stdout().lock());
    for _ in 0..count {
        let message = tokio::time::timeout(IDLE, socket.recv()).await??;
        for frame in message.iter() {
            out.write_all(frame)?;
        }
        out.write_all(b"\n")?;
    }
    out.flush()?;
    socket.close().await;
    Ok(())
}

async fn push(endpoint: &str) -> Result<()> {
    let mut socket = PushSocket::new();
    socket.connect(endpoint).await?;
    let mut input = std::io::stdin().lock();
    let mut line = Vec::new();
    loop {
        line.clear();
        if input.read_until(b'\n', &mut line)? == 0 {
            break;
        }
        while matches!(line.last(), Some(b'\n' | b'\r')) {
            line.pop();
        }
        if !line.is_empty() {
            socket.send(ZmqMessage::from(line.clone())).await?;
        }
    }
    tokio::time::sleep(IDLE).await;
    socket.close().await;
    Ok(())
}

#[tokio::main]
async fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.as_slice() {
        [role, endpoint, count] if role == "pull" => pull(endpoint, count.parse()?).await,
        [role, endpoint] if role == "push" => push(endpoint).await,
        _ => Err("usage: zeromq_pipe pull ENDPOINT COUNT | zeromq_pipe push ENDPOINT".into()),
    }
}
