//! A blocking client of the control socket (what `vrrpctl` uses).

use std::io::{self, BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::protocol::{Command, Request, Response, StreamLine, PROTOCOL_VERSION};

/// How long the client waits for an answer (a reload may take a while).
pub const ANSWER_TIMEOUT: Duration = Duration::from_secs(60);

/// Why a request got no answer.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The socket cannot be reached.
    #[error("cannot connect to {path}: {source} (is vrrpd running, with this --socket?)")]
    Connect {
        /// The socket.
        path: PathBuf,
        /// The error.
        #[source]
        source: io::Error,
    },
    /// Sending or receiving failed.
    #[error("control socket {path}: {source}")]
    Io {
        /// The socket.
        path: PathBuf,
        /// The error.
        #[source]
        source: io::Error,
    },
    /// The daemon closed the connection without answering.
    #[error("control socket {0}: the daemon closed the connection without answering")]
    NoAnswer(PathBuf),
    /// The answer is not a response of this protocol.
    #[error("control socket {path}: unreadable answer: {source}")]
    BadAnswer {
        /// The socket.
        path: PathBuf,
        /// The error.
        #[source]
        source: serde_json::Error,
    },
}

/// Sends `command` to the daemon listening on `path` and returns its response.
pub fn request(path: &Path, command: Command) -> Result<Response, ClientError> {
    let (_, response) = send(path, command, Some(ANSWER_TIMEOUT))?;
    Ok(response)
}

/// Asks for the event stream, calls `started` once the daemon streams, then `each` with every
/// line until the daemon closes it (or `each` returns false). Returns the response that opened the stream, or the error
/// response if the daemon refused.
pub fn events(
    path: &Path,
    started: impl FnOnce(),
    mut each: impl FnMut(StreamLine) -> bool,
) -> Result<Response, ClientError> {
    let (mut reader, response) = send(path, Command::Events, None)?;
    if !response.ok {
        return Ok(response);
    }
    started();
    let mut line = String::new();
    loop {
        line.clear();
        let n = reader
            .read_line(&mut line)
            .map_err(|source| ClientError::Io {
                path: path.to_owned(),
                source,
            })?;
        if n == 0 {
            return Ok(response);
        }
        let parsed: StreamLine =
            serde_json::from_str(&line).map_err(|source| ClientError::BadAnswer {
                path: path.to_owned(),
                source,
            })?;
        if !each(parsed) {
            return Ok(response);
        }
    }
}

/// Connects, sends `command` and reads the response line; returns the reader for what
/// follows (the event stream).
fn send(
    path: &Path,
    command: Command,
    timeout: Option<Duration>,
) -> Result<(BufReader<UnixStream>, Response), ClientError> {
    let io_err = |source| ClientError::Io {
        path: path.to_owned(),
        source,
    };
    let mut stream = UnixStream::connect(path).map_err(|source| ClientError::Connect {
        path: path.to_owned(),
        source,
    })?;
    stream.set_read_timeout(timeout).map_err(io_err)?;
    let request = Request {
        version: PROTOCOL_VERSION,
        command,
    };
    let mut line = serde_json::to_vec(&request).expect("a request serialises");
    line.push(b'\n');
    stream.write_all(&line).map_err(io_err)?;
    let mut reader = BufReader::new(stream);
    let mut answer = String::new();
    reader.read_line(&mut answer).map_err(io_err)?;
    if answer.is_empty() {
        return Err(ClientError::NoAnswer(path.to_owned()));
    }
    let response = serde_json::from_str(&answer).map_err(|source| ClientError::BadAnswer {
        path: path.to_owned(),
        source,
    })?;
    Ok((reader, response))
}
