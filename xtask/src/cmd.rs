//! Running commands: echoed, with their failure as an [`Error`].

use std::path::Path;
use std::process::{Command, ExitCode, Stdio};

use crate::error::Error;

/// The command line as one string, for messages.
pub fn line(program: &str, args: &[&str]) -> String {
    std::iter::once(program)
        .chain(args.iter().copied())
        .collect::<Vec<_>>()
        .join(" ")
}

/// Runs `program args` with inherited stdio and the extra environment `env`; a non-zero exit
/// status is an error.
pub fn run(program: &str, args: &[&str], env: &[(&str, &str)]) -> Result<(), Error> {
    let cmd = line(program, args);
    println!("+ {cmd}");
    let status = Command::new(program)
        .args(args)
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .status()
        .map_err(|source| Error::Spawn {
            cmd: cmd.clone(),
            source,
        })?;
    if status.success() {
        Ok(())
    } else {
        Err(Error::Failed {
            cmd,
            status,
            detail: String::new(),
        })
    }
}

/// Runs `program args` quietly and returns its stdout; a non-zero exit status is an error
/// carrying stderr.
pub fn output(program: &str, args: &[&str]) -> Result<String, Error> {
    captured(program, args, false)
}

/// Runs `program args` and returns its stdout; its stderr goes to ours (progress of long
/// builds stays visible). A non-zero exit status is an error.
pub fn stdout(program: &str, args: &[&str]) -> Result<String, Error> {
    println!("+ {}", line(program, args));
    captured(program, args, true)
}

fn captured(program: &str, args: &[&str], show_stderr: bool) -> Result<String, Error> {
    let cmd = line(program, args);
    let mut command = Command::new(program);
    command.args(args).stdin(Stdio::null());
    if show_stderr {
        command.stderr(Stdio::inherit());
    }
    let out = command.output().map_err(|source| Error::Spawn {
        cmd: cmd.clone(),
        source,
    })?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(Error::Failed {
            cmd,
            status: out.status,
            detail: format!("\n{}", String::from_utf8_lossy(&out.stderr).trim_end()),
        })
    }
}

/// Runs `cargo args` in `root` with the extra environment `env` and passes its exit status on
/// (so `cargo xtask test` fails exactly when the tests do).
pub fn cargo_status(
    root: &Path,
    args: &[String],
    env: &[(String, String)],
) -> Result<ExitCode, Error> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    let cmd = line(&cargo, &refs);
    for (k, v) in env {
        println!("+ export {k}={v}");
    }
    println!("+ {cmd}");
    let status = Command::new(&cargo)
        .args(args)
        .current_dir(root)
        .envs(env.iter().map(|(k, v)| (k, v)))
        .status()
        .map_err(|source| Error::Spawn { cmd, source })?;
    Ok(match status.code() {
        Some(0) => ExitCode::SUCCESS,
        Some(c) => ExitCode::from(u8::try_from(c).unwrap_or(1)),
        None => ExitCode::FAILURE,
    })
}
