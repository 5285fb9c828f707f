//! The driver's deadline timer: a `timerfd` polled by tokio, so that a router's deadline is met
//! within microseconds.
//!
//! tokio's own timer has a resolution of one millisecond: it rounds every deadline up to the
//! next millisecond and parks with a millisecond timeout, so a `sleep_until` ends 0 to 2 ms
//! late (about 1 ms on average). That lateness adds directly to every failover (the
//! Active_Down_Timer) and every advert interval. A `CLOCK_MONOTONIC` timerfd wakes the
//! runtime's epoll at the deadline itself. If the kernel refuses a timerfd, the driver falls
//! back to tokio's timer (and logs it once).

use std::io;
use std::time::Duration;

use nix::sys::time::TimeSpec;
use nix::sys::timerfd::{ClockId, Expiration, TimerFd, TimerFlags, TimerSetTimeFlags};
use tokio::io::unix::AsyncFd;
use tokio::time::Instant;

use crate::sys::{async_timer_fd, PolledTimerFd};

/// How the timer waits.
enum Clock {
    /// A timerfd, and the deadline it is armed for.
    TimerFd {
        fd: AsyncFd<PolledTimerFd>,
        armed: Option<Instant>,
    },
    /// tokio's millisecond timer.
    Tokio,
}

/// One deadline at a time, re-armed only when it changes.
pub(super) struct DeadlineTimer {
    clock: Clock,
}

impl DeadlineTimer {
    /// A timerfd-backed timer, or tokio's timer if no timerfd can be had.
    pub(super) fn new() -> Self {
        let clock = match Self::timerfd() {
            Ok(fd) => Clock::TimerFd { fd, armed: None },
            Err(error) => {
                tracing::warn!(%error, "no timerfd: deadlines are met to the millisecond only");
                Clock::Tokio
            }
        };
        Self { clock }
    }

    /// Whether the timer uses a timerfd (tests).
    #[cfg(test)]
    fn is_precise(&self) -> bool {
        matches!(self.clock, Clock::TimerFd { .. })
    }

    /// A non-blocking `CLOCK_MONOTONIC` timerfd, registered with the reactor.
    fn timerfd() -> io::Result<AsyncFd<PolledTimerFd>> {
        let fd = TimerFd::new(
            ClockId::CLOCK_MONOTONIC,
            TimerFlags::TFD_NONBLOCK | TimerFlags::TFD_CLOEXEC,
        )?;
        async_timer_fd(fd)
    }

    /// Waits until `deadline`, or forever without one.
    ///
    /// Cancel-safe: a dropped wait leaves the timer armed, and the next wait for the same
    /// deadline does not re-arm it (a deadline that passed meanwhile returns at once). A
    /// *later* deadline does not re-arm it either: the timer fires at the earlier one and is
    /// re-armed then, inside this wait. A Backup's deadline moves later with every advert it
    /// hears, so this saves one `timerfd_settime` per received advert at the cost of one
    /// wake-up per Active_Down_Interval.
    pub(super) async fn sleep_until(&mut self, deadline: Option<Instant>) {
        let Some(deadline) = deadline else {
            return std::future::pending().await;
        };
        loop {
            let Clock::TimerFd { fd, armed } = &mut self.clock else {
                return tokio::time::sleep_until(deadline).await;
            };
            let fires_at = match *armed {
                Some(at) if at <= deadline => at,
                _ => {
                    if let Err(error) = arm(fd.get_ref(), deadline) {
                        tracing::warn!(%error, "timerfd_settime failed: using tokio's timer");
                        self.clock = Clock::Tokio;
                        continue;
                    }
                    *armed = Some(deadline);
                    deadline
                }
            };
            if let Err(error) = expire(fd).await {
                tracing::warn!(%error, "timerfd read failed: using tokio's timer");
                self.clock = Clock::Tokio;
                continue;
            }
            *armed = None;
            if fires_at >= deadline {
                return;
            }
        }
    }
}

/// Arms `fd` to expire at `deadline` (at once if it has passed: a zero time would disarm it).
fn arm(fd: &PolledTimerFd, deadline: Instant) -> nix::Result<()> {
    let wait = deadline
        .saturating_duration_since(Instant::now())
        .max(Duration::from_nanos(1));
    fd.0.set(
        Expiration::OneShot(TimeSpec::from_duration(wait)),
        TimerSetTimeFlags::empty(),
    )
}

/// Waits until the armed timer has expired, and consumes the expiry.
async fn expire(fd: &AsyncFd<PolledTimerFd>) -> io::Result<()> {
    loop {
        let mut ready = fd.readable().await?;
        match ready.try_io(|fd| fd.get_ref().0.wait().map_err(io::Error::from)) {
            Ok(result) => return result,
            Err(_would_block) => continue,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn runtime() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
    }

    /// Starts a wait for `deadline` and drops it 1 ms later, as when a packet wins the
    /// driver's select; checks that it had not returned.
    async fn cancelled_wait(timer: &mut DeadlineTimer, deadline: Instant) {
        let early =
            tokio::time::timeout(Duration::from_millis(1), timer.sleep_until(Some(deadline))).await;
        assert!(early.is_err(), "returned before its deadline");
    }

    #[test]
    fn it_waits_until_the_deadline_and_not_before() {
        runtime().block_on(async {
            let mut timer = DeadlineTimer::new();
            assert!(timer.is_precise(), "a timerfd is available on Linux");
            let deadline = Instant::now() + Duration::from_millis(20);
            timer.sleep_until(Some(deadline)).await;
            assert!(Instant::now() >= deadline, "woke before the deadline");
        });
    }

    #[test]
    fn a_deadline_that_passed_returns_at_once() {
        runtime().block_on(async {
            let mut timer = DeadlineTimer::new();
            let past = Instant::now() - Duration::from_millis(5);
            // Would hang (and the test time out) if a passed deadline disarmed the timer.
            tokio::time::timeout(Duration::from_secs(5), timer.sleep_until(Some(past)))
                .await
                .expect("a passed deadline returns");
        });
    }

    #[test]
    fn a_dropped_wait_keeps_the_deadline_armed() {
        runtime().block_on(async {
            let mut timer = DeadlineTimer::new();
            let deadline = Instant::now() + Duration::from_millis(30);
            cancelled_wait(&mut timer, deadline).await;
            // Not re-armed (same deadline): the armed timer must still fire.
            tokio::time::timeout(Duration::from_secs(5), timer.sleep_until(Some(deadline)))
                .await
                .expect("the armed deadline fires");
            assert!(Instant::now() >= deadline);
            // Re-armed for a new deadline after an expiry.
            let next = Instant::now() + Duration::from_millis(10);
            timer.sleep_until(Some(next)).await;
            assert!(Instant::now() >= next);
        });
    }

    #[test]
    fn a_later_deadline_is_waited_for_in_full() {
        runtime().block_on(async {
            let mut timer = DeadlineTimer::new();
            let early = Instant::now() + Duration::from_millis(10);
            cancelled_wait(&mut timer, early).await;
            // The armed (earlier) expiry is consumed inside the wait, which goes on.
            let later = Instant::now() + Duration::from_millis(40);
            tokio::time::timeout(Duration::from_secs(5), timer.sleep_until(Some(later)))
                .await
                .expect("the later deadline fires");
            assert!(
                Instant::now() >= later,
                "returned at the earlier, stale deadline"
            );
        });
    }

    #[test]
    fn a_changed_deadline_replaces_the_armed_one() {
        runtime().block_on(async {
            let mut timer = DeadlineTimer::new();
            let late = Instant::now() + Duration::from_secs(30);
            cancelled_wait(&mut timer, late).await;
            let sooner = Instant::now() + Duration::from_millis(10);
            tokio::time::timeout(Duration::from_secs(5), timer.sleep_until(Some(sooner)))
                .await
                .expect("the sooner deadline replaced the later one");
            assert!(Instant::now() >= sooner);
        });
    }
}
