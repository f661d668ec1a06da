//! `zreq`: see `zreq --help` and the README.

fn main() -> std::process::ExitCode {
    zpattern::cli::main(zpattern::cli::zreq::run)
}
