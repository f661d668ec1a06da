//! `zkeygen`: see `zkeygen --help` and `zpattern::security`.

fn main() -> std::process::ExitCode {
    zpattern::cli::main(zpattern::cli::zkeygen::run)
}
