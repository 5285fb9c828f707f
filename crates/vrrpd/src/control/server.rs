//! The control socket's listener: accepts clients, reads their request lines, hands each
//! request to the runtime's event loop and writes the answer back.
//!
//! The socket is created with mode 0600 (owner root), its directory with 0755 if missing. A
//! socket file left by a crashed daemon is replaced; one that a running daemon answers on is
//! left alone, and this daemon runs without a control socket (logged). Clients are bounded:
//! [`MAX_CLIENTS`] at once (the next one gets `busy`), [`IDLE_TIMEOUT`] between requests,
//! [`WRITE_TIMEOUT`] per answer, [`MAX_REQUEST_LINE`] per request; none of this touches the
//! data plane, which runs in its own task.

use std::io;
use std::os::unix::fs::{FileTypeExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{UnixListener, UnixStream};
use tokio::sync::{broadcast, mpsc, oneshot, Semaphore};
use tokio::task::JoinHandle;

use super::protocol::{
    Command, ErrorKind, HistoryEntry, Request, Response, StreamLine, MAX_REQUEST_LINE,
    PROTOCOL_VERSION,
};

/// Clients served at once.
pub const MAX_CLIENTS: usize = 64;
/// A client that sends no request for this long is disconnected.
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(60);
/// A client that does not read its answer within this is disconnected.
pub const WRITE_TIMEOUT: Duration = Duration::from_secs(5);

/// A request for the event loop, with where its answer goes.
#[derive(Debug)]
pub struct Query {
    /// What is asked.
    pub command: Command,
    /// The answer.
    pub reply: oneshot::Sender<Response>,
}

/// Why the control socket could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum ControlError {
    /// Another process answers on the socket.
    #[error("control socket {0}: another process answers on it (another vrrpd?)")]
    InUse(PathBuf),
    /// The path exists and is not a socket.
    #[error("control socket {0}: the path exists and is not a socket")]
    NotASocket(PathBuf),
    /// The `--control-group` does not exist.
    #[error("control socket: no group named {0:?} (--control-group)")]
    NoSuchGroup(String),
    /// Creating the directory or binding failed.
    #[error("control socket {path}: {source}")]
    Io {
        /// The socket path.
        path: PathBuf,
        /// The error.
        #[source]
        source: io::Error,
    },
}

/// A listening control socket; the file is removed when it is dropped.
#[derive(Debug)]
pub struct ControlSocket {
    path: PathBuf,
    /// The directory this daemon created for the socket (removed again if empty).
    created_dir: Option<PathBuf>,
    task: JoinHandle<()>,
}

impl ControlSocket {
    /// Creates the socket at `path` and serves it on the current runtime, sending every
    /// request to `queries`; `events` clients get what is sent on `events`.
    /// With `group`, the socket is mode 0660 owned by that group, whose members may only read
    /// (see [`Command::changes_state`]).
    pub fn start(
        path: &Path,
        group: Option<&str>,
        queries: mpsc::Sender<Query>,
        events: broadcast::Sender<HistoryEntry>,
    ) -> Result<ControlSocket, ControlError> {
        let gid = group
            .map(|g| match nix::unistd::Group::from_name(g) {
                Ok(Some(g)) => Ok(g.gid),
                _ => Err(ControlError::NoSuchGroup(g.to_owned())),
            })
            .transpose()?;
        let (listener, created_dir) = bind(path)?;
        if let Some(gid) = gid {
            let io_err = |source| ControlError::Io {
                path: path.to_owned(),
                source,
            };
            nix::unistd::chown(path, None, Some(gid)).map_err(|e| io_err(io::Error::from(e)))?;
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o660))
                .map_err(io_err)?;
        }
        let task = tokio::spawn(accept_loop(listener, Channels { queries, events }));
        tracing::info!(path = %path.display(), "control socket listening");
        Ok(ControlSocket {
            path: path.to_owned(),
            created_dir,
            task,
        })
    }

    /// The socket's path.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for ControlSocket {
    fn drop(&mut self) {
        self.task.abort();
        let _ = std::fs::remove_file(&self.path);
        if let Some(dir) = &self.created_dir {
            let _ = std::fs::remove_dir(dir);
        }
    }
}

/// Binds `path` with mode 0600, replacing a stale socket file; returns the listener and the
/// directory it created for it, if any.
fn bind(path: &Path) -> Result<(UnixListener, Option<PathBuf>), ControlError> {
    let io_err = |source| ControlError::Io {
        path: path.to_owned(),
        source,
    };
    let mut created_dir = None;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        if !dir.exists() {
            std::fs::create_dir_all(dir).map_err(io_err)?;
            std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755))
                .map_err(io_err)?;
            created_dir = Some(dir.to_owned());
        }
    }
    match std::fs::symlink_metadata(path) {
        Ok(m) if m.file_type().is_socket() => {
            if std::os::unix::net::UnixStream::connect(path).is_ok() {
                return Err(ControlError::InUse(path.to_owned()));
            }
            tracing::info!(path = %path.display(), "removing a stale control socket");
            std::fs::remove_file(path).map_err(io_err)?;
        }
        Ok(_) => return Err(ControlError::NotASocket(path.to_owned())),
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(io_err(e)),
    }
    // The runtime is single-threaded: the umask covers exactly this bind, so the socket is
    // never reachable with wider permissions.
    let old = nix::sys::stat::umask(nix::sys::stat::Mode::from_bits_truncate(0o177));
    let bound = UnixListener::bind(path);
    nix::sys::stat::umask(old);
    let listener = bound.map_err(io_err)?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).map_err(io_err)?;
    Ok((listener, created_dir))
}

/// Where a client's requests go: the event loop, and the event stream.
#[derive(Clone)]
struct Channels {
    queries: mpsc::Sender<Query>,
    events: broadcast::Sender<HistoryEntry>,
}

async fn accept_loop(listener: UnixListener, channels: Channels) {
    let slots = Arc::new(Semaphore::new(MAX_CLIENTS));
    loop {
        let stream = match listener.accept().await {
            Ok((stream, _)) => stream,
            Err(e) => {
                tracing::warn!(error = %e, "control socket: accept failed");
                // EMFILE and the like: do not spin.
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        match slots.clone().try_acquire_owned() {
            Ok(permit) => {
                let channels = channels.clone();
                tokio::spawn(async move {
                    serve_client(stream, channels).await;
                    drop(permit);
                });
            }
            Err(_) => {
                tokio::spawn(async move {
                    let busy = Response::error(
                        ErrorKind::Busy,
                        format!("{MAX_CLIENTS} clients are connected; try again"),
                    );
                    let mut stream = stream;
                    let _ = write_line(&mut stream, &busy).await;
                });
            }
        }
    }
}

/// Serves one client: request lines until it closes, idles, or sends something unreadable;
/// after an `events` request, the event stream until it goes away.
async fn serve_client(stream: UnixStream, channels: Channels) {
    // Only the daemon's own user (root) may change anything; group members may read.
    let read_only = stream.peer_cred().map_or(true, |c| {
        c.uid() != 0 && c.uid() != nix::unistd::geteuid().as_raw()
    });
    let (read, mut write) = stream.into_split();
    let mut reader = BufReader::new(read);
    let mut line = Vec::new();
    loop {
        line.clear();
        let limit = (MAX_REQUEST_LINE + 1) as u64;
        let read = tokio::time::timeout(
            IDLE_TIMEOUT,
            (&mut reader).take(limit).read_until(b'\n', &mut line),
        )
        .await;
        let (response, last) = match read {
            Err(_) | Ok(Err(_)) | Ok(Ok(0)) => return,
            Ok(Ok(_)) if line.len() > MAX_REQUEST_LINE => (
                Response::error(
                    ErrorKind::RequestTooLong,
                    format!("a request line is at most {MAX_REQUEST_LINE} bytes"),
                ),
                true,
            ),
            Ok(Ok(_)) => match parse(&line) {
                Ok(Command::Events) => {
                    let events = channels.events.subscribe();
                    if write_line(&mut write, &Response::streaming()).await.is_ok() {
                        stream_events(&mut write, events).await;
                    }
                    return;
                }
                Ok(command) if read_only && command.changes_state() => (
                    Response::error(
                        ErrorKind::ReadOnly,
                        "this client may only read (status, history, events): reload, \
                         maintenance and garp need root",
                    ),
                    false,
                ),
                Ok(command) => (ask(command, &channels.queries).await, false),
                Err(response) => (*response, false),
            },
        };
        if write_line(&mut write, &response).await.is_err() || last {
            return;
        }
    }
}

/// Writes every event to the client until it goes away or stops reading.
async fn stream_events(
    write: &mut (impl AsyncWriteExt + Unpin),
    mut events: broadcast::Receiver<HistoryEntry>,
) {
    loop {
        let line = match events.recv().await {
            Ok(e) => StreamLine::Event(e),
            Err(broadcast::error::RecvError::Lagged(n)) => StreamLine::Lagged(n),
            Err(broadcast::error::RecvError::Closed) => return,
        };
        if write_line(write, &line).await.is_err() {
            return;
        }
    }
}

/// Parses one request line; the error response if it is not a request of this version.
fn parse(line: &[u8]) -> Result<Command, Box<Response>> {
    let request: Request = serde_json::from_slice(line).map_err(|e| {
        Box::new(Response::error(
            ErrorKind::BadRequest,
            format!("not a request: {e}; expected one JSON object per line, e.g. {{\"version\":{PROTOCOL_VERSION},\"command\":\"status\"}}"),
        ))
    })?;
    if request.version != PROTOCOL_VERSION {
        return Err(Box::new(Response::error(
            ErrorKind::UnsupportedVersion,
            format!(
                "protocol version {} is not supported; this vrrpd speaks {PROTOCOL_VERSION}",
                request.version
            ),
        )));
    }
    Ok(request.command)
}

/// Gets the answer to `command` from the event loop.
async fn ask(command: Command, queries: &mpsc::Sender<Query>) -> Response {
    let (reply, answer) = oneshot::channel();
    if queries.send(Query { command, reply }).await.is_err() {
        return Response::error(ErrorKind::Unavailable, "the daemon is stopping");
    }
    answer
        .await
        .unwrap_or_else(|_| Response::error(ErrorKind::Unavailable, "the daemon did not answer"))
}

/// Writes `value` as one JSON line, within [`WRITE_TIMEOUT`].
async fn write_line(
    write: &mut (impl AsyncWriteExt + Unpin),
    value: &impl serde::Serialize,
) -> io::Result<()> {
    let mut text = serde_json::to_vec(value).map_err(io::Error::other)?;
    text.push(b'\n');
    match tokio::time::timeout(WRITE_TIMEOUT, write.write_all(&text)).await {
        Ok(r) => r,
        Err(_) => Err(io::Error::new(
            io::ErrorKind::TimedOut,
            "the client does not read its answer",
        )),
    }
}
