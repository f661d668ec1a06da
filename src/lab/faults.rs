//! Scripted faults: at their time (counted from the moment every node has
//! started), a signal to a node's process group, or a restart with the same
//! arguments and endpoints.

use super::observe::Observer;
use super::run::Run;
use super::spec::FaultAction;
use super::topology::signal_name;

impl Run<'_> {
    pub(super) fn restart_pending(&self, instance: usize) -> bool {
        self.plan.restarts_of[instance]
            .iter()
            .any(|&f| !self.faults_done[f])
    }

    /// Apply the faults that are due.
    pub(super) fn apply_faults(&mut self, observer: &mut dyn Observer) {
        let Some(up) = self.up else {
            return;
        };
        for f in 0..self.plan.lab.faults.len() {
            let fault = &self.plan.lab.faults[f];
            if self.faults_done[f] || self.clock() < up + fault.at {
                continue;
            }
            self.faults_done[f] = true;
            for &i in &self.plan.fault_targets[f] {
                self.fault(i, fault.action, observer);
            }
        }
    }

    fn fault(&mut self, i: usize, action: FaultAction, observer: &mut dyn Observer) {
        match action {
            FaultAction::Kill { signal } => match self.live[i].child.as_ref() {
                Some(child) => {
                    child.signal(signal.number());
                    self.live[i].faulted = true;
                    self.note(
                        observer,
                        Some(i),
                        format!("fault: {} sent", signal_name(signal)),
                    );
                }
                None => self.note(
                    observer,
                    Some(i),
                    "fault: not running, nothing to kill".into(),
                ),
            },
            FaultAction::Restart if self.live[i].running() => {
                self.note(
                    observer,
                    Some(i),
                    "fault: still running, not restarted".into(),
                );
            }
            FaultAction::Restart => {
                self.note(observer, Some(i), "fault: restart".into());
                if let Err(e) = self.start(i, observer) {
                    self.note(observer, Some(i), format!("fault: {e}"));
                }
            }
        }
    }
}
