//! `zpub`: see `zpub --help` and the README.

fn main() -> std::process::ExitCode {
    zpattern::cli::main(zpattern::cli::zpub::run)
}
