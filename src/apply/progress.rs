//! Progress of an apply: the events the executor emits and the sinks that show them on stderr
//! (live lines on a terminal, plain timestamped lines otherwise). The executor never prints; the
//! sinks never decide anything.
//!
//! Off a terminal (CI logs) a line is written for every event, and an address that stays in one
//! phase gets a heartbeat line at least every [`HEARTBEAT`] (`images.web: still registering…
//! [40s elapsed, 55%]`), as Terraform's "Still creating…": real registrations take minutes and
//! some CI systems kill a job that prints nothing for ten. While an endpoint does not answer,
//! the heartbeat says so instead (`images.web: IMS (https://…) has not answered for 45 s`), and
//! each attempt that got no answer is a line of its own ([`Event::Notice`]).

use std::collections::HashMap;
use std::io::Write;
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::manifest::model::Address;

/// Where an address's work is.
#[derive(Debug, Clone, PartialEq)]
pub enum Phase {
    Creating,
    Registering,
    /// Waiting for the registration job; percent 0-100 when the cloud reported one.
    Waiting {
        percent: Option<f64>,
    },
    Updating,
    Deleting,
    /// Waiting for a deleted image to leave the list.
    WaitingGone,
    Recovering,
    /// Waiting for the member jobs of a sharing change.
    Sharing,
}

impl Phase {
    fn describe(&self) -> String {
        match self {
            Phase::Creating => "creating metadata".into(),
            Phase::Registering => "registering the image file".into(),
            Phase::Waiting { percent: Some(p) } => format!("registration job {p:.0}%"),
            Phase::Waiting { percent: None } => "waiting for the registration job".into(),
            Phase::Updating => "updating".into(),
            Phase::Deleting => "deleting".into(),
            Phase::WaitingGone => "waiting until deleted".into(),
            Phase::Recovering => "recovering an interrupted operation".into(),
            Phase::Sharing => "changing who the image is shared with".into(),
        }
    }

    /// The heartbeat's words: `still registering… [40s elapsed, 55%]`.
    fn still(&self, elapsed: Duration) -> String {
        let verb = match self {
            Phase::Creating => "creating",
            Phase::Registering | Phase::Waiting { .. } => "registering",
            Phase::Updating => "updating",
            Phase::Deleting | Phase::WaitingGone => "deleting",
            Phase::Recovering => "recovering",
            Phase::Sharing => "sharing",
        };
        let percent = match self {
            Phase::Waiting { percent: Some(p) } => format!(", {p:.0}%"),
            _ => String::new(),
        };
        format!("still {verb}… [{}s elapsed{percent}]", elapsed.as_secs())
    }
}

/// What the executor reports.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// The run has `total` addresses to work on.
    Begin {
        total: usize,
    },
    Phase {
        address: Address,
        phase: Phase,
    },
    /// The address is done: `ok` or not, with a one-line summary.
    Finish {
        address: Address,
        ok: bool,
        summary: String,
    },
    /// About the run, not one address: e.g. an attempt that timed out and is retried.
    Notice {
        line: String,
    },
    /// What has not answered for a while (`IMS (https://…) has not answered for 45 s`), or
    /// `None` once everything answers again; heartbeats say this instead of `still …`.
    Unanswered {
        what: Option<String>,
    },
}

/// Receives progress events; called from many tasks.
pub trait ProgressSink: Send + Sync {
    fn event(&self, event: Event);
}

/// Shows nothing (tests, `--json`-style callers).
#[derive(Debug, Default)]
pub struct Silent;

impl ProgressSink for Silent {
    fn event(&self, _event: Event) {}
}

/// How often, at most, an address in flight goes without a line off a terminal.
pub const HEARTBEAT: Duration = Duration::from_secs(10);

/// An address in flight, for the plain sink.
struct InFlight {
    started: Instant,
    phase: Option<Phase>,
    /// When its last line was written.
    shown: Instant,
}

/// Plain timestamped lines, for logs and CI, with a heartbeat for long phases.
pub struct PlainProgress {
    out: Mutex<Box<dyn Write + Send>>,
    in_flight: Mutex<HashMap<Address, InFlight>>,
    unanswered: Mutex<Option<String>>,
}

impl PlainProgress {
    /// A sink without a heartbeat (each event still writes its line).
    pub fn new(out: Box<dyn Write + Send>) -> PlainProgress {
        PlainProgress {
            out: Mutex::new(out),
            in_flight: Mutex::new(HashMap::new()),
            unanswered: Mutex::new(None),
        }
    }

    /// A sink whose addresses in flight get a heartbeat line every `every`, written by a
    /// thread that ends when the sink is dropped.
    pub fn with_heartbeat(out: Box<dyn Write + Send>, every: Duration) -> Arc<PlainProgress> {
        let sink = Arc::new(PlainProgress::new(out));
        let weak: Weak<PlainProgress> = Arc::downgrade(&sink);
        let tick = every.min(Duration::from_secs(1));
        std::thread::spawn(move || {
            loop {
                std::thread::sleep(tick);
                let Some(sink) = weak.upgrade() else { return };
                sink.heartbeat(Instant::now(), every);
            }
        });
        sink
    }

    /// Writes a `still …` line for each address whose last line is at least `every` old at
    /// `now`, in address order.
    pub fn heartbeat(&self, now: Instant, every: Duration) {
        let mut lines = Vec::new();
        let unanswered = self.unanswered.lock().ok().and_then(|u| u.clone());
        if let Ok(mut in_flight) = self.in_flight.lock() {
            for (address, flight) in in_flight.iter_mut() {
                let Some(phase) = &flight.phase else { continue };
                if now.saturating_duration_since(flight.shown) >= every {
                    flight.shown = now;
                    let elapsed = now.saturating_duration_since(flight.started);
                    lines.push(match &unanswered {
                        Some(what) => format!("{address}: {what} [{}s elapsed]", elapsed.as_secs()),
                        None => format!("{address}: {}", phase.still(elapsed)),
                    });
                }
            }
        }
        lines.sort();
        for line in lines {
            self.write(&line);
        }
    }

    /// Records the event and returns how long its address has been in flight.
    fn track(&self, address: &Address, phase: Option<&Phase>) -> Duration {
        let Ok(mut in_flight) = self.in_flight.lock() else {
            return Duration::ZERO;
        };
        let now = Instant::now();
        let flight = in_flight.entry(address.clone()).or_insert(InFlight {
            started: now,
            phase: None,
            shown: now,
        });
        let elapsed = now.saturating_duration_since(flight.started);
        match phase {
            Some(phase) => {
                flight.phase = Some(phase.clone());
                flight.shown = now;
            }
            None => {
                in_flight.remove(address);
            }
        }
        elapsed
    }

    fn write(&self, line: &str) {
        let stamp = chrono::Utc::now().format("%H:%M:%S");
        if let Ok(mut out) = self.out.lock() {
            let _ = writeln!(out, "{stamp} {line}");
            let _ = out.flush();
        }
    }
}

impl ProgressSink for PlainProgress {
    fn event(&self, event: Event) {
        let line = match event {
            Event::Begin { .. } => return,
            Event::Phase { address, phase } => {
                let elapsed = self.track(&address, Some(&phase));
                format!(
                    "{address}: {} [{}s elapsed]",
                    phase.describe(),
                    elapsed.as_secs()
                )
            }
            Event::Finish {
                address, summary, ..
            } => {
                let elapsed = self.track(&address, None);
                format!("{address}: {summary} [{}s]", elapsed.as_secs())
            }
            Event::Notice { line } => line,
            Event::Unanswered { what } => {
                if let Ok(mut unanswered) = self.unanswered.lock() {
                    *unanswered = what;
                }
                return;
            }
        };
        self.write(&line);
    }
}

/// Live lines on a terminal: one per address in flight and an overall bar.
pub struct TermProgress {
    multi: MultiProgress,
    overall: ProgressBar,
    lines: Mutex<HashMap<Address, ProgressBar>>,
}

impl Default for TermProgress {
    fn default() -> TermProgress {
        TermProgress::new()
    }
}

impl TermProgress {
    pub fn new() -> TermProgress {
        let multi = MultiProgress::with_draw_target(ProgressDrawTarget::stderr());
        let overall = multi.add(ProgressBar::new(0));
        overall.set_style(
            ProgressStyle::with_template("{bar:30} {pos}/{len} done [{elapsed}] {msg}")
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        // Without a tick the bar redraws only on events, and its elapsed time stands still
        // through a long registration.
        overall.enable_steady_tick(Duration::from_secs(1));
        TermProgress {
            multi,
            overall,
            lines: Mutex::new(HashMap::new()),
        }
    }

    fn line(&self, address: &Address) -> Option<ProgressBar> {
        let mut lines = self.lines.lock().ok()?;
        let bar = lines.entry(address.clone()).or_insert_with(|| {
            let bar = self
                .multi
                .insert_before(&self.overall, ProgressBar::new_spinner());
            bar.set_style(
                ProgressStyle::with_template("{spinner} {prefix}: {msg} [{elapsed}]")
                    .unwrap_or_else(|_| ProgressStyle::default_spinner()),
            );
            bar.set_prefix(address.to_string());
            bar.enable_steady_tick(Duration::from_millis(200));
            bar
        });
        Some(bar.clone())
    }
}

impl ProgressSink for TermProgress {
    fn event(&self, event: Event) {
        match event {
            Event::Begin { total } => self.overall.set_length(total as u64),
            Event::Phase { address, phase } => {
                if let Some(line) = self.line(&address) {
                    line.set_message(phase.describe());
                }
            }
            Event::Finish {
                address, summary, ..
            } => {
                let line = self.lines.lock().ok().and_then(|mut l| l.remove(&address));
                if let Some(line) = line {
                    line.finish_and_clear();
                }
                let _ = self.multi.println(format!("{address}: {summary}"));
                self.overall.inc(1);
            }
            Event::Notice { line } => {
                let _ = self.multi.println(line);
            }
            Event::Unanswered { what } => self.overall.set_message(what.unwrap_or_default()),
        }
    }
}

impl Drop for TermProgress {
    fn drop(&mut self) {
        self.overall.finish_and_clear();
    }
}

#[cfg(test)]
#[path = "progress_tests.rs"]
mod tests;
