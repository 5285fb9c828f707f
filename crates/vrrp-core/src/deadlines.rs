//! The earliest deadline among many routers: an indexed binary min-heap.
//!
//! [`crate::Node`] files each router's next deadline here whenever the router is touched, so
//! the earliest deadline of the node is read in O(1) and updated in O(log n) instead of
//! scanning every router on every event. Once the heap holds every router it never allocates.

use crate::time::Instant;

/// Position of an entry that is not in the heap.
const ABSENT: usize = usize::MAX;

/// Deadlines keyed by a dense index (a router's), earliest first.
#[derive(Clone, Debug, Default)]
pub(crate) struct Deadlines {
    /// Heap of indices, ordered by `at[index]`.
    heap: Vec<usize>,
    /// For each index, its position in `heap`, or [`ABSENT`].
    pos: Vec<usize>,
    /// For each index, its filed deadline (meaningful while in the heap).
    at: Vec<Instant>,
}

impl Deadlines {
    /// Makes room for indices `0..n`.
    pub(crate) fn grow_to(&mut self, n: usize) {
        if self.pos.len() < n {
            self.pos.resize(n, ABSENT);
            self.at.resize(n, Instant::ZERO);
            self.heap.reserve(n - self.heap.len());
        }
    }

    /// The earliest deadline and its index.
    pub(crate) fn peek(&self) -> Option<(Instant, usize)> {
        self.heap.first().map(|&i| (self.at[i], i))
    }

    /// The deadline filed for `index`.
    #[cfg(test)]
    fn get(&self, index: usize) -> Option<Instant> {
        let p = self.pos.get(index).copied().unwrap_or(ABSENT);
        (p != ABSENT).then(|| self.at[index])
    }

    /// Files `deadline` for `index` (replacing any earlier one), or removes it with `None`.
    pub(crate) fn set(&mut self, index: usize, deadline: Option<Instant>) {
        self.grow_to(index + 1);
        let p = self.pos[index];
        match (p == ABSENT, deadline) {
            (true, None) => {}
            (true, Some(t)) => {
                self.at[index] = t;
                self.pos[index] = self.heap.len();
                self.heap.push(index);
                self.sift_up(self.heap.len() - 1);
            }
            (false, Some(t)) => {
                let earlier = t < self.at[index];
                self.at[index] = t;
                if earlier {
                    self.sift_up(p);
                } else {
                    self.sift_down(p);
                }
            }
            (false, None) => self.remove_at(p),
        }
    }

    /// Removes and returns the earliest entry if it is due at `now`.
    pub(crate) fn pop_due(&mut self, now: Instant) -> Option<usize> {
        let (t, i) = self.peek()?;
        if t > now {
            return None;
        }
        self.remove_at(0);
        Some(i)
    }

    fn remove_at(&mut self, p: usize) {
        let index = self.heap[p];
        let last = self.heap.len() - 1;
        self.swap(p, last);
        self.heap.pop();
        self.pos[index] = ABSENT;
        if p < self.heap.len() {
            self.sift_down(p);
            self.sift_up(p);
        }
    }

    fn swap(&mut self, a: usize, b: usize) {
        self.heap.swap(a, b);
        self.pos[self.heap[a]] = a;
        self.pos[self.heap[b]] = b;
    }

    fn key(&self, p: usize) -> Instant {
        self.at[self.heap[p]]
    }

    fn sift_up(&mut self, mut p: usize) {
        while p > 0 {
            let parent = (p - 1) / 2;
            if self.key(p) >= self.key(parent) {
                break;
            }
            self.swap(p, parent);
            p = parent;
        }
    }

    fn sift_down(&mut self, mut p: usize) {
        loop {
            let (l, r) = (2 * p + 1, 2 * p + 2);
            let mut least = p;
            if l < self.heap.len() && self.key(l) < self.key(least) {
                least = l;
            }
            if r < self.heap.len() && self.key(r) < self.key(least) {
                least = r;
            }
            if least == p {
                break;
            }
            self.swap(p, least);
            p = least;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn at(us: u64) -> Instant {
        Instant::from_micros(us)
    }

    #[test]
    fn peek_is_the_earliest_and_updates_move_entries() {
        let mut d = Deadlines::default();
        assert_eq!(d.peek(), None);
        d.set(3, Some(at(30)));
        d.set(1, Some(at(10)));
        d.set(2, Some(at(20)));
        assert_eq!(d.peek(), Some((at(10), 1)));
        d.set(1, Some(at(40)));
        assert_eq!(d.peek(), Some((at(20), 2)));
        d.set(3, Some(at(5)));
        assert_eq!(d.peek(), Some((at(5), 3)));
        d.set(3, None);
        assert_eq!(d.get(3), None);
        assert_eq!(d.pop_due(at(19)), None);
        assert_eq!(d.pop_due(at(20)), Some(2));
        assert_eq!(d.pop_due(at(100)), Some(1));
        assert_eq!(d.pop_due(at(100)), None);
    }

    proptest! {
        /// After any sequence of updates, the heap agrees with a plain table: the same
        /// entries, and the earliest deadline first.
        #[test]
        fn matches_a_table_scan(ops in proptest::collection::vec((0usize..16, proptest::option::of(0u64..50)), 0..200)) {
            let mut d = Deadlines::default();
            let mut table = [None::<u64>; 16];
            for (i, t) in ops {
                d.set(i, t.map(at));
                table[i] = t;
                let min = table.iter().flatten().min().copied();
                prop_assert_eq!(d.peek().map(|(t, _)| t), min.map(at));
                if let Some((t, i)) = d.peek() {
                    prop_assert_eq!(table[i].map(at), Some(t));
                }
                for (i, t) in table.iter().enumerate() {
                    prop_assert_eq!(d.get(i), t.map(at));
                }
            }
        }
    }
}
