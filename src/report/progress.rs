//! What a site run tells its operator as it goes: timestamped lines as the seed printed them
//! (`[2026-11-22 01:30:00] Running Puppet on 3 nodes of group 2: ...`), plain lines between
//! groups, and while waiting for nodes a progress bar, only on a terminal.

use std::io::{IsTerminal, Write as _};
use std::sync::Mutex;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::now;

/// Where the lines go.
pub struct Progress {
    /// Before every line: a step's name when a playbook step runs the site.
    prefix: String,
    /// Draw bars (stderr is a terminal, and nothing else prints concurrently).
    bars: bool,
    quiet: bool,
    /// Every line printed, for the caller to keep (a step's record) or tests to read.
    kept: Mutex<Vec<String>>,
    /// The bar being drawn; lines print above it.
    bar: Mutex<Option<ProgressBar>>,
}

impl Progress {
    /// Lines on stdout; a bar on stderr when it is a terminal.
    pub fn terminal() -> Progress {
        Progress::new(String::new(), std::io::stderr().is_terminal(), false)
    }

    /// Lines prefixed with `prefix` (a playbook step's name), never a bar: steps run
    /// concurrently and bars of several would fight over the terminal.
    pub fn for_step(prefix: &str) -> Progress {
        Progress::new(format!("{prefix}: "), false, false)
    }

    /// Keeps the lines, prints nothing (tests, benchmarks).
    pub fn quiet() -> Progress {
        Progress::new(String::new(), false, true)
    }

    fn new(prefix: String, bars: bool, quiet: bool) -> Progress {
        Progress {
            prefix,
            bars,
            quiet,
            kept: Mutex::new(Vec::new()),
            bar: Mutex::new(None),
        }
    }

    /// `[2026-11-22 01:30:00] text`, in local time.
    pub fn line(&self, text: &str) {
        self.plain(&format!("[{}] {text}", now()));
    }

    /// A line as it is.
    pub fn plain(&self, text: &str) {
        if text.is_empty() && !self.prefix.is_empty() {
            // A blank line between groups separates nothing among other steps' lines.
            return;
        }
        let text = format!("{}{text}", self.prefix);
        if let Ok(mut kept) = self.kept.lock() {
            kept.push(text.clone());
        }
        if self.quiet {
            return;
        }
        let print = || {
            let stdout = std::io::stdout();
            let mut out = stdout.lock();
            let _ = writeln!(out, "{text}");
            let _ = out.flush();
        };
        match self.bar.lock().ok().and_then(|bar| bar.clone()) {
            Some(bar) => bar.suspend(print),
            None => print(),
        }
    }

    pub fn lines(&self) -> Vec<String> {
        self.kept.lock().map(|k| k.clone()).unwrap_or_default()
    }

    /// Starts a bar counting `total` nodes (nothing when bars are off).
    pub fn start_bar(&self, total: usize, message: &str) {
        if !self.bars {
            return;
        }
        let bar = ProgressBar::with_draw_target(Some(total as u64), ProgressDrawTarget::stderr());
        let style = ProgressStyle::with_template(
            "  {spinner} {msg} [{bar:30}] {pos}/{len} nodes, {elapsed}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> ");
        bar.set_style(style);
        bar.set_message(message.to_string());
        bar.enable_steady_tick(Duration::from_millis(200));
        if let Ok(mut current) = self.bar.lock() {
            if let Some(old) = current.replace(bar) {
                old.finish_and_clear();
            }
        }
    }

    /// How many of the bar's nodes are done.
    pub fn set_done(&self, done: usize) {
        if let Some(bar) = self.bar.lock().ok().and_then(|bar| bar.clone()) {
            bar.set_position(done as u64);
        }
    }

    pub fn finish_bar(&self) {
        if let Some(bar) = self.bar.lock().ok().and_then(|mut bar| bar.take()) {
            bar.finish_and_clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_timestamped_and_kept() {
        let progress = Progress::quiet();
        progress.line("Checking if 4 nodes are enabled");
        progress.plain("Running node group 1");
        progress.start_bar(4, "waiting");
        progress.set_done(2);
        progress.finish_bar();
        let lines = progress.lines();
        let stamp = regex::Regex::new(r"^\[\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\] Checking").unwrap();
        assert!(stamp.is_match(&lines[0]), "{}", lines[0]);
        assert_eq!(lines[1], "Running node group 1");
    }

    #[test]
    fn a_steps_lines_carry_its_name() {
        let progress = Progress::for_step("Puppet_run[web]");
        progress.plain("done");
        assert_eq!(progress.lines(), ["Puppet_run[web]: done"]);
    }
}
