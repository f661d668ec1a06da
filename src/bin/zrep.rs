//! `zrep`: see `zrep --help` and the README.

fn main() -> std::process::ExitCode {
    zpattern::cli::main(zpattern::cli::zrep::run)
}
