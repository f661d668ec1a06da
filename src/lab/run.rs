//! Running a plan: start the nodes in readiness order (a binder's reported endpoint,
//! never a sleep), apply the faults, watch the counts, end when every foreground node
//! has exited, and stop everything that was started on every way out.

use super::addresses::Addresses;
use super::instance::{Arg, Part};
use super::netns::{Network, Setup};
use super::observe::{Observer, Row, RunOptions};
use super::plan::Plan;
use super::process::{Child, Launch, Output};
use super::report::{Outcome, Report};
use super::setup::{ensure_open_files, resolve_programs, shell_words, LabDir};
use super::state::{millis, state_text, Exit, Live};
use super::watchdog::Watchdog;
use crate::cli::lines::flags;
use crate::error::{Error, Result};
use std::os::unix::process::ExitStatusExt;
use std::path::PathBuf;
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How often the observer sees the counts.
const TICK: Duration = Duration::from_millis(250);
/// How long to wait for output streams to end after the processes are gone.
const DRAIN: Duration = Duration::from_secs(2);

impl Plan {
    /// Run the lab and judge it. `Err` only when the lab could not be set up (a
    /// program not found, namespaces required but unavailable); a lab that runs
    /// gives a [`Report`] saying whether every expectation held.
    pub fn run(&self, options: &RunOptions, observer: &mut dyn Observer) -> Result<Report> {
        let programs = resolve_programs(self, options)?;
        super::arguments::check(
            self,
            &programs,
            &crate::duration::display(options.stats_every),
        )?;
        ensure_open_files(self)?;
        let dir = LabDir::create()?;
        super::keys::generate(&dir.0, &self.lab.keys)?;
        let Setup {
            network,
            mut notes,
            skipped,
        } = Network::setup(&self.lab)?;
        for note in &notes {
            observer.note(Duration::ZERO, None, note);
        }
        let watchdog = Arc::new(Watchdog::start()?);
        let mut run = Run::new(self, options, programs, &dir, network, watchdog);
        let outcome = run.drive(observer);
        run.stop_all(observer);
        run.drain();
        observer.tick(run.clock(), &run.rows());
        notes.extend(
            run.network
                .as_ref()
                .map(Network::summary)
                .unwrap_or_default(),
        );
        let elapsed = run.clock();
        Ok(Report::build(
            self, &run.live, outcome, run.events, notes, elapsed, skipped,
        ))
    }
}

/// A started run.
pub(crate) struct Run<'a> {
    pub(super) plan: &'a Plan,
    pub(super) options: &'a RunOptions,
    pub(super) programs: Vec<PathBuf>,
    pub(super) dir: &'a LabDir,
    pub(crate) network: Option<Network>,
    pub(super) watchdog: Arc<Watchdog>,
    pub(crate) live: Vec<Live>,
    pub(super) started: Instant,
    pub(super) up: Option<Duration>,
    pub(super) faults_done: Vec<bool>,
    pub(crate) events: Vec<(Duration, Option<String>, String)>,
    pub(super) sender: Sender<Output>,
    pub(super) receiver: Receiver<Output>,
}

impl<'a> Run<'a> {
    fn new(
        plan: &'a Plan,
        options: &'a RunOptions,
        programs: Vec<PathBuf>,
        dir: &'a LabDir,
        network: Option<Network>,
        watchdog: Arc<Watchdog>,
    ) -> Run<'a> {
        let (sender, receiver) = mpsc::channel();
        Run {
            plan,
            options,
            programs,
            dir,
            network,
            watchdog,
            live: plan.instances.iter().map(|_| Live::default()).collect(),
            started: Instant::now(),
            up: None,
            faults_done: vec![false; plan.lab.faults.len()],
            events: Vec::new(),
            sender,
            receiver,
        }
    }

    pub(super) fn clock(&self) -> Duration {
        self.started.elapsed()
    }

    /// Record an event, and show the observer the states it changed.
    pub(super) fn note(&mut self, observer: &mut dyn Observer, node: Option<usize>, text: String) {
        let at = self.clock();
        let name = node.map(|i| self.plan.instances[i].name.clone());
        observer.note(at, name.as_deref(), &text);
        self.events.push((at, name, text));
        observer.tick(at, &self.rows());
    }

    /// The main loop, until the lab is done, out of time, failed or stopped.
    fn drive(&mut self, observer: &mut dyn Observer) -> Outcome {
        let mut next_tick = Duration::ZERO;
        loop {
            self.take_output(TICK / 5);
            self.reap(observer);
            if let Err(outcome) = self.start_ready(observer) {
                return outcome;
            }
            self.hint_overdue(observer);
            if self.up.is_none() && self.live.iter().all(|l| l.started) {
                self.up = Some(self.clock());
                self.note(observer, None, "every node started".into());
            }
            self.apply_faults(observer);
            if self.clock() >= next_tick {
                observer.tick(self.clock(), &self.rows());
                next_tick = self.clock() + TICK;
            }
            if let Some(outcome) = self.end() {
                return outcome;
            }
        }
    }

    /// Whether the run is over, and how.
    fn end(&self) -> Option<Outcome> {
        if self.options.stop.is_requested() {
            return Some(Outcome::Interrupted);
        }
        if self.clock() >= self.plan.lab.time_limit {
            return Some(Outcome::TimeLimit);
        }
        if let Some(stuck) = self.stuck_binder() {
            return Some(Outcome::Failed(stuck));
        }
        let done = self.up.is_some()
            && (0..self.live.len()).all(|i| {
                let background = self.plan.lab.nodes[self.plan.instances[i].node].background;
                background || (!self.live[i].running() && !self.restart_pending(i))
            });
        done.then_some(Outcome::Completed)
    }

    /// Read output for up to `wait`.
    fn take_output(&mut self, wait: Duration) {
        let deadline = Instant::now() + wait;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.receiver.recv_timeout(left) {
                Ok(output) => self.output(output),
                Err(RecvTimeoutError::Timeout | RecvTimeoutError::Disconnected) => return,
            }
        }
    }

    fn output(&mut self, output: Output) {
        let at = self.clock();
        let live = &mut self.live[output.instance];
        if output.generation != live.generation {
            // A line from an earlier run, still in flight: keep it, without counts.
            if let Some(line) = output.line {
                live.stderr.push(line);
            }
            return;
        }
        let Some(line) = output.line else {
            live.open_streams = live.open_streams.saturating_sub(1);
            return;
        };
        let ready = &self.plan.nodes[self.plan.instances[output.instance].node].ready;
        if ready.as_ref().is_some_and(|r| r.is_match(&line)) {
            live.ready_seen = true;
        }
        if let Some(endpoint) = live.line(output.stream, line, at) {
            let order = bind_order(&self.plan.instances[output.instance].args);
            if let Some(name) = order.get(live.reported() - 1) {
                live.bound.entry(name.clone()).or_insert(endpoint);
            }
        }
    }

    /// Record the instances that exited.
    fn reap(&mut self, observer: &mut dyn Observer) {
        for i in 0..self.live.len() {
            let Some(child) = self.live[i].child.as_mut() else {
                continue;
            };
            let Some(status) = child.try_exit() else {
                continue;
            };
            let exit = match (status.code(), status.signal()) {
                (Some(code), _) => Exit::Code(code),
                (None, signal) => Exit::Signal(signal.unwrap_or(0)),
            };
            let live = &mut self.live[i];
            live.exit = Some(exit);
            live.child = None;
            live.ended_ms = Some(millis(self.started.elapsed()));
            let text = match exit {
                Exit::Code(code) => format!("exited with {code}"),
                Exit::Signal(signal) => format!("ended by signal {signal}"),
            };
            self.note(observer, Some(i), text);
        }
    }

    /// Start (or restart) instance `i`.
    pub(super) fn start(&mut self, i: usize, observer: &mut dyn Observer) -> Result<()> {
        let instance = &self.plan.instances[i];
        let node_plan = &self.plan.nodes[instance.node];
        let node = &self.plan.lab.nodes[instance.node];
        if node_plan.ready.is_some() {
            let chosen = self.addresses().choose(i)?;
            self.live[i].bound.extend(chosen);
        }
        let mut args = self.addresses().args(i);
        if node_plan.binary.is_some() && node.stats {
            args.push(flags::STATS.into());
            args.push(crate::duration::display(self.options.stats_every));
        }
        let netns = self
            .network
            .as_ref()
            .and_then(|n| n.fd(node.host.as_deref()));
        let launch = Launch {
            program: &self.programs[instance.node],
            args: &args[1..],
            input: node_plan.input.as_ref(),
            netns,
            watchdog: &self.watchdog,
            instance: i,
            generation: self.live[i].generation + 1,
        };
        let child = Child::spawn(&launch, &self.sender).map_err(|e| {
            Error::io(
                format!("cannot start node '{}' ({})", instance.name, args[0]),
                e,
            )
        })?;
        let pid = child.id();
        let at = millis(self.clock());
        self.live[i].begin(child, at);
        self.note(
            observer,
            Some(i),
            format!("started (pid {pid}): {}", shell_words(&args)),
        );
        Ok(())
    }

    /// Address lookups as of now.
    fn addresses(&self) -> Addresses<'_> {
        Addresses::new(self.plan, &self.live, self.network.as_ref(), &self.dir.0)
    }

    /// Stop everything still running: SIGTERM to each group, SIGKILL after the
    /// grace period.
    pub(crate) fn stop_all(&mut self, observer: &mut dyn Observer) {
        let running: Vec<usize> = (0..self.live.len())
            .filter(|&i| self.live[i].running())
            .collect();
        for &i in &running {
            if let Some(child) = &self.live[i].child {
                child.signal(libc::SIGTERM);
            }
            self.live[i].stopped = true;
            self.note(observer, Some(i), "stopping (SIGTERM)".into());
        }
        let deadline = Instant::now() + self.options.grace;
        while self.live.iter().any(Live::running) && Instant::now() < deadline {
            self.take_output(Duration::from_millis(10));
            self.reap(observer);
        }
        for i in 0..self.live.len() {
            if let Some(child) = self.live[i].child.take() {
                drop(child); // kills the group and reaps it
                self.live[i].exit = Some(Exit::Signal(libc::SIGKILL));
                self.live[i].ended_ms = Some(millis(self.clock()));
                self.note(
                    observer,
                    Some(i),
                    "killed (SIGKILL) after the grace period".into(),
                );
            }
        }
    }

    /// Read the output still in flight, until every stream ended (bounded).
    pub(crate) fn drain(&mut self) {
        let deadline = Instant::now() + DRAIN;
        while self.live.iter().any(|l| l.open_streams > 0) && Instant::now() < deadline {
            self.take_output(Duration::from_millis(10));
        }
    }

    fn rows(&self) -> Vec<Row> {
        (0..self.live.len())
            .map(|i| {
                let live = &self.live[i];
                let (sent, received) = live.counts();
                Row {
                    name: self.plan.instances[i].name.clone(),
                    state: state_text(live),
                    sent: live.has_stats.then_some(sent),
                    received: live.has_stats.then_some(received),
                }
            })
            .collect()
    }
}

/// The endpoint names an instance binds, in the order its bound lines come.
pub(crate) fn bind_order(args: &[Arg]) -> Vec<String> {
    args.iter()
        .flat_map(|arg| match arg {
            Arg::One(parts) => parts.as_slice(),
            Arg::Each { .. } => &[],
        })
        .filter_map(|part| match part {
            Part::Bind(e) => Some(e.clone()),
            _ => None,
        })
        .collect()
}
