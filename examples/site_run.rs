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

use std::sync::Arc;
use std::time::Duration;

use orchestrate::fleet::{FleetFile, SimulatedFleet};
use orchestrate::report::Progress;
use orchestrate::rpc::{ClientOptions, RpcClient};
use orchestrate::site::run::{run_site, RunSettings};
use orchestrate::stop::Stop;
use orchestrate::transport::{InProcess, Transport};

fn env<T: std::str::FromStr>(name: &str) -> Option<T> {
    std::env::var(name)
        .ok()
        .and_then(|value| value.parse().ok())
}

fn main() {
    let iterations: usize = env("ITERS").unwrap_or(1);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let fleet_text =
        "nodes:\n  - identity: node[0001-1000].example.net\n    puppet: {run_duration: 0}\n";
    let transport: Arc<dyn Transport> = Arc::new(InProcess::new());
    let _fleet = runtime.block_on(async {
        SimulatedFleet::serve(
            FleetFile::parse(fleet_text, "site_run").unwrap(),
            transport.clone(),
            "mcollective",
        )
        .await
        .unwrap()
    });
    let rpc = RpcClient::new(transport, ClientOptions::for_user("bench"));
    let nodes: Vec<String> = (1..=1000)
        .map(|n| format!("node{n:04}.example.net"))
        .collect();
    let groups = vec![nodes[..100].to_vec(), nodes[100..].to_vec()];
    let settings = RunSettings {
        batch: env("BATCH"),
        poll_interval: Duration::from_millis(10),
        run_timeout: Duration::from_secs(30),
        request_timeout: Duration::from_secs(env("REQUEST_TIMEOUT").unwrap_or(10)),
        ..RunSettings::new("the site run of bench", "bench")
    };
    for _ in 0..iterations {
        let outcome = runtime.block_on(run_site(
            &rpc,
            &groups,
            &settings,
            &Progress::quiet(),
            &Stop::new(),
        ));
        assert!(outcome.succeeded(), "{outcome:?}");
    }
}
