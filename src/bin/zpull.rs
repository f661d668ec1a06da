//! `zpull`: see `zpull --help` and the README.

fn main() -> std::process::ExitCode {
    zpattern::cli::main(zpattern::cli::zpull::run)
}
