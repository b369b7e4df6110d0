//! Live progress on the terminal: one bar over the run's duration with users connected,
//! send and delivery rates, end-to-end p99 so far and errors. When standard error is not
//! a terminal (CI logs) the same line is printed every few seconds instead.

use std::io::IsTerminal;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::metrics::Snapshot;
use crate::shard::Progress;

/// How often the plain (non-terminal) line is printed.
const PLAIN_EVERY: Duration = Duration::from_secs(5);

/// The live display of a run.
pub struct Display {
    bar: ProgressBar,
    stages: usize,
    plain: bool,
    last_plain: Option<Instant>,
    /// The figures when the rates were last computed, and the rates then.
    previous: Option<(Instant, Snapshot)>,
    rates: (f64, f64),
}

impl Display {
    /// A display over `total` seconds; `quiet` shows nothing.
    pub fn new(total: Duration, stages: usize, quiet: bool) -> Self {
        let plain = !quiet && !std::io::stderr().is_terminal();
        let bar = if quiet || plain {
            ProgressBar::hidden()
        } else {
            let bar = ProgressBar::with_draw_target(
                Some(total.as_secs().max(1)),
                ProgressDrawTarget::stderr_with_hz(4),
            );
            bar.set_style(
                ProgressStyle::with_template("{elapsed_precise} [{bar:24}] {msg}")
                    .expect("valid template")
                    .progress_chars("=> "),
            );
            bar
        };
        Self {
            bar,
            stages,
            plain,
            last_plain: None,
            previous: None,
            rates: (0.0, 0.0),
        }
    }

    /// Shows where the run stands.
    pub fn update(&mut self, progress: &Progress) {
        let line = self.line(progress);
        self.bar.set_position(progress.elapsed as u64);
        self.bar.set_message(line.clone());
        if self.plain && self.last_plain.is_none_or(|at| at.elapsed() >= PLAIN_EVERY) {
            self.last_plain = Some(Instant::now());
            eprintln!("[{:>5.0}s] {line}", progress.elapsed);
        }
    }

    fn line(&mut self, progress: &Progress) -> String {
        self.line_at(progress, Instant::now())
    }

    /// The line at `now`. Rates come from this process's clock over at least a second,
    /// since the figures of several workers arrive at different moments.
    fn line_at(&mut self, progress: &Progress, now: Instant) -> String {
        let live = progress.live;
        match self.previous {
            Some((at, before)) if now.duration_since(at) >= Duration::from_secs(1) => {
                let seconds = now.duration_since(at).as_secs_f64();
                self.rates = (
                    live.sends.saturating_sub(before.sends) as f64 / seconds,
                    live.deliveries.saturating_sub(before.deliveries) as f64 / seconds,
                );
                self.previous = Some((now, live));
            }
            Some(_) => {}
            None => self.previous = Some((now, live)),
        }
        let (sends, deliveries) = self.rates;
        let stage = progress.stage.map_or_else(
            || "settling".to_owned(),
            |stage| format!("stage {stage}/{}", self.stages),
        );
        format!(
            "{stage} · users {}/{} · sends {sends:.0}/s · deliveries {deliveries:.0}/s · e2e p99 {:.1} ms · errors {}",
            live.connected, progress.target, live.e2e_p99_ms, live.errors
        )
    }

    pub fn finish(&self) {
        self.bar.finish_and_clear();
    }
}

/// A bar for a setup step (accounts, rooms) of `len` items.
pub fn steps(len: u64, what: &str, quiet: bool) -> ProgressBar {
    if quiet || !std::io::stderr().is_terminal() {
        if !quiet {
            eprintln!("{what}: {len}");
        }
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(len);
    bar.set_style(
        ProgressStyle::with_template("{prefix:>10} [{bar:24}] {pos}/{len} {elapsed}")
            .expect("valid template")
            .progress_chars("=> "),
    );
    bar.set_prefix(what.to_owned());
    bar
}

/// Several processes' progress as one: counts add up, the p99 shown is the worst.
pub fn combine(parts: &[Progress]) -> Progress {
    let mut total = Progress::default();
    for part in parts {
        total.elapsed = total.elapsed.max(part.elapsed);
        total.stage = total.stage.max(part.stage);
        total.target = total.target.max(part.target);
        total.live.connected += part.live.connected;
        total.live.sends += part.live.sends;
        total.live.acks += part.live.acks;
        total.live.deliveries += part.live.deliveries;
        total.live.errors += part.live.errors;
        total.live.e2e_p99_ms = total.live.e2e_p99_ms.max(part.live.e2e_p99_ms);
    }
    total
}

#[cfg(test)]
mod tests {
    use super::*;

    fn progress(elapsed: f64, sends: u64, deliveries: u64) -> Progress {
        Progress {
            elapsed,
            stage: Some(1),
            target: 10,
            live: Snapshot {
                connected: 5,
                sends,
                acks: sends,
                deliveries,
                errors: 1,
                e2e_p99_ms: 3.5,
            },
        }
    }

    #[test]
    fn the_line_shows_rates_between_updates() {
        let mut display = Display::new(Duration::from_secs(10), 2, true);
        let start = Instant::now();
        display.line_at(&progress(1.0, 10, 100), start);
        let line = display.line_at(&progress(3.0, 30, 500), start + Duration::from_secs(2));

        assert!(line.contains("stage 1/2"), "{line}");
        assert!(line.contains("users 5/10"), "{line}");
        assert!(line.contains("sends 10/s"), "{line}");
        assert!(line.contains("deliveries 200/s"), "{line}");
        assert!(line.contains("p99 3.5 ms"), "{line}");
    }

    #[test]
    fn processes_combine_into_one_figure() {
        let mut worse = progress(2.0, 5, 50);
        worse.live.e2e_p99_ms = 9.0;
        let total = combine(&[progress(2.1, 10, 100), worse]);

        assert_eq!(total.live.connected, 10);
        assert_eq!(total.live.sends, 15);
        assert_eq!(total.live.deliveries, 150);
        assert_eq!(total.live.e2e_p99_ms, 9.0);
        assert_eq!(total.elapsed, 2.1);
    }
}
