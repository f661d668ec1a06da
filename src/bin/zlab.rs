//! `zlab`: run a scripted lab of zpattern nodes and report its verdict.
fn main() -> std::process::ExitCode {
    zpattern::cli::zlab::main()
}
