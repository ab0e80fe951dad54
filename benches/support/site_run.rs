//! The site run that `benches/site.rs` times and `examples/site_run.rs` counts: the whole site
//! run (check, disable, wait, two groups, enable) on a simulated fleet of 1,000 nodes whose
//! Puppet runs take no time, on the in-process transport, every request and reply a real
//! Choria message. One set-up, so the two measure the same thing.

use std::sync::Arc;
use std::time::Duration;

use orchestrate::fleet::{FleetFile, SimulatedFleet};
use orchestrate::report::Progress;
use orchestrate::rpc::{ClientOptions, RpcClient};
use orchestrate::site::run::{run_site, RunSettings};
use orchestrate::stop::Stop;
use orchestrate::transport::{InProcess, Transport};

pub struct SiteRun {
    pub runtime: tokio::runtime::Runtime,
    _fleet: SimulatedFleet,
    rpc: RpcClient,
    groups: Vec<Vec<String>>,
}

impl SiteRun {
    /// The fleet served and the client connected, nothing run yet.
    pub fn new() -> SiteRun {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .unwrap();
        let fleet_text =
            "nodes:\n  - identity: node[0001-1000].example.net\n    puppet: {run_duration: 0}\n";
        let transport: Arc<dyn Transport> = Arc::new(InProcess::new());
        let fleet = runtime.block_on(async {
            SimulatedFleet::serve(
                FleetFile::parse(fleet_text, "bench").unwrap(),
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
        SiteRun {
            runtime,
            _fleet: fleet,
            rpc,
            groups,
        }
    }

    /// The settings the bench runs with; `request_timeout` is longer under valgrind.
    pub fn settings(request_timeout: Duration) -> RunSettings {
        RunSettings {
            poll_interval: Duration::from_millis(10),
            run_timeout: Duration::from_secs(30),
            request_timeout,
            ..RunSettings::new("the site run of bench", "bench")
        }
    }

    /// One whole site run, which must succeed.
    pub fn once(&self, settings: &RunSettings) {
        let outcome = self.runtime.block_on(run_site(
            &self.rpc,
            &self.groups,
            settings,
            &Progress::quiet(),
            &Stop::new(),
        ));
        assert!(outcome.succeeded(), "{outcome:?}");
    }
}
