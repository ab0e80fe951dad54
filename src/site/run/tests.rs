//! The site run on a simulated fleet over the in-process transport, every request watched by a
//! spy subscribed to the nodes' subjects.

use std::collections::BTreeMap;
use std::time::Duration;

use super::*;
use crate::fleet::spy::SpiedFleet;
use crate::fleet::FleetFile;

/// dev1..dev4 with Puppet runs of `run_duration`; `extra` is added to dev1's puppet section.
fn fleet(run_duration: &str, dev1: &str, dev2: &str) -> String {
    format!(
        "nodes:\n\
         - identity: dev1.example.net\n  puppet: {{run_duration: {run_duration}{dev1}}}\n\
         - identity: dev2.example.net\n  puppet: {{run_duration: {run_duration}{dev2}}}\n\
         - identity: dev[3-4].example.net\n  puppet: {{run_duration: {run_duration}}}\n"
    )
}

struct Site {
    fleet: SpiedFleet,
}

impl Site {
    async fn serve(text: &str) -> Site {
        Site {
            fleet: SpiedFleet::serve(FleetFile::parse(text, "test fleet").unwrap()).await,
        }
    }

    async fn run(&self, groups: &[&[&str]], settings: &RunSettings) -> (SiteOutcome, Vec<String>) {
        let groups: Vec<Vec<String>> = groups
            .iter()
            .map(|g| g.iter().map(|n| n.to_string()).collect())
            .collect();
        let progress = Progress::quiet();
        let outcome = run_site(&self.fleet.rpc, &groups, settings, &progress, &Stop::new()).await;
        (outcome, progress.lines())
    }

    /// The nodes each `action` went to, in order.
    async fn sent(&self, action: &str) -> Vec<String> {
        tokio::time::sleep(Duration::from_millis(20)).await;
        self.fleet.sent(action)
    }

    async fn statuses(&self) -> BTreeMap<String, PuppetStatus> {
        let nodes: Vec<String> = (1..=4).map(|n| format!("dev{n}.example.net")).collect();
        PuppetAgents {
            rpc: &self.fleet.rpc,
            timeout: Duration::from_secs(2),
        }
        .status(&nodes)
        .await
        .unwrap()
    }
}

fn settings() -> RunSettings {
    RunSettings {
        poll_interval: Duration::from_millis(20),
        run_timeout: Duration::from_secs(5),
        request_timeout: Duration::from_secs(2),
        ..RunSettings::new("the site run of production", "rip")
    }
}

const LAMP: &[&[&str]] = &[
    &["dev1.example.net"],
    &["dev2.example.net", "dev3.example.net", "dev4.example.net"],
];

#[tokio::test]
async fn the_lamp_site_runs_group_by_group_and_ends_enabled() {
    let site = Site::serve(&fleet("100ms", "", "")).await;
    let (outcome, lines) = site.run(LAMP, &settings()).await;
    assert!(outcome.succeeded(), "{outcome:?}\n{lines:#?}");
    assert_eq!(
        outcome.ran,
        [
            "dev1.example.net",
            "dev2.example.net",
            "dev3.example.net",
            "dev4.example.net"
        ]
    );
    let runs = site.sent("runonce").await;
    assert_eq!(runs[0], "dev1.example.net");
    assert_eq!(runs.len(), 4);
    assert!(site.statuses().await.values().all(|s| s.enabled));
    let text = lines.join("\n");
    assert!(text.contains("Running node group 2 with 3 nodes"), "{text}");
    assert!(
        text.contains("Disabling Puppet on 4 nodes: Disabled during the site run of production started by rip at "),
        "{text}"
    );
}

#[tokio::test]
async fn a_failed_resource_in_group_1_stops_before_group_2_and_leaves_every_node_disabled() {
    let site = Site::serve(&fleet("50ms", ", failed_resources: 1", "")).await;
    let (outcome, lines) = site.run(LAMP, &settings()).await;
    assert_eq!(
        outcome.status,
        SiteStatus::Failed {
            reason: "run Puppet successfully".into()
        },
        "{lines:#?}"
    );
    assert_eq!(outcome.failures.len(), 1);
    assert_eq!(outcome.failures[0].identity, "dev1.example.net");
    assert_eq!(outcome.failures[0].message, "1 resource failed");
    assert_eq!(site.sent("runonce").await, ["dev1.example.net"]);
    assert!(outcome.ran.is_empty());
    assert_eq!(outcome.not_run.len(), 3);
    let statuses = site.statuses().await;
    assert!(statuses.values().all(|s| !s.enabled), "{statuses:?}");
    let report = crate::report::site::outcome_lines(&outcome, &settings().what).join("\n");
    assert!(
        report.contains("Puppet is left disabled on all 4 nodes"),
        "{report}"
    );
    assert!(
        report.contains("dev1.example.net: 1 resource failed"),
        "{report}"
    );
}

#[tokio::test]
async fn a_catalog_failure_is_a_failure() {
    let site = Site::serve(&fleet("0s", "", ", catalog_failed: true")).await;
    let (outcome, _) = site.run(LAMP, &settings()).await;
    assert!(!outcome.succeeded());
    // dev2's batch ran; only dev2's run failed.
    assert_eq!(
        outcome.ran,
        ["dev1.example.net", "dev3.example.net", "dev4.example.net"]
    );
    assert!(outcome.not_run.is_empty());
    let failed: Vec<&str> = outcome
        .failures
        .iter()
        .map(|f| f.identity.as_str())
        .collect();
    assert_eq!(failed, ["dev2.example.net"]);
    assert!(outcome.failures[0]
        .message
        .starts_with("the catalog failed"));
    assert!(site.statuses().await.values().all(|s| !s.enabled));
}

/// A run shorter than the poll interval ends before the first poll can see it applying;
/// waiting for "applying" (as Choria did) would time out.
#[tokio::test]
async fn a_run_that_finishes_between_two_polls_is_seen_as_finished() {
    let site = Site::serve(&fleet("0s", "", "")).await;
    let mut settings = settings();
    settings.poll_interval = Duration::from_millis(500);
    settings.run_timeout = Duration::from_millis(900);
    let started = std::time::Instant::now();
    let (outcome, lines) = site.run(LAMP, &settings).await;
    assert!(outcome.succeeded(), "{outcome:?}\n{lines:#?}");
    // Never a second poll: each wait is over at its first.
    assert!(
        started.elapsed() < Duration::from_millis(500),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn batches_go_in_sorted_certname_order_and_respect_the_size() {
    let site = Site::serve(&fleet("0s", "", "")).await;
    let mut settings = settings();
    settings.batch = Some(2);
    let groups: &[&[&str]] = &[
        &["dev1.example.net"],
        &["dev2.example.net", "dev3.example.net", "dev4.example.net"],
    ];
    let (outcome, lines) = site.run(groups, &settings).await;
    assert!(outcome.succeeded(), "{lines:#?}");
    let seen = site.fleet.seen();
    // The enables of each batch, between the runs: [dev1], [dev2, dev3], [dev4], then all.
    let mut batches: Vec<Vec<String>> = Vec::new();
    let mut last = String::new();
    for (node, action) in seen {
        if action == "runonce" {
            if last != "runonce" {
                batches.push(Vec::new());
            }
            if let Some(batch) = batches.last_mut() {
                batch.push(node);
            }
        }
        last = action;
    }
    for batch in &mut batches {
        batch.sort();
    }
    assert_eq!(
        batches,
        [
            vec!["dev1.example.net"],
            vec!["dev2.example.net", "dev3.example.net"],
            vec!["dev4.example.net"]
        ]
    );
    assert!(lines
        .iter()
        .any(|l| l == "Running node group 2 with 3 nodes batched 2 a time"));
}

#[tokio::test]
async fn a_disabled_node_refuses_the_run_and_nothing_is_changed() {
    let site = Site::serve(&fleet(
        "0s",
        "",
        ", disabled: true, disable_message: 'upgrading the kernel by ops'",
    ))
    .await;
    let (outcome, _) = site.run(LAMP, &settings()).await;
    match &outcome.status {
        SiteStatus::Refused { reason } => assert!(
            reason.contains("dev2.example.net: disabled: upgrading the kernel by ops"),
            "{reason}"
        ),
        other => panic!("expected a refusal, got {other:?}"),
    }
    assert!(site.sent("disable").await.is_empty());
    let statuses = site.statuses().await;
    assert_eq!(statuses.values().filter(|s| s.enabled).count(), 3);
}

#[tokio::test]
async fn a_run_that_never_ends_times_out_and_leaves_the_nodes_disabled() {
    let site = Site::serve(&fleet("60m", "", "")).await;
    let mut settings = settings();
    settings.run_timeout = Duration::from_millis(200);
    let (outcome, _) = site.run(LAMP, &settings).await;
    assert_eq!(
        outcome.status,
        SiteStatus::Failed {
            reason: "finish the Puppet run".into()
        }
    );
    assert!(outcome.failures[0].message.contains("applying a catalog"));
    assert!(site.statuses().await.values().all(|s| !s.enabled));
}

#[tokio::test]
async fn an_interrupt_stops_before_the_next_batch_with_every_node_disabled() {
    let site = Site::serve(&fleet("0s", "", "")).await;
    let stop = Stop::new();
    stop.request();
    let groups: Vec<Vec<String>> = LAMP
        .iter()
        .map(|g| g.iter().map(|n| n.to_string()).collect())
        .collect();
    let progress = Progress::quiet();
    let outcome = run_site(&site.fleet.rpc, &groups, &settings(), &progress, &stop).await;
    assert_eq!(outcome.status, SiteStatus::Interrupted);
    assert!(site.sent("runonce").await.is_empty());
    let report = crate::report::site::outcome_lines(&outcome, &settings().what).join("\n");
    assert!(
        report.contains("Did not run: dev1.example.net, dev2.example.net"),
        "{report}"
    );
}

/// A refusal the run can live with is told by its statuscode: a node that says "no" in
/// other words is still enabled already, and an error worded like a harmless refusal is
/// still an error.
#[tokio::test]
async fn refusals_are_told_by_their_statuscodes() {
    let text = "nodes:\n\
        - identity: a.example.net\n  puppet: {}\n  replies:\n    puppet#enable:\n\
        \x20     - {statuscode: 1, statusmsg: 'nothing to do'}\n\
        \x20     - {statuscode: 5, statusmsg: 'Could not enable Puppet: Already enabled'}\n";
    let site = Site::serve(text).await;
    let agents = PuppetAgents {
        rpc: &site.fleet.rpc,
        timeout: Duration::from_secs(2),
    };
    let nodes = ["a.example.net".to_string()];
    agents.enable(&nodes).await.unwrap();
    let failure = agents.enable(&nodes).await.unwrap_err();
    assert_eq!(
        failure.failures[0].statuscode,
        Some(crate::protocol::statuscode::UNKNOWN_ERROR)
    );
    // The agent's own refusal: enabled already.
    agents.enable(&nodes).await.unwrap();
    agents.disable(&nodes, "by rip", false).await.unwrap();
    agents.disable(&nodes, "by rip", true).await.unwrap();
    let failure = agents.disable(&nodes, "by rip", false).await.unwrap_err();
    assert_eq!(
        failure.failures[0].statuscode,
        Some(crate::agent::puppet::ALREADY_DISABLED)
    );
    assert_eq!(
        failure.failures[0].message,
        "Could not disable Puppet: Already disabled: by rip"
    );
}
