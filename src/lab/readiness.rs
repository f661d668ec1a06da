//! Readiness: which nodes may start (every binder of what they connect to has
//! reported its endpoints), which binder is stuck (ended without reporting while
//! others wait for it) or overdue (still silent after a while: a hint says what
//! zlab waits for).

use super::observe::Observer;
use super::report::Outcome;
use super::run::Run;
use super::state::millis;
use std::time::Duration;

/// How long a binder may run without reporting its endpoints before zlab says
/// that nodes are waiting for it.
const OVERDUE: Duration = Duration::from_secs(5);

impl Run<'_> {
    /// A binder that ended before reporting its endpoints: its connectors would
    /// wait forever.
    pub(super) fn stuck_binder(&self) -> Option<String> {
        let i = (0..self.live.len()).find(|&i| {
            let live = &self.live[i];
            live.started
                && !live.running()
                && !self.is_ready(i)
                && !self.restart_pending(i)
                && !self.waiting_for(i).is_empty()
        })?;
        Some(format!(
            "node '{}' ended before it reported its bound endpoints",
            self.plan.instances[i].name
        ))
    }

    /// Whether every endpoint the instance binds is known.
    pub(super) fn is_ready(&self, i: usize) -> bool {
        let live = &self.live[i];
        let instance = &self.plan.instances[i];
        if self.plan.nodes[instance.node].ready.is_some() {
            return live.ready_seen;
        }
        instance.binds.iter().all(|e| live.bound.contains_key(e))
    }

    /// The instances not started yet because they connect to an endpoint that
    /// instance `binder` binds.
    pub(super) fn waiting_for(&self, binder: usize) -> Vec<usize> {
        let binds = &self.plan.instances[binder].binds;
        (0..self.live.len())
            .filter(|&i| !self.live[i].started)
            .filter(|&i| {
                self.plan.instances[i]
                    .connects
                    .iter()
                    .any(|e| binds.contains(e))
            })
            .collect()
    }

    /// Say once about each binder that has run for a while without reporting its
    /// endpoints while others wait for it: it may never print its bound line.
    pub(super) fn hint_overdue(&mut self, observer: &mut dyn Observer) {
        let now = millis(self.clock());
        for i in 0..self.live.len() {
            let live = &self.live[i];
            let overdue = live.running()
                && !live.hinted
                && now.saturating_sub(live.started_ms) >= millis(OVERDUE)
                && !self.is_ready(i);
            if !overdue {
                continue;
            }
            let waiting = self.waiting_for(i);
            if waiting.is_empty() {
                continue;
            }
            self.live[i].hinted = true;
            let names: Vec<&str> = waiting
                .iter()
                .map(|&w| self.plan.instances[w].name.as_str())
                .collect();
            let wanted = match self.plan.nodes[self.plan.instances[i].node].ready {
                Some(_) => "a line matching its 'ready' pattern",
                None => "its 'NAME: bound EP' line on stderr",
            };
            let text = format!(
                "hint: not ready after {}s ({wanted} has not come); {} wait for it",
                OVERDUE.as_secs(),
                names.join(", ")
            );
            self.note(observer, Some(i), text);
        }
    }

    /// Start every instance whose binders are ready.
    pub(super) fn start_ready(&mut self, observer: &mut dyn Observer) -> Result<(), Outcome> {
        for i in 0..self.live.len() {
            if self.live[i].started {
                continue;
            }
            let waits = self.plan.instances[i]
                .connects
                .iter()
                .flat_map(|e| self.plan.binders_of(e))
                .any(|&b| !self.is_ready(b));
            if !waits {
                self.start(i, observer)
                    .map_err(|e| Outcome::Failed(e.to_string()))?;
            }
        }
        Ok(())
    }
}
