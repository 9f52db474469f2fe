//! Progress of an apply: the events the executor emits and the sinks that show them on stderr
//! (live lines on a terminal, plain timestamped lines otherwise). The executor never prints; the
//! sinks never decide anything.

use std::collections::HashMap;
use std::io::Write;
use std::sync::Mutex;
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
        }
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

/// Plain timestamped lines, for logs and CI.
pub struct PlainProgress {
    out: Mutex<Box<dyn Write + Send>>,
    started: Mutex<HashMap<Address, Instant>>,
}

impl PlainProgress {
    pub fn new(out: Box<dyn Write + Send>) -> PlainProgress {
        PlainProgress {
            out: Mutex::new(out),
            started: Mutex::new(HashMap::new()),
        }
    }

    fn elapsed(&self, address: &Address, finish: bool) -> Duration {
        let Ok(mut started) = self.started.lock() else {
            return Duration::ZERO;
        };
        let at = *started.entry(address.clone()).or_insert_with(Instant::now);
        if finish {
            started.remove(address);
        }
        at.elapsed()
    }
}

impl ProgressSink for PlainProgress {
    fn event(&self, event: Event) {
        let line = match event {
            Event::Begin { .. } => return,
            Event::Phase { address, phase } => {
                let elapsed = self.elapsed(&address, false);
                format!(
                    "{address}: {} [{}s elapsed]",
                    phase.describe(),
                    elapsed.as_secs()
                )
            }
            Event::Finish {
                address, summary, ..
            } => {
                let elapsed = self.elapsed(&address, true);
                format!("{address}: {summary} [{}s]", elapsed.as_secs())
            }
        };
        let stamp = chrono::Utc::now().format("%H:%M:%S");
        if let Ok(mut out) = self.out.lock() {
            let _ = writeln!(out, "{stamp} {line}");
        }
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
            ProgressStyle::with_template("{bar:30} {pos}/{len} done [{elapsed}]")
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
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
        }
    }
}

impl Drop for TermProgress {
    fn drop(&mut self) {
        self.overall.finish_and_clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Clone, Default)]
    struct Buffer(std::sync::Arc<Mutex<Vec<u8>>>);

    impl Write for Buffer {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0
                .lock()
                .map_err(|_| std::io::ErrorKind::Other)?
                .extend_from_slice(bytes);
            Ok(bytes.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn plain_lines_are_timestamped_and_name_the_phase() {
        let buffer = Buffer::default();
        let sink = PlainProgress::new(Box::new(buffer.clone()));
        let address = Address::from_key("web");
        let percent = Some(42.0);
        sink.event(Event::Phase {
            address: address.clone(),
            phase: Phase::Waiting { percent },
        });
        let summary = "created (img-1)".to_owned();
        sink.event(Event::Finish {
            address,
            ok: true,
            summary,
        });
        let text = String::from_utf8(buffer.0.lock().unwrap().clone()).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 2);
        assert!(
            lines[0].ends_with("images.web: registration job 42% [0s elapsed]"),
            "{text}"
        );
        assert!(
            lines[1].ends_with("images.web: created (img-1) [0s]"),
            "{text}"
        );
        assert_eq!(lines[0].as_bytes()[2], b':', "{text}");
    }
}
