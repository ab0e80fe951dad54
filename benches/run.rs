//! Evaluating and running playbooks on the in-process transport and the simulated fleet, with
//! zero latency, so what is measured is orchestrate itself: evaluation, the graph, the
//! scheduler, Choria message encoding and decoding on both sides, and the RPC round trips.
//!
//! - `thousand_steps`: a generated playbook of 1,000 `mcollective` steps (100 define instances
//!   of 10 steps, in 10 independent lanes), each step a request to 4 nodes.
//! - `app_cluster_upgrade_1000`: the example playbook against 1,000 web servers in one
//!   cluster. Its three discoveries each wait for the discovery window (300 ms without a new
//!   reply), so most of its time is that wait; the figure without discovery is the steps.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion};
use orchestrate::eval::{self, BufferLog, EvalRequest, Loader};
use orchestrate::fleet::{FleetFile, SimulatedFleet};
use orchestrate::report::Reporter;
use orchestrate::rpc::{ClientOptions, RpcClient};
use orchestrate::run::{self, RpcNodeQuery, RunContext};
use orchestrate::transport::{InProcess, Transport};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// 100 instances of a 10-step define, chained in 10 lanes of 10.
fn thousand_step_playbook() -> String {
    let mut code = String::from(
        "define stage($nodes) {\n  mcollective { \"${title}-0\": agent => 'rpcutil', action => 'ping', identity_filter => $nodes }\n",
    );
    for step in 1..10 {
        code.push_str(&format!(
            "  -> mcollective {{ \"${{title}}-{step}\": agent => 'appmgr', action => 'upgrade', arguments => {{ 'revision' => {step} }}, identity_filter => $nodes, batch_size => 2 }}\n"
        ));
    }
    code.push_str("}\n");
    for lane in 0..10 {
        for position in 0..10 {
            let first = lane * 4 + 1;
            let nodes: Vec<String> = (first..first + 4)
                .map(|n| format!("'web{n:04}.example.net'"))
                .collect();
            code.push_str(&format!(
                "stage {{ 'lane{lane}-{position}': nodes => [{}] }}\n",
                nodes.join(", ")
            ));
            if position > 0 {
                code.push_str(&format!(
                    "Stage['lane{lane}-{}'] -> Stage['lane{lane}-{position}']\n",
                    position - 1
                ));
            }
        }
    }
    code
}

struct Bench {
    runtime: tokio::runtime::Runtime,
    rpc: RpcClient,
    _fleet: SimulatedFleet,
}

fn start_fleet() -> Bench {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let file = FleetFile::load(&root().join("tests/fixtures/fleets/bench_1000.yaml")).unwrap();
    let transport: Arc<dyn Transport> = Arc::new(InProcess::new());
    let options = ClientOptions::for_user("bench");
    let fleet = runtime
        .block_on(SimulatedFleet::serve(
            file,
            transport.clone(),
            &options.collective,
        ))
        .unwrap();
    Bench {
        rpc: RpcClient::new(transport, options),
        runtime,
        _fleet: fleet,
    }
}

/// Evaluates, prepares and runs a playbook; panics if a step fails.
fn run_playbook(
    bench: &Bench,
    repo: &Path,
    path: &Path,
    args: Vec<(String, eval::Value)>,
) -> usize {
    let query = RpcNodeQuery {
        rpc: bench.rpc.clone(),
        handle: bench.runtime.handle().clone(),
    };
    let mut log = BufferLog::default();
    let evaluation = eval::evaluate(EvalRequest {
        loader: Loader::new(repo),
        path: path.to_path_buf(),
        playbook: path.file_stem().unwrap().to_string_lossy().to_string(),
        args,
        caller: "bench".into(),
        nodes: &query,
        steps: &run::step::Kinds,
        log: &mut log,
    })
    .unwrap_or_else(|f| panic!("{}", f.error.message()));
    let prepared = run::prepare(&evaluation).unwrap_or_else(|e| panic!("{}", e.message()));
    let context = Arc::new(RunContext {
        rpc: Some(bench.rpc.clone()),
        reporter: Reporter::quiet(),
        concurrency: 10,
        stop: Default::default(),
    });
    let summary = bench
        .runtime
        .block_on(run::run(&prepared, context))
        .expect("the run ends");
    assert!(summary.succeeded(), "{summary:?}");
    summary.ok
}

fn benchmarks(c: &mut Criterion) {
    let bench = start_fleet();
    let dir = tempfile::tempdir().unwrap();
    let thousand = dir.path().join("thousand.pp");
    std::fs::write(&thousand, thousand_step_playbook()).unwrap();
    let mut group = c.benchmark_group("run");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(20));
    group.bench_function("thousand_steps", |b| {
        b.iter(|| assert_eq!(run_playbook(&bench, dir.path(), &thousand, vec![]), 1000))
    });
    let repo = root().join("playbooks");
    let upgrade = repo.join("app_cluster_upgrade.pp");
    let args = || {
        vec![
            ("cluster".to_string(), eval::Value::from("bravo")),
            ("revision".to_string(), eval::Value::Integer(20)),
        ]
    };
    group.bench_function("app_cluster_upgrade_1000", |b| {
        b.iter(|| assert_eq!(run_playbook(&bench, &repo, &upgrade, args()), 8))
    });
    group.finish();
}

criterion_group!(benches, benchmarks);
criterion_main!(benches);
