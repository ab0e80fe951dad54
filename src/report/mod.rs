//! What `orchestrate` tells people and tools: the lines of a playbook run and its JSON report
//! (run.rs), the progress of a site run and what it did (progress.rs, site.rs), the replies of
//! an `rpc` request (rpc.rs), and the few ways of writing times and counts they share. The
//! parts that run things hand it what happened; it decides how that reads.

pub mod progress;
pub mod rpc;
pub mod run;
pub mod site;

use std::time::Duration;

pub use progress::Progress;
pub use run::{Reporter, StepRecord, StepStatus, Summary, WriteError};
pub use site::{SiteOutcome, SiteStatus};

/// `0.21s`, `12.3s`, `10s`.
pub fn seconds(d: Duration) -> String {
    let s = d.as_secs_f64();
    if s >= 10.0 && s.fract() == 0.0 {
        format!("{s:.0}s")
    } else if s >= 10.0 {
        format!("{s:.1}s")
    } else {
        format!("{s:.2}s")
    }
}

/// Now, in local time, as the progress lines and the disable message show it.
pub fn now() -> String {
    chrono::Local::now().format("%Y-%m-%d %H:%M:%S").to_string()
}

/// `""` for one, `"s"` for any other count.
pub fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

/// `1 node`, `3 nodes`.
pub fn nodes(n: usize) -> String {
    format!("{n} node{}", plural(n))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seconds_keep_two_decimals_below_ten() {
        assert_eq!(seconds(Duration::from_millis(210)), "0.21s");
        assert_eq!(seconds(Duration::from_millis(12_340)), "12.3s");
        assert_eq!(seconds(Duration::from_secs(10)), "10s");
        assert_eq!(nodes(1), "1 node");
        assert_eq!(nodes(0), "0 nodes");
    }
}
