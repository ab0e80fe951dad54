//! The site run's own costs.
//!
//! - `plan_10000_nodes`: ordering and planning a generated site of 10,000 nodes and 50,000
//!   components (5,000 three-tier applications: a database, three application servers, six
//!   web servers), from the environment graph to the printed plan.
//! - `run_1000_nodes`: the whole site run (check, disable, wait, two groups, enable) on a
//!   simulated fleet of 1,000 nodes whose Puppet runs take no time, on the in-process
//!   transport with zero latency: what is measured is the orchestration, every request and
//!   reply a real Choria message.

use std::time::Duration;

#[path = "support/site_run.rs"]
mod site_run;

use criterion::{criterion_group, criterion_main, Criterion};
use indexmap::IndexMap;
use orchestrate::site::plan::SitePlan;
use orchestrate::site::{Component, EnvironmentGraph};
use site_run::SiteRun;

/// 5,000 applications of 10 components on 10,000 nodes; each node hosts the same tier of five
/// applications.
fn big_site() -> EnvironmentGraph {
    let mut applications = IndexMap::new();
    for app in 0..5_000usize {
        let mut components = IndexMap::new();
        let node = |slot: usize| format!("node{:05}.example.net", (app * 10 + slot) % 10_000);
        components.insert(
            format!("Shop::Db[app{app}]"),
            Component {
                produces: vec![format!("Sql[app{app}]")],
                consumes: vec![],
                node: node(0),
            },
        );
        for server in 1..=3 {
            components.insert(
                format!("Shop::App[app{app}-{server}]"),
                Component {
                    produces: vec![format!("Http[app{app}-{server}]")],
                    consumes: vec![format!("Sql[app{app}]")],
                    node: node(server),
                },
            );
        }
        for web in 4..10 {
            components.insert(
                format!("Shop::Web[app{app}-{web}]"),
                Component {
                    produces: vec![],
                    consumes: (1..=3).map(|s| format!("Http[app{app}-{s}]")).collect(),
                    node: node(web),
                },
            );
        }
        applications.insert(format!("Shop[app{app}]"), components);
    }
    EnvironmentGraph {
        environment: "production".into(),
        applications,
        code_id: None,
    }
}

fn plan(c: &mut Criterion) {
    let graph = big_site();
    let mut group = c.benchmark_group("site");
    group.sample_size(10);
    group.bench_function("plan_10000_nodes", |b| {
        b.iter(|| {
            let plan = SitePlan::new(&graph, None).expect("orders");
            assert_eq!(plan.groups.len(), 3);
            plan.render().len()
        })
    });
    group.finish();
}

fn run(c: &mut Criterion) {
    let site = SiteRun::new();
    let settings = SiteRun::settings(Duration::from_secs(10));
    let mut group = c.benchmark_group("site");
    group.sample_size(10);
    group.bench_function("run_1000_nodes", |b| b.iter(|| site.once(&settings)));
    let mut batched = settings.clone();
    batched.batch = Some(100);
    group.bench_function("run_1000_nodes_batches_of_100", |b| {
        b.iter(|| site.once(&batched))
    });
    group.finish();
}

criterion_group!(benches, plan, run);
criterion_main!(benches);
