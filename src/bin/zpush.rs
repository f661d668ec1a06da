//! `zpush`: see `zpush --help` and the README.

fn main() -> std::process::ExitCode {
    zpattern::cli::main(zpattern::cli::zpush::run)
}
