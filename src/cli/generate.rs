//! Shell completions and man pages, generated from a binary's own clap definition:
//! `NAME --generate completions-bash|completions-zsh|completions-fish|man` writes
//! one to stdout and exits, before anything else runs. The option is hidden (it is
//! for packagers and `make install`, not for using the tools), and must come first.

use crate::error::ErrorKind;
use clap_complete::Shell;
use std::ffi::OsString;
use std::io::Write;

/// The option that asks for a completion script or a man page.
pub const GENERATE: &str = "--generate";

/// What `--generate` can write.
const KINDS: &str = "completions-bash, completions-zsh, completions-fish, man";

/// If the command line is `NAME --generate KIND` (or `--generate=KIND`), write what
/// KIND asks for, for `command`, to stdout and return the exit code: 0, or 2 for an
/// unknown KIND (1 if stdout fails; a closed stdout is a normal end).
pub fn if_asked(command: clap::Command, args: &[OsString]) -> Option<u8> {
    let first = args.get(1)?.to_str()?;
    let kind = match first.strip_prefix(GENERATE)? {
        "" => args.get(2).and_then(|k| k.to_str()).unwrap_or(""),
        rest => rest.strip_prefix('=')?,
    };
    let name = command.get_name().to_string();
    let mut out = Vec::new();
    if let Err(unknown) = generate(command, kind, &mut out) {
        note!("{name}: {unknown} (one of: {KINDS})");
        return Some(ErrorKind::Usage.exit_code());
    }
    let mut stdout = std::io::stdout().lock();
    match stdout.write_all(&out).and_then(|()| stdout.flush()) {
        Ok(()) => Some(0),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Some(0),
        Err(e) => {
            note!("{name}: cannot write to stdout: {e}");
            Some(ErrorKind::Io.exit_code())
        }
    }
}

/// Write `kind` for `command` into `out`; an unknown kind is an error naming it.
fn generate(mut command: clap::Command, kind: &str, out: &mut Vec<u8>) -> Result<(), String> {
    let shell = match kind {
        "man" => {
            return man_page(command, out).map_err(|e| format!("cannot render the man page: {e}"))
        }
        "completions-bash" => Shell::Bash,
        "completions-zsh" => Shell::Zsh,
        "completions-fish" => Shell::Fish,
        "" => return Err(format!("{GENERATE} needs what to generate")),
        other => return Err(format!("{GENERATE}: unknown kind '{other}'")),
    };
    let name = command.get_name().to_string();
    clap_complete::generate(shell, &mut command, name, out);
    Ok(())
}

/// The man page of `command`. A command with subcommands (`zlab`) gets one page
/// for all: each subcommand's synopsis, description and options in a section of
/// its own, rather than references to pages that nothing installs.
fn man_page(command: clap::Command, out: &mut Vec<u8>) -> std::io::Result<()> {
    let subcommands: Vec<clap::Command> = command
        .get_subcommands()
        .filter(|sub| sub.get_name() != "help")
        .cloned()
        .collect();
    let man = clap_mangen::Man::new(command.clone());
    if subcommands.is_empty() {
        return man.render(out);
    }
    man.render_title(out)?;
    man.render_name_section(out)?;
    man.render_synopsis_section(out)?;
    man.render_description_section(out)?;
    man.render_options_section(out)?;
    let name = command.get_name();
    for sub in subcommands {
        let full = format!("{name} {}", sub.get_name());
        let sub = clap_mangen::Man::new(sub.bin_name(&full));
        let mut section = Vec::new();
        sub.render_synopsis_section(&mut section)?;
        sub.render_description_section(&mut section)?;
        sub.render_options_section(&mut section)?;
        let section = String::from_utf8_lossy(&section)
            .replace(
                ".SH SYNOPSIS\n",
                &format!(".SH \"{}\"\n", full.to_uppercase()),
            )
            .replace(".SH DESCRIPTION\n", ".PP\n")
            .replace(".SH OPTIONS\n", &format!(".SS \"{full} options\"\n"));
        out.extend_from_slice(section.as_bytes());
    }
    man.render_version_section(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    /// A small command line.
    #[derive(Parser)]
    #[command(name = "zdemo", version)]
    struct Demo {
        /// Where to bind.
        #[arg(long)]
        bind: Vec<String>,
    }

    fn made(kind: &str) -> Result<String, String> {
        let mut out = Vec::new();
        generate(<Demo as clap::CommandFactory>::command(), kind, &mut out)?;
        Ok(String::from_utf8(out).unwrap())
    }

    #[test]
    fn each_kind_names_the_binary_and_its_options() {
        assert!(made("completions-bash").unwrap().contains("--bind"));
        assert!(made("completions-zsh")
            .unwrap()
            .starts_with("#compdef zdemo"));
        assert!(made("completions-fish")
            .unwrap()
            .contains("complete -c zdemo"));
        let man = made("man").unwrap();
        assert!(man.contains(".TH zdemo 1"), "{man}");
        assert!(man.contains("Where to bind"), "{man}");
        assert_eq!(made("pdf").unwrap_err(), "--generate: unknown kind 'pdf'");
    }

    #[test]
    fn subcommands_are_sections_of_one_page() {
        #[derive(Parser)]
        #[command(name = "zdemo", version)]
        enum Lab {
            /// Run one.
            Run {
                /// Print JSON.
                #[arg(long)]
                json: bool,
            },
        }
        let mut out = Vec::new();
        generate(<Lab as clap::CommandFactory>::command(), "man", &mut out).unwrap();
        let man = String::from_utf8(out).unwrap();
        assert!(man.contains(".SH \"ZDEMO RUN\""), "{man}");
        assert!(man.contains("Print JSON"), "{man}");
        assert!(!man.contains("zdemo\\-run(1)"), "{man}");
    }

    #[test]
    fn only_a_first_argument_asks() {
        let args = |list: &[&str]| list.iter().map(OsString::from).collect::<Vec<_>>();
        let command = || <Demo as clap::CommandFactory>::command();
        assert_eq!(if_asked(command(), &args(&["zdemo", "--bind", "x"])), None);
        assert_eq!(
            if_asked(command(), &args(&["zdemo", "--bind", "--generate"])),
            None
        );
        assert_eq!(if_asked(command(), &args(&["zdemo", "--generated"])), None);
        assert_eq!(
            if_asked(command(), &args(&["zdemo", "--generate", "pdf"])),
            Some(2)
        );
        assert_eq!(
            if_asked(command(), &args(&["zdemo", "--generate=pdf"])),
            Some(2)
        );
    }
}
