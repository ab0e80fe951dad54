//! The concurrent walk of a DAG on tokio, as turborepo's graph walker: a vertex starts once
//! every vertex before it has passed, at most `limit` at once; a vertex that fails stops its
//! dependents and only them; when the stop is requested nothing new starts, what runs finishes,
//! and what did not start is skipped. What a vertex does is the [`Visitor`]'s business.

use std::collections::{HashMap, VecDeque};
use std::future::Future;

use petgraph::graph::{DiGraph, NodeIndex};
use petgraph::Direction;
use tokio::task::{JoinError, JoinSet};

use super::{check_acyclic, Cycle};
use crate::stop::Stop;

/// What a vertex is, once everything before it has passed.
pub enum Visit<J> {
    /// A job to run on its own task ([`Visitor::run`]); it takes one of the `limit` slots.
    Run(J),
    /// Nothing to do (a vertex that only orders others): it passes at once.
    Pass,
}

/// Why a vertex did not run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Skip {
    /// This vertex before it failed (or was itself skipped for this reason).
    Failed(NodeIndex),
    /// The stop was requested before it started.
    Stopped,
}

/// The work of a vertex, run on its own task.
pub trait Job: Send + 'static {
    /// What the work ends with.
    type Done: Send + 'static;

    fn run(self) -> impl Future<Output = Self::Done> + Send + 'static;
}

/// What the walk does at each vertex.
pub trait Visitor {
    type Job: Job;

    /// The vertex can start: everything before it has passed.
    fn visit(&mut self, vertex: NodeIndex) -> Visit<Self::Job>;

    /// The vertex's work has ended (an error: its task panicked). Whether it passed: a vertex
    /// that did not pass skips everything after it.
    fn finished(&mut self, vertex: NodeIndex, done: Result<Done<Self>, JoinError>) -> bool;

    /// The vertex does not run, and neither does anything after it.
    fn skipped(&mut self, vertex: NodeIndex, why: Skip);
}

/// What the job of a visitor's vertex ends with.
pub type Done<V> = <<V as Visitor>::Job as Job>::Done;

/// Walks `graph` (checked for cycles first: a cycle is returned and nothing runs); returns once
/// every vertex has passed, failed or been skipped. Dropping the walk aborts the running work.
pub async fn walk<N, E, V: Visitor>(
    graph: &DiGraph<N, E>,
    visitor: &mut V,
    limit: usize,
    stop: &Stop,
) -> Result<(), Cycle> {
    check_acyclic(graph)?;
    let mut walk = Readiness::new(graph);
    let limit = limit.max(1);
    let mut running: JoinSet<Done<V>> = JoinSet::new();
    let mut tasks = HashMap::new();
    // A vertex whose job waits for a slot; it goes first once one frees.
    let mut held: Option<(NodeIndex, V::Job)> = None;
    let requested = stop.requested();
    tokio::pin!(requested);
    loop {
        let stopping = stop.is_requested();
        if let Some((vertex, job)) = held.take() {
            if stopping {
                visitor.skipped(vertex, Skip::Stopped);
                walk.release(vertex, Some(Skip::Stopped));
            } else if running.len() < limit {
                tasks.insert(running.spawn(job.run()).id(), vertex);
            } else {
                held = Some((vertex, job));
            }
        }
        while held.is_none() {
            let Some(vertex) = walk.ready.pop_front() else {
                break;
            };
            if let Some(why) = walk.blocked[vertex.index()] {
                visitor.skipped(vertex, why);
                walk.release(vertex, Some(why));
                continue;
            }
            match visitor.visit(vertex) {
                Visit::Pass => walk.release(vertex, None),
                Visit::Run(_) if stopping => {
                    visitor.skipped(vertex, Skip::Stopped);
                    walk.release(vertex, Some(Skip::Stopped));
                }
                Visit::Run(job) if running.len() < limit => {
                    tasks.insert(running.spawn(job.run()).id(), vertex);
                }
                Visit::Run(job) => held = Some((vertex, job)),
            }
        }
        if running.is_empty() && held.is_none() {
            return Ok(());
        }
        tokio::select! {
            biased;
            () = &mut requested, if !stopping => {}
            Some(finished) = running.join_next_with_id() => {
                let (id, done) = match finished {
                    Ok((id, done)) => (id, Ok(done)),
                    Err(error) => (error.id(), Err(error)),
                };
                let Some(vertex) = tasks.remove(&id) else {
                    continue;
                };
                let passed = visitor.finished(vertex, done);
                walk.release(vertex, (!passed).then_some(Skip::Failed(vertex)));
            }
        }
    }
}

/// The bookkeeping of a walk: how many vertices before each it still waits for, which failure
/// (if any) blocks it, and the vertices ready to start, in the order they became ready.
struct Readiness<'g, N, E> {
    graph: &'g DiGraph<N, E>,
    waiting: Vec<usize>,
    blocked: Vec<Option<Skip>>,
    ready: VecDeque<NodeIndex>,
}

impl<'g, N, E> Readiness<'g, N, E> {
    fn new(graph: &'g DiGraph<N, E>) -> Readiness<'g, N, E> {
        let waiting: Vec<usize> = graph
            .node_indices()
            .map(|n| graph.edges_directed(n, Direction::Incoming).count())
            .collect();
        let ready = graph
            .node_indices()
            .filter(|n| waiting[n.index()] == 0)
            .collect();
        Readiness {
            graph,
            blocked: vec![None; waiting.len()],
            waiting,
            ready,
        }
    }

    /// `vertex` is done; `blocks` is why its dependents cannot run, if they cannot (the first
    /// reason to reach a vertex is the one it is skipped for).
    fn release(&mut self, vertex: NodeIndex, blocks: Option<Skip>) {
        for next in self.graph.neighbors_directed(vertex, Direction::Outgoing) {
            let slot = &mut self.blocked[next.index()];
            if slot.is_none() {
                *slot = blocks;
            }
            self.waiting[next.index()] -= 1;
            if self.waiting[next.index()] == 0 {
                self.ready.push_back(next);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::{Arc, Mutex};
    use std::time::Duration;

    use super::*;
    use crate::dag::tests::graph;

    /// Runs every vertex for a moment, fails those in `failing`, passes `passing` through
    /// without work, and writes down what happened, in order.
    struct Recorder {
        failing: Vec<usize>,
        passing: Vec<usize>,
        events: Arc<Mutex<Vec<String>>>,
        running: Arc<AtomicUsize>,
        most: Arc<AtomicUsize>,
        /// Requested when this vertex starts.
        stop_at: Option<(usize, Stop)>,
    }

    impl Recorder {
        fn new(failing: &[usize]) -> Recorder {
            Recorder {
                failing: failing.to_vec(),
                passing: Vec::new(),
                events: Arc::default(),
                running: Arc::default(),
                most: Arc::default(),
                stop_at: None,
            }
        }

        fn events(&self) -> Vec<String> {
            self.events.lock().unwrap().clone()
        }

        fn note(&self, event: String) {
            self.events.lock().unwrap().push(event);
        }
    }

    /// A vertex's job: its number, whether it fails, the counters and the events.
    struct Work(
        usize,
        bool,
        Arc<AtomicUsize>,
        Arc<AtomicUsize>,
        Arc<Mutex<Vec<String>>>,
    );

    impl Job for Work {
        type Done = bool;

        async fn run(self) -> bool {
            let Work(n, fails, running, most, events) = self;
            events.lock().unwrap().push(format!("start {n}"));
            let now = running.fetch_add(1, Ordering::SeqCst) + 1;
            most.fetch_max(now, Ordering::SeqCst);
            tokio::time::sleep(Duration::from_millis(10)).await;
            running.fetch_sub(1, Ordering::SeqCst);
            if n == 99 {
                panic!("a bug in the work");
            }
            !fails
        }
    }

    impl Visitor for Recorder {
        type Job = Work;

        fn visit(&mut self, vertex: NodeIndex) -> Visit<Work> {
            let n = vertex.index();
            if self.passing.contains(&n) {
                return Visit::Pass;
            }
            if let Some((at, stop)) = &self.stop_at {
                if *at == n {
                    stop.request();
                }
            }
            let fails = self.failing.contains(&n);
            let (running, most) = (self.running.clone(), self.most.clone());
            Visit::Run(Work(n, fails, running, most, self.events.clone()))
        }

        fn finished(&mut self, vertex: NodeIndex, done: Result<bool, JoinError>) -> bool {
            let passed = done.unwrap_or(false);
            let verdict = if passed { "passed" } else { "failed" };
            self.note(format!("{verdict} {}", vertex.index()));
            passed
        }

        fn skipped(&mut self, vertex: NodeIndex, why: Skip) {
            let why = match why {
                Skip::Failed(by) => format!("after {}", by.index()),
                Skip::Stopped => "stopped".into(),
            };
            self.note(format!("skipped {} {why}", vertex.index()));
        }
    }

    fn saw(events: &[String], event: &str) -> bool {
        events.iter().any(|e| e == event)
    }

    async fn walked(graph: &DiGraph<usize, ()>, recorder: &mut Recorder, limit: usize) {
        walk(graph, recorder, limit, &Stop::new()).await.unwrap();
    }

    #[tokio::test]
    async fn a_vertex_starts_after_everything_before_it() {
        let graph = graph(3, &[(0, 1), (1, 2)]);
        let mut recorder = Recorder::new(&[]);
        walked(&graph, &mut recorder, 10).await;
        assert_eq!(
            recorder.events(),
            ["start 0", "passed 0", "start 1", "passed 1", "start 2", "passed 2"]
        );
    }

    #[tokio::test]
    async fn a_failure_skips_its_dependents_and_only_them() {
        // 0 -> 1 -> 2, 0 -> 3; 4 alone. 1 fails.
        let graph = graph(5, &[(0, 1), (1, 2), (0, 3)]);
        let mut recorder = Recorder::new(&[1]);
        walked(&graph, &mut recorder, 10).await;
        let events = recorder.events();
        assert!(saw(&events, "failed 1"), "{events:?}");
        assert!(saw(&events, "skipped 2 after 1"));
        for passed in ["passed 0", "passed 3", "passed 4"] {
            assert!(saw(&events, passed), "{events:?}");
        }
        assert_eq!(events.len(), 9, "{events:?}");
    }

    #[tokio::test]
    async fn a_skip_carries_the_first_failure_down_the_graph() {
        // 0 fails; 1 after 0; 2 after 1 and after 3, which passes.
        let graph = graph(4, &[(0, 1), (1, 2), (3, 2)]);
        let mut recorder = Recorder::new(&[0]);
        walked(&graph, &mut recorder, 10).await;
        let events = recorder.events();
        assert!(saw(&events, "skipped 1 after 0"), "{events:?}");
        assert!(saw(&events, "skipped 2 after 0"), "{events:?}");
    }

    #[tokio::test]
    async fn the_limit_bounds_how_many_run_at_once() {
        let graph = graph(8, &[]);
        let mut recorder = Recorder::new(&[]);
        walked(&graph, &mut recorder, 3).await;
        assert_eq!(recorder.most.load(Ordering::SeqCst), 3);
        assert_eq!(recorder.events().len(), 16);
        let mut one = Recorder::new(&[]);
        walked(&graph, &mut one, 0).await;
        assert_eq!(one.most.load(Ordering::SeqCst), 1, "a limit of 0 is 1");
    }

    #[tokio::test]
    async fn vertices_without_work_pass_through_and_take_no_slot() {
        // 0 -> 1 (no work) -> 2; a failure before 1 still reaches 2.
        let graph = graph(3, &[(0, 1), (1, 2)]);
        let mut recorder = Recorder::new(&[]);
        recorder.passing = vec![1];
        walked(&graph, &mut recorder, 1).await;
        assert_eq!(
            recorder.events(),
            ["start 0", "passed 0", "start 2", "passed 2"]
        );
        let mut failing = Recorder::new(&[0]);
        failing.passing = vec![1];
        walked(&graph, &mut failing, 1).await;
        assert_eq!(
            failing.events(),
            [
                "start 0",
                "failed 0",
                "skipped 1 after 0",
                "skipped 2 after 0"
            ]
        );
    }

    #[tokio::test]
    async fn a_stop_lets_the_running_work_finish_and_starts_nothing_new() {
        // 0 and 1 run; 0 asks to stop as it starts; 2 waits for a slot; 3 after 0.
        let graph = graph(4, &[(0, 3)]);
        let stop = Stop::new();
        let mut recorder = Recorder::new(&[]);
        recorder.stop_at = Some((0, stop.clone()));
        walk(&graph, &mut recorder, 2, &stop).await.unwrap();
        let events = recorder.events();
        assert!(saw(&events, "passed 0"), "{events:?}");
        assert!(saw(&events, "skipped 2 stopped"), "{events:?}");
        assert!(saw(&events, "skipped 3 stopped"), "{events:?}");
        assert!(!saw(&events, "start 2"), "{events:?}");
        assert!(!saw(&events, "start 3"), "{events:?}");
    }

    #[tokio::test]
    async fn a_stop_requested_before_the_walk_runs_nothing() {
        let graph = graph(2, &[(0, 1)]);
        let stop = Stop::new();
        stop.request();
        let mut recorder = Recorder::new(&[]);
        walk(&graph, &mut recorder, 2, &stop).await.unwrap();
        assert_eq!(
            recorder.events(),
            ["skipped 0 stopped", "skipped 1 stopped"]
        );
    }

    #[tokio::test]
    async fn a_panicking_work_is_a_failure_not_a_lost_vertex() {
        // The recorder's work panics at vertex 99.
        let graph = graph(101, &[(99, 100)]);
        let mut recorder = Recorder::new(&[]);
        walked(&graph, &mut recorder, 10).await;
        let events = recorder.events();
        assert!(saw(&events, "failed 99"), "{events:?}");
        assert!(saw(&events, "skipped 100 after 99"));
    }

    #[tokio::test]
    async fn a_cycle_is_refused_before_anything_runs() {
        let graph = graph(3, &[(0, 1), (1, 2), (2, 1)]);
        let mut recorder = Recorder::new(&[]);
        let cycle = walk(&graph, &mut recorder, 2, &Stop::new())
            .await
            .unwrap_err();
        assert_eq!(cycle.vertices.len(), 2);
        assert!(recorder.events().is_empty());
    }
}
