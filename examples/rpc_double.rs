//! Remote procedure call "double" over request/reply.
//!
//! Seed program: the xmlrpc and msgpack-rpc servers of the Python concurrency notes,
//! exposing `double(num)`, and their clients printing `Double %s is %s`, both sides
//! in one process.
//!
//! A call is a multipart request, the method name then its argument: `["double", "7"]`.
//! The reply is the result, `["14"]`, or an error, `["error", "<what went wrong>"]`, for
//! an unknown method, a missing argument or an argument that is not a number.
//!
//! ```text
//!   client (main thread)                        server thread
//!  +--------------------+  ["double", "7"]     +--------------------+
//!  |  Requester         | -------------------> |  Replier           |
//!  |  REQ               | <------------------- |  REP               |
//!  |  connect           |  ["14"] or           |  bind 127.0.0.1:*  |
//!  +--------------------+  ["error", "..."]    +--------------------+
//! ```
//!
//! Run: `cargo run --example rpc_double`

use std::time::Duration;
use zpattern::{Message, Options, Replier, Requester};

const TIMEOUT: Duration = Duration::from_secs(5);

/// The calls the client makes: the seed's two, then one that fails.
const CALLS: [(&str, &str); 3] = [("double", "7"), ("double", "8"), ("double", "seven")];

/// The function the server exposes.
fn double(num: i64) -> Option<i64> {
    num.checked_mul(2)
}

/// Dispatch one call: `Ok(result)` or `Err(error text)`.
fn dispatch(request: &Message) -> Result<String, String> {
    let text = |i: usize| request.frames().get(i).map(|f| String::from_utf8_lossy(f));
    let method = text(0).unwrap_or_default();
    let arg = text(1).ok_or_else(|| format!("{method}: missing argument"))?;
    match method.as_ref() {
        "double" => {
            let num: i64 = arg.parse().map_err(|_| format!("not a number: {arg}"))?;
            double(num)
                .map(|n| n.to_string())
                .ok_or_else(|| format!("{num} doubled overflows"))
        }
        _ => Err(format!("unknown method: {method}")),
    }
}

/// Call `method(arg)` on the server: `Ok(Ok(result))`, `Ok(Err(error))` for an error
/// reply, `Err` if the network failed.
fn call(
    client: &mut Requester,
    method: &str,
    arg: &str,
) -> zpattern::Result<Result<String, String>> {
    let reply = client.request(Message::from_frames([method, arg])?)?;
    let frames: Vec<String> = reply
        .frames()
        .iter()
        .map(|f| String::from_utf8_lossy(f).into_owned())
        .collect();
    Ok(match frames.as_slice() {
        [result] => Ok(result.clone()),
        [status, error] if status == "error" => Err(error.clone()),
        _ => Err(format!("malformed reply: {frames:?}")),
    })
}

fn main() -> Result<(), zpattern::Error> {
    let mut server = Replier::open(
        Options::new()
            .bind("tcp://127.0.0.1:*")
            .recv_timeout(TIMEOUT),
    )?;
    let endpoint = server.endpoints()[0].to_string();

    let serving = std::thread::spawn(move || -> Result<(), zpattern::Error> {
        // The seed's server runs forever; this one answers the client's calls.
        server.serve(Some(CALLS.len() as u64), |request| {
            Ok(match dispatch(&request) {
                Ok(result) => Message::new(result),
                // An application error is a reply like any other, not a failed serve.
                Err(error) => Message::with_topic("error", error),
            })
        })?;
        server.close()
    });

    let mut client = Requester::open(Options::new().connect(&endpoint).recv_timeout(TIMEOUT))?;
    for (method, num) in CALLS {
        match call(&mut client, method, num)? {
            Ok(result) => println!("Double {num} is {result}"),
            Err(error) => println!("{method}({num}) failed: {error}"),
        }
    }

    serving
        .join()
        .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
}
