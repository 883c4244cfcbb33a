//! Starting flows: closed-loop workers (each starts its next flow when the last one ends) or
//! an open model (flows arrive at a fixed rate whatever the server's pace), until the number
//! of flows or the duration is reached. The flows run on one driver thread per core, each
//! with a runtime of its own (the login drivers' futures stay on their thread), sharing the
//! workers or the rate between them; the calling thread counts the results as they come and
//! keeps the live line.

use std::io::{IsTerminal, Write};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use futures::StreamExt;
use futures::future::{join_all, select};
use futures::stream::FuturesUnordered;

use super::flow::{self, FlowResult, Shared};
use super::options::{Arrival, Bounds};
use super::stats::Stats;
use crate::client::mcp::Revision;

/// What the driver needs besides the flows' shared state.
pub struct Drive {
    pub bounds: Bounds,
    pub arrival: Arrival,
    pub replay_sample: f64,
    /// How long flows still running at the end of `--duration` are waited for.
    pub grace: Duration,
    pub revision: Revision,
}

/// Hands out flow numbers until a limit is reached, to every driver thread.
struct Gate {
    started: AtomicU64,
    finished: AtomicU64,
    dropped: AtomicU64,
    limit: Option<u64>,
    deadline: Option<Instant>,
}

impl Gate {
    fn new(limit: Option<u64>, deadline: Option<Instant>) -> Self {
        Gate {
            started: AtomicU64::new(0),
            finished: AtomicU64::new(0),
            dropped: AtomicU64::new(0),
            limit,
            deadline,
        }
    }

    fn claim(&self) -> Option<u64> {
        if self.deadline.is_some_and(|d| Instant::now() >= d) {
            return None;
        }
        self.started
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                self.limit.is_none_or(|l| n < l).then_some(n + 1)
            })
            .ok()
    }

    fn open(&self) -> bool {
        !(self
            .limit
            .is_some_and(|l| self.started.load(Ordering::Acquire) >= l)
            || self.deadline.is_some_and(|d| Instant::now() >= d))
    }

    fn in_flight(&self) -> u64 {
        self.started
            .load(Ordering::Acquire)
            .saturating_sub(self.finished.load(Ordering::Acquire))
    }
}

/// Whether flow `n` replays its code: `fraction` of the flows, spread evenly.
pub fn replays(n: u64, fraction: f64) -> bool {
    ((n + 1) as f64 * fraction).floor() > (n as f64 * fraction).floor()
}

/// How many driver threads: one per core, never more than the flows in flight at once.
fn driver_threads(arrival: Arrival) -> usize {
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    let most = match arrival {
        Arrival::Closed { workers } => workers,
        Arrival::Open { max_in_flight, .. } => max_in_flight,
    };
    cores.clamp(1, most.max(1))
}

/// Thread `i`'s share of `total` among `threads`.
fn share(total: usize, i: usize, threads: usize) -> usize {
    total / threads + usize::from(i < total % threads)
}

/// Runs flows until the bounds are reached, counting each in `stats`; returns how long it took.
pub fn run(shared: &Shared, drive: &Drive, stats: &mut Stats) -> Duration {
    let started = Instant::now();
    let gate = Gate::new(
        drive.bounds.flows,
        drive.bounds.duration.map(|d| started + d),
    );
    let threads = driver_threads(drive.arrival);
    // Connections made on one thread's runtime serve the others' requests too: every runtime
    // keeps running until all threads' flows are done (this counts the threads still busy).
    let busy = tokio::sync::watch::Sender::new(threads);
    let (results, received) = mpsc::channel::<FlowResult>();
    std::thread::scope(|scope| {
        for i in 0..threads {
            let results = results.clone();
            let (gate, busy) = (&gate, &busy);
            scope.spawn(move || {
                let done = || busy.send_modify(|n| *n = n.saturating_sub(1));
                let runtime = match tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                {
                    Ok(r) => r,
                    Err(e) => {
                        eprintln!("error: cannot start a driver thread's runtime: {e}");
                        done();
                        return;
                    }
                };
                let mut idle = busy.subscribe();
                runtime.block_on(async {
                    drive_thread(shared, drive, gate, i, threads, &results).await;
                    done();
                    let _ = idle.wait_for(|n| *n == 0).await;
                });
            });
        }
        drop(results);
        count(&received, started, &gate, stats, drive.revision);
    });
    stats.dropped += gate.dropped.load(Ordering::Acquire);
    let unfinished = gate.in_flight();
    stats.record_unfinished(unfinished);
    started.elapsed()
}

/// Counts results as they come until every driver thread is done; once a second on a
/// terminal, the live line.
fn count(
    received: &mpsc::Receiver<FlowResult>,
    started: Instant,
    gate: &Gate,
    stats: &mut Stats,
    revision: Revision,
) {
    let terminal = std::io::stderr().is_terminal();
    let mut next_line = started + Duration::from_secs(1);
    loop {
        let wait = next_line.saturating_duration_since(Instant::now());
        match received.recv_timeout(wait) {
            Ok(result) => stats.record(result, revision),
            Err(mpsc::RecvTimeoutError::Timeout) => {}
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
        }
        if Instant::now() >= next_line {
            next_line += Duration::from_secs(1);
            if terminal {
                live_line(started, gate, stats);
            }
        }
    }
    if terminal {
        eprint!("\r\x1b[K");
    }
}

/// One driver thread: its share of the workers, or of the arrival rate, until the gate
/// closes (and, with a duration, the grace after it ends).
async fn drive_thread(
    shared: &Shared,
    drive: &Drive,
    gate: &Gate,
    i: usize,
    threads: usize,
    results: &mpsc::Sender<FlowResult>,
) {
    let started = Instant::now();
    let one = |n: u64| async move {
        let result = flow::run(shared, replays(n, drive.replay_sample)).await;
        gate.finished.fetch_add(1, Ordering::AcqRel);
        // The counting thread outlives the driver threads; a send fails only if it is gone.
        let _ = results.send(result);
    };
    let flows = async {
        match drive.arrival {
            Arrival::Closed { workers } => {
                join_all((0..share(workers, i, threads)).map(|_| async {
                    while let Some(n) = gate.claim() {
                        one(n).await;
                    }
                }))
                .await;
            }
            Arrival::Open {
                rate,
                max_in_flight,
            } => {
                let rate = rate / threads as f64;
                let max_in_flight = share(max_in_flight, i, threads);
                let mut in_flight = FuturesUnordered::new();
                let mut arrivals: u64 = 0;
                while gate.open() || !in_flight.is_empty() {
                    let due = (started.elapsed().as_secs_f64() * rate) as u64;
                    while arrivals < due && gate.open() {
                        arrivals += 1;
                        if in_flight.len() >= max_in_flight {
                            gate.dropped.fetch_add(1, Ordering::AcqRel);
                        } else if let Some(n) = gate.claim() {
                            in_flight.push(one(n));
                        }
                    }
                    let next = started + Duration::from_secs_f64((arrivals + 1) as f64 / rate);
                    let tick = tokio::time::sleep_until(next.into());
                    if in_flight.is_empty() {
                        if gate.open() {
                            tick.await;
                        }
                    } else if gate.open() {
                        let _ = select(in_flight.next(), Box::pin(tick)).await;
                    } else {
                        in_flight.next().await;
                    }
                }
            }
        }
    };
    match gate.deadline {
        Some(deadline) => {
            let stop = tokio::time::sleep_until((deadline + drive.grace).into());
            let _ = select(Box::pin(flows), Box::pin(stop)).await;
        }
        None => flows.await,
    }
}

/// The elapsed time, the flows so far and the rate.
fn live_line(started: Instant, gate: &Gate, stats: &Stats) {
    let secs = started.elapsed().as_secs_f64();
    let line = format!(
        "\r\x1b[K{secs:6.1} s  {} flows ({} ok, {} failed)  {:.0} flows/s  {} in flight",
        stats.flows,
        stats.succeeded,
        stats.failed,
        stats.flows as f64 / secs,
        gate.in_flight()
    );
    let mut err = std::io::stderr();
    let _ = err.write_all(line.as_bytes());
    let _ = err.flush();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_replay_sample_is_spread_evenly() {
        let count = |f: f64| (0..1000).filter(|n| replays(*n, f)).count();
        assert_eq!(count(0.1), 100);
        assert_eq!(count(0.0), 0);
        assert_eq!(count(1.0), 1000);
        assert_eq!(count(0.25), 250);
        let first: Vec<u64> = (0..30).filter(|n| replays(*n, 0.1)).collect();
        assert_eq!(first, vec![9, 19, 29]);
    }

    #[test]
    fn the_gate_closes_at_its_limit() {
        let gate = Gate::new(Some(2), None);
        assert_eq!(gate.claim(), Some(0));
        assert_eq!(gate.claim(), Some(1));
        assert!(!gate.open());
        assert_eq!(gate.claim(), None);
        assert_eq!(gate.started.load(Ordering::Acquire), 2);
        let past = Gate::new(None, Some(Instant::now()));
        assert_eq!(past.claim(), None);
    }

    #[test]
    fn the_workers_are_shared_out_whole() {
        assert_eq!(
            (0..3).map(|i| share(32, i, 3)).collect::<Vec<_>>(),
            [11, 11, 10]
        );
        assert_eq!((0..2).map(|i| share(1, i, 2)).sum::<usize>(), 1);
    }
}
