//! Work split across the machine's cores: checking a large batch of signatures (replies, registry
//! entries) one share per core on tokio's blocking threads, in order.

use std::sync::{Arc, OnceLock};

/// The cores to work on, asked of the system once (on Linux it reads cgroup files).
pub fn count() -> usize {
    static CORES: OnceLock<usize> = OnceLock::new();
    *CORES.get_or_init(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
}

/// `work` applied to `items` in one share per core, the results in the order of the items.
/// Fewer than `fewest` items (or one core) are worked on here, where sharing would cost more
/// than it saves. A share whose work panicked is a bug: its results count as none, never as
/// valid, and it is logged.
pub async fn in_shares<T, R, F>(items: Vec<T>, fewest: usize, work: F) -> Vec<R>
where
    T: Send + Sync + 'static,
    R: Send + 'static,
    F: Fn(&[T]) -> Vec<R> + Send + Sync + 'static,
{
    let workers = count();
    if workers == 1 || items.len() < fewest.max(2) {
        return work(&items);
    }
    let share = items.len().div_ceil(workers);
    let (items, work) = (Arc::new(items), Arc::new(work));
    let shares: Vec<_> = (0..workers)
        .map(|worker| {
            let (items, work) = (items.clone(), work.clone());
            tokio::task::spawn_blocking(move || {
                let end = items.len().min((worker + 1) * share);
                work(items.get(worker * share..end).unwrap_or_default())
            })
        })
        .collect();
    let mut results = Vec::with_capacity(items.len());
    for share in shares {
        match share.await {
            Ok(part) => results.extend(part),
            Err(error) => tracing::error!(%error, "a share of checks failed"),
        }
    }
    results
}

#[cfg(test)]
mod tests {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn shares_keep_the_order_of_the_items() {
        let items: Vec<u32> = (0..1000).collect();
        let doubled =
            super::in_shares(items, 10, |part| part.iter().map(|n| n * 2).collect()).await;
        assert_eq!(doubled, (0..1000).map(|n| n * 2).collect::<Vec<_>>());
    }
}
