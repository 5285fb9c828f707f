//! The crate's only `unsafe` code: one-line wrappers around APIs that have
//! no safe form.

use std::io;
use std::os::fd::{AsFd, AsRawFd, RawFd};

use nix::sys::socket::{LinkAddr, SockaddrLike};
use nix::sys::timerfd::TimerFd;
use socket2::Socket;
use tokio::io::unix::AsyncFd;
use tokio::io::Interest;

/// Registers a socket with the tokio reactor for read and write readiness.
#[allow(unsafe_code)]
pub(crate) fn async_fd(sock: Socket) -> io::Result<AsyncFd<Socket>> {
    // SAFETY: `socket2::Socket` owns its descriptor (an `OwnedFd`): it stays
    // open and `as_raw_fd()` returns the same value until the `Socket` is
    // dropped, and the `AsyncFd` owns the `Socket` for its whole lifetime.
    unsafe { AsyncFd::register_with_interest(sock, Interest::READABLE | Interest::WRITABLE) }
        .map_err(io::Error::from)
}

/// A timerfd that tokio can poll ([`AsyncFd`] needs [`AsRawFd`], which nix's
/// [`TimerFd`] does not implement).
pub(crate) struct PolledTimerFd(pub(crate) TimerFd);

impl AsRawFd for PolledTimerFd {
    fn as_raw_fd(&self) -> RawFd {
        self.0.as_fd().as_raw_fd()
    }
}

/// Registers a timerfd with the tokio reactor for read readiness.
#[allow(unsafe_code)]
pub(crate) fn async_timer_fd(fd: TimerFd) -> io::Result<AsyncFd<PolledTimerFd>> {
    // SAFETY: `TimerFd` owns its descriptor (an `OwnedFd`): it stays open and
    // `as_raw_fd()` returns the same value until it is dropped, and the
    // `AsyncFd` owns the `PolledTimerFd` for its whole lifetime.
    unsafe { AsyncFd::register_with_interest(PolledTimerFd(fd), Interest::READABLE) }
        .map_err(io::Error::from)
}

/// Builds a `sockaddr_ll` for sending a frame on `ifindex` (nix has no safe
/// constructor for `LinkAddr`).
#[allow(unsafe_code)]
pub(crate) fn link_addr(ifindex: u32, protocol: u16, dst_mac: [u8; 6]) -> LinkAddr {
    let mut addr = [0u8; 8];
    addr[..6].copy_from_slice(&dst_mac);
    let sll = libc::sockaddr_ll {
        sll_family: libc::AF_PACKET as u16,
        sll_protocol: protocol.to_be(),
        sll_ifindex: ifindex as i32,
        sll_hatype: 0,
        sll_pkttype: 0,
        sll_halen: 6,
        sll_addr: addr,
    };
    let len = std::mem::size_of::<libc::sockaddr_ll>() as libc::socklen_t;
    // SAFETY: `sll` is a fully initialised `sockaddr_ll` with family
    // AF_PACKET and `len` is exactly its size; `from_raw` copies it.
    unsafe { LinkAddr::from_raw((&sll as *const libc::sockaddr_ll).cast(), Some(len)) }
        .expect("a well-formed sockaddr_ll")
}
