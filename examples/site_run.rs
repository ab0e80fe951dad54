//! The site bench's run (`benches/site.rs`, `run_1000_nodes`) as a plain program, for
//! instruction counts, which stay the same whatever else the machine runs:
//!
//! ```text
//! cargo build --release --example site_run
//! ITERS=0 valgrind --tool=callgrind target/release/examples/site_run   # the set-up alone
//! ITERS=3 valgrind --tool=callgrind target/release/examples/site_run   # and three runs
//! ```
//!
//! `ITERS` site runs (default 1) of 1,000 simulated nodes whose Puppet runs take no time, on
//! the in-process transport; `BATCH=100` runs them in batches. `REQUEST_TIMEOUT` (seconds,
//! default 10) gives valgrind's slower replies time to arrive.

use std::time::Duration;

#[path = "../benches/support/site_run.rs"]
mod site_run;

use site_run::SiteRun;

fn env<T: std::str::FromStr>(name: &str) -> Option<T> {
    std::env::var(name)
        .ok()
        .and_then(|value| value.parse().ok())
}

fn main() {
    let iterations: usize = env("ITERS").unwrap_or(1);
    let site = SiteRun::new();
    let settings = orchestrate::site::run::RunSettings {
        batch: env("BATCH"),
        ..SiteRun::settings(Duration::from_secs(env("REQUEST_TIMEOUT").unwrap_or(10)))
    };
    for _ in 0..iterations {
        site.once(&settings);
    }
}
