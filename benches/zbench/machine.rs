//! What the figures were measured on, for the head of the report: the date, the CPU,
//! memory, kernel, compiler and library versions.

use std::process::Command;

/// One line per fact, as markdown list items.
pub fn describe() -> Vec<String> {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let cpu = field(&cpuinfo, "model name").unwrap_or_else(|| "unknown".into());
    let cores = cpuinfo
        .lines()
        .filter(|l| l.starts_with("processor"))
        .count();
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let memory = field(&meminfo, "MemTotal").unwrap_or_else(|| "unknown".into());
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .map(|k| k.trim().to_string())
        .unwrap_or_else(|_| "unknown".into());
    let (major, minor, patch) = zmq::version();
    vec![
        format!("date: {}", output("date", &["-u", "+%Y-%m-%d %H:%M UTC"])),
        format!("CPU: {cpu}, {cores} logical cores"),
        format!("memory: {memory}"),
        format!("kernel: Linux {kernel}"),
        format!(
            "load average at the start (1, 5, 15 min): {}",
            load_average()
        ),
        format!("compiler: {}", output("rustc", &["--version"])),
        format!("libzmq (zpattern and raw sides): {major}.{minor}.{patch}, vendored"),
        format!(
            "pyzmq: {}",
            output(
                "python3",
                &[
                    "-c",
                    "import zmq; print(zmq.__version__, 'on libzmq', zmq.zmq_version())"
                ]
            )
        ),
    ]
}

/// The 1, 5 and 15 minute load averages: how busy the machine was around the run.
pub fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "unknown".into())
}

/// The value of the first `name: value` line of a /proc file.
fn field(text: &str, name: &str) -> Option<String> {
    text.lines()
        .filter_map(|line| line.split_once(':'))
        .find(|(key, _)| key.trim() == name)
        .map(|(_, value)| value.trim().to_string())
}

/// The first line `program args` prints, or `unavailable`.
fn output(program: &str, args: &[&str]) -> String {
    Command::new(program)
        .args(args)
        .output()
        .ok()
        .filter(|out| out.status.success())
        .and_then(|out| {
            let text = String::from_utf8_lossy(&out.stdout).into_owned();
            text.lines().next().map(str::to_string)
        })
        .unwrap_or_else(|| "unavailable".into())
}
