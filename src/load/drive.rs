//! Starting flows: closed-loop workers (each starts its next flow when the last one ends) or
//! an open model (flows arrive at a fixed rate whatever the server's pace), until the number
//! of flows or the duration is reached. Flows run concurrently in one task (the login
//! drivers' futures stay on their thread); the server and the connections run on the
//! runtime's workers.

use std::cell::{Cell, RefCell};
use std::io::{IsTerminal, Write};
use std::time::{Duration, Instant};

use futures::StreamExt;
use futures::future::{join_all, select};
use futures::stream::FuturesUnordered;

use super::flow::{self, Shared};
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

/// Hands out flow numbers until a limit is reached.
struct Gate {
    started: Cell<u64>,
    finished: Cell<u64>,
    limit: Option<u64>,
    deadline: Option<Instant>,
}

impl Gate {
    fn claim(&self) -> Option<u64> {
        let n = self.started.get();
        if self.limit.is_some_and(|l| n >= l) || self.deadline.is_some_and(|d| Instant::now() >= d)
        {
            return None;
        }
        self.started.set(n + 1);
        Some(n)
    }

    fn open(&self) -> bool {
        !(self.limit.is_some_and(|l| self.started.get() >= l)
            || self.deadline.is_some_and(|d| Instant::now() >= d))
    }
}

/// Whether flow `n` replays its code: `fraction` of the flows, spread evenly.
pub fn replays(n: u64, fraction: f64) -> bool {
    ((n + 1) as f64 * fraction).floor() > (n as f64 * fraction).floor()
}

/// Runs flows until the bounds are reached; returns how long it took.
pub async fn run(shared: &Shared, drive: &Drive, stats: &RefCell<Stats>) -> Duration {
    let started = Instant::now();
    let gate = Gate {
        started: Cell::new(0),
        finished: Cell::new(0),
        limit: drive.bounds.flows,
        deadline: drive.bounds.duration.map(|d| started + d),
    };
    let one = |n: u64| {
        let gate = &gate;
        async move {
            let result = flow::run(shared, replays(n, drive.replay_sample)).await;
            stats.borrow_mut().record(result, drive.revision);
            gate.finished.set(gate.finished.get() + 1);
        }
    };
    let flows = async {
        match drive.arrival {
            Arrival::Closed { workers } => {
                join_all((0..workers).map(|_| async {
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
                let mut in_flight = FuturesUnordered::new();
                let mut arrivals: u64 = 0;
                while gate.open() || !in_flight.is_empty() {
                    let due = (started.elapsed().as_secs_f64() * rate) as u64;
                    while arrivals < due && gate.open() {
                        arrivals += 1;
                        if in_flight.len() >= max_in_flight {
                            stats.borrow_mut().dropped += 1;
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
    let bounded = async {
        match gate.deadline {
            Some(deadline) => {
                let stop = tokio::time::sleep_until((deadline + drive.grace).into());
                let _ = select(Box::pin(flows), Box::pin(stop)).await;
            }
            None => flows.await,
        }
    };
    let live = live_line(started, &gate, stats);
    // The live line never ends on its own: the flows end the select.
    let _ = select(Box::pin(bounded), Box::pin(live)).await;
    if std::io::stderr().is_terminal() {
        eprint!("\r\x1b[K");
    }
    let unfinished = gate.started.get() - gate.finished.get();
    stats.borrow_mut().record_unfinished(unfinished);
    started.elapsed()
}

/// Once a second on a terminal: the elapsed time, the flows so far and the rate.
async fn live_line(started: Instant, gate: &Gate, stats: &RefCell<Stats>) {
    let terminal = std::io::stderr().is_terminal();
    loop {
        tokio::time::sleep(Duration::from_secs(1)).await;
        if !terminal {
            continue;
        }
        let secs = started.elapsed().as_secs_f64();
        let line = {
            let s = stats.borrow();
            format!(
                "\r\x1b[K{secs:6.1} s  {} flows ({} ok, {} failed)  {:.0} flows/s  {} in flight",
                s.flows,
                s.succeeded,
                s.failed,
                s.flows as f64 / secs,
                gate.started.get() - gate.finished.get()
            )
        };
        let mut err = std::io::stderr();
        let _ = err.write_all(line.as_bytes());
        let _ = err.flush();
    }
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
        let gate = Gate {
            started: Cell::new(0),
            finished: Cell::new(0),
            limit: Some(2),
            deadline: None,
        };
        assert_eq!(gate.claim(), Some(0));
        assert_eq!(gate.claim(), Some(1));
        assert!(!gate.open());
        assert_eq!(gate.claim(), None);
        let past = Gate {
            started: Cell::new(0),
            finished: Cell::new(0),
            limit: None,
            deadline: Some(Instant::now()),
        };
        assert_eq!(past.claim(), None);
    }
}
