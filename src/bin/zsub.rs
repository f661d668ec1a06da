//! `zsub`: see `zsub --help` and the README.

fn main() -> std::process::ExitCode {
    zpattern::cli::main(zpattern::cli::zsub::run)
}
