//! Keep Skippy's secrets out of reach of the programs it runs.
//!
//! The operator starts Skippy with secrets in its environment (`EBON_PASSWORD`, a host's
//! `password_env`, and often unrelated ones such as `DATABASE_URL` or `AWS_SECRET_ACCESS_KEY`).
//! A process's environment stays readable in `/proc/<pid>/environ` (and `ps e`) for its whole
//! life, to every process of the same user: a model-run `cat /proc/$PPID/environ` would print it,
//! in any encoding, past any output masking. So the first thing `main` does is re-execute the
//! binary with only the non-secret variables in [`env::KEPT_IN_PROCESS_ENV`], and hand the full
//! environment over in an anonymous in-memory file (memfd) that the new image reads once and
//! closes. The new image then marks itself non-dumpable, which makes its `/proc/<pid>/{environ,
//! mem,...}` owned by root, so processes of the same (non-root) user cannot read its memory either.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::os::fd::AsRawFd;
use std::os::unix::process::CommandExt;

use nix::sys::memfd::{MFdFlags, memfd_create};
use skippy_core::env;

/// Re-exec with a scrubbed environment, or (in the re-executed image) read the environment back.
/// Returns only in the scrubbed image; `Err` says why that could not be done.
pub fn ensure_scrubbed() -> Result<(), String> {
    match std::env::var(env::ENV_FD) {
        Ok(fd) => read_back(&fd),
        Err(_) => Err(reexec()),
    }
}

/// Replace this process image with itself under a scrubbed environment. Returns only on failure.
fn reexec() -> String {
    let vars: BTreeMap<String, String> = std::env::vars_os()
        .filter_map(|(name, value)| Some((name.into_string().ok()?, value.into_string().ok()?)))
        .collect();
    let payload = match serde_json::to_vec(&vars) {
        Ok(payload) => payload,
        Err(error) => return format!("cannot serialize the environment: {error}"),
    };
    // Not close-on-exec: the new image inherits it.
    let memfd = match memfd_create("skippy-env", MFdFlags::empty()) {
        Ok(fd) => fd,
        Err(error) => return format!("memfd_create failed: {error}"),
    };
    let mut file = std::fs::File::from(memfd);
    if let Err(error) = file.write_all(&payload) {
        return format!("cannot write the environment hand-over: {error}");
    }
    let mut command = std::process::Command::new("/proc/self/exe");
    let mut args = std::env::args_os();
    if let Some(arg0) = args.next() {
        command.arg0(arg0);
    }
    command.args(args).env_clear();
    for name in env::KEPT_IN_PROCESS_ENV {
        if let Some(value) = std::env::var_os(name) {
            command.env(name, value);
        }
    }
    command.env(env::ENV_FD, file.as_raw_fd().to_string());
    let error = command.exec();
    format!("cannot re-execute /proc/self/exe: {error}")
}

/// In the re-executed image: read the hand-over, close it, install it as Skippy's environment.
fn read_back(fd: &str) -> Result<(), String> {
    let number: i32 = fd
        .parse()
        .map_err(|_| format!("{} = `{fd}` is not a descriptor number", env::ENV_FD))?;
    if number <= 2 {
        return Err(format!(
            "{} = {number} names a standard stream",
            env::ENV_FD
        ));
    }
    // Reopening through /proc gives our own file description at offset 0 without adopting the raw
    // descriptor (which would need `unsafe`); the inherited one is then closed by number.
    let mut payload = Vec::new();
    let read = std::fs::File::open(format!("/proc/self/fd/{number}"))
        .and_then(|mut file| file.read_to_end(&mut payload));
    let _ = nix::unistd::close(number);
    read.map_err(|error| format!("cannot read the environment hand-over: {error}"))?;
    let vars: BTreeMap<String, String> = serde_json::from_slice(&payload)
        .map_err(|error| format!("the environment hand-over is malformed: {error}"))?;
    env::install_snapshot(vars);
    // Same-user processes (the commands Skippy runs) can no longer read /proc/<skippy>/mem or
    // environ, nor attach a debugger. Root still can: see docs/security.md.
    nix::sys::prctl::set_dumpable(false)
        .map_err(|error| format!("cannot mark the process non-dumpable: {error}"))?;
    Ok(())
}
