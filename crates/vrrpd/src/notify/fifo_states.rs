//! FIFO-only lines: `fifo_write_vrrp_states_on_reload` ([`Notifier::write_fifo_states`]) and
//! the FIFO writes of [`Notifier::notify`] ([`Notifier::write_fifos`]).

use std::io::{self, Write};

use tracing::warn;

use super::{fifo_line, Notifier, NotifyState, Subject};

/// One state line to write: subject, name, state, priority (0 for groups).
pub type StateLine = (Subject, String, NotifyState, u8);

impl Notifier {
    /// Writes one line per entry of `states`, in order, to every FIFO, and runs no script:
    /// keepalived's `fifo_write_vrrp_states_on_reload` after a reload. Written under the same
    /// lock as [`Notifier::notify`]'s lines, so they are not interleaved with them.
    pub fn write_fifo_states(&self, states: &[StateLine]) {
        let _order = self.workers.lock().unwrap_or_else(|e| e.into_inner());
        for (subject, name, state, priority) in states {
            let priority = if *subject == Subject::Group {
                0
            } else {
                *priority
            };
            self.write_fifos(&fifo_line(*subject, name, *state, priority));
        }
    }

    /// Writes `line` to every FIFO without blocking (a full pipe drops it, logged). The caller
    /// holds the workers lock, which orders FIFO lines.
    pub(super) fn write_fifos(&self, line: &str) {
        for (path, file) in &self.fifos {
            match (&*file).write(line.as_bytes()) {
                Ok(n) if n == line.len() => {}
                Ok(n) => warn!(
                    "notify FIFO {path:?}: short write ({n} of {} bytes)",
                    line.len()
                ),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    warn!(
                        "notify FIFO {path:?} is full (no reader?): dropped {:?}",
                        line.trim_end()
                    )
                }
                Err(e) => warn!("notify FIFO {path:?}: write failed: {e}"),
            }
        }
    }
}
