//! Log files on a remote host (the log tools' `host` parameter): path policy and file discovery.
//!
//! Path policy: a remote path must be absolute (log aliases are local-only) and free of NUL bytes.
//! It is normalized lexically (`.`, `..`, repeated `/`), then resolved on the host by one
//! `realpath -m -z` call that also resolves the host's `log_paths`. The lexical path must lie under
//! an entry (as written or resolved) and the resolved path under a resolved entry, by whole
//! components, so neither `..` nor a symbolic link pointing out of the allowed directories gets
//! through. The resolved path is the one read; `stat` then checks that it is a regular file and
//! gives the size at which reading stops (see [`crate::remote_file`]). A component swapped for a
//! symlink between the check and the read needs write access to the log directory: out of scope.
//!
//! Rotated siblings: `ls -1 -A -- <dir>`, names filtered by the local rules ([`crate::rotated`]);
//! each candidate is resolved (a symlink is skipped, as locally), re-checked against `log_paths`
//! and stat-ed (anything but a regular file is skipped).
//!
//! Every command is a fixed program run as argv through the executor, under `env LC_ALL=C` (so
//! that error messages can be recognized), with `--` before operands. The host needs GNU
//! coreutils 8.23 or later (realpath, stat, ls, dd, od).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use skippy_core::process::CommandOutput;
use skippy_core::{ToolCtx, ToolError, ToolResult};
use skippy_remote::{HostHandle, RemoteCommand, RunOptions, exec};
use tokio_util::sync::CancellationToken;

use crate::reader::LogFile;
use crate::remote_file::RemoteFile;
use crate::rotated::{newest, oldest_first};

/// Output cap of the metadata commands (realpath, stat, ls).
const META_OUTPUT: usize = 1024 * 1024;
/// Most rotated candidates resolved (the newest ones); symlinks among them are dropped after.
const MAX_CANDIDATES: usize = 200;
const S_IFMT: u32 = 0o170_000;
const S_IFREG: u32 = 0o100_000;
const S_IFDIR: u32 = 0o040_000;

/// A log file on a remote host that passed the host's `log_paths` policy.
#[derive(Debug, Clone)]
pub struct RemoteLog {
    host: HostHandle,
    /// The resolved path on the host.
    path: String,
    shown: PathBuf,
    size: u64,
    roots: Arc<Roots>,
    deadline: Instant,
}

/// The host's `log_paths`, as written (normalized) and as resolved on the host.
#[derive(Debug)]
struct Roots {
    lexical: Vec<String>,
    real: Vec<String>,
}

impl RemoteLog {
    /// Check `raw` against the `log_paths` of `host` and stat it.
    pub async fn resolve(host: HostHandle, raw: &str, ctx: &ToolCtx) -> ToolResult<RemoteLog> {
        let lexical = normalize(raw)?;
        let lexical_roots: Vec<String> = host
            .config()
            .log_paths
            .iter()
            .filter_map(|root| normalize(root).ok())
            .collect();
        if lexical_roots.is_empty() {
            return Err(ToolError::denied(format!(
                "host {0} has no usable log_paths; ask the operator to set hosts.{0}.log_paths",
                host.name()
            )));
        }
        let deadline = ctx.deadline;
        let mut argv = words(&["realpath", "-m", "-z", "--"]);
        argv.push(lexical.clone());
        argv.extend(lexical_roots.iter().cloned());
        let output = run(&host, &argv, META_OUTPUT, deadline, &ctx.cancel).await?;
        if !output.success() {
            return Err(failure(&host, "realpath", &lexical, &output));
        }
        let mut resolved: Vec<String> = output
            .stdout
            .split_terminator('\0')
            .map(str::to_string)
            .collect();
        if resolved.len() != 1 + lexical_roots.len() {
            return Err(unexpected(&host, "realpath"));
        }
        let real_roots = resolved.split_off(1);
        let real = resolved.pop().unwrap_or_default();
        let roots = Roots {
            lexical: lexical_roots,
            real: real_roots,
        };
        roots.check(&lexical, &real, host.name())?;
        if real.contains('\u{FFFD}') {
            return Err(ToolError::invalid(format!(
                "`{lexical}` on host {} resolves to a name that is not UTF-8; Skippy cannot pass it on",
                host.name()
            )));
        }
        let size = stat_file(&host, &real, deadline, &ctx.cancel).await?;
        Ok(RemoteLog {
            shown: PathBuf::from(&real),
            path: real,
            host,
            size,
            roots: Arc::new(roots),
            deadline,
        })
    }

    /// The resolved path, for messages.
    pub fn path(&self) -> &Path {
        &self.shown
    }

    /// The resolved path, as reported in results.
    pub fn label(&self) -> String {
        self.path.clone()
    }

    /// Open for reading. Blocking (it waits for the executor): call it from `ctx.blocking`.
    pub fn open(&self, cancel: &CancellationToken) -> ToolResult<LogFile> {
        RemoteFile::open(
            self.host.clone(),
            self.path.clone(),
            self.size,
            self.deadline,
            cancel,
        )
    }

    /// Rotated siblings (`name.N[.gz]`, `name-YYYYMMDD[.gz]`), oldest first, each checked.
    pub async fn rotated_siblings(&self, cancel: &CancellationToken) -> ToolResult<Vec<RemoteLog>> {
        let Some((directory, name)) = self.path.rsplit_once('/') else {
            return Ok(Vec::new());
        };
        let directory = if directory.is_empty() { "/" } else { directory };
        let host = &self.host;
        let argv = words(&["ls", "-1", "-A", "--", directory]);
        let output = run(host, &argv, META_OUTPUT, self.deadline, cancel).await?;
        if !output.success() {
            return Err(failure(host, "ls", directory, &output));
        }
        let named = output
            .stdout
            .lines()
            .map(|entry| (entry.to_string(), join(directory, entry)));
        let candidates = oldest_first(name, named);
        let candidates = &candidates[candidates.len().saturating_sub(MAX_CANDIDATES)..];
        if candidates.is_empty() {
            return Ok(Vec::new());
        }
        let mut argv = words(&["realpath", "-m", "-z", "--"]);
        argv.extend(candidates.iter().cloned());
        let output = run(host, &argv, META_OUTPUT, self.deadline, cancel).await?;
        let resolved: Vec<&str> = output.stdout.split_terminator('\0').collect();
        if !output.success() || resolved.len() != candidates.len() {
            return Err(failure(host, "realpath", directory, &output));
        }
        let mut plain = Vec::new();
        for (candidate, real) in candidates.iter().zip(resolved) {
            // A symlink (it resolves elsewhere) is skipped: local reading does not follow them.
            if candidate != real {
                continue;
            }
            self.roots.check(candidate, real, host.name())?;
            plain.push(candidate.clone());
        }
        if plain.is_empty() {
            return Ok(Vec::new());
        }
        let mut argv = words(&["stat", "-c", "%f %s %n", "--"]);
        argv.extend(plain.iter().cloned());
        // A sibling rotated away meanwhile makes stat fail for it alone: use what it reported.
        let output = run(host, &argv, META_OUTPUT, self.deadline, cancel).await?;
        let stats: HashMap<&str, (u32, u64)> = output
            .stdout
            .lines()
            .filter_map(|line| {
                let (mode, rest) = line.split_once(' ')?;
                let (size, name) = rest.split_once(' ')?;
                Some((
                    name,
                    (u32::from_str_radix(mode, 16).ok()?, size.parse().ok()?),
                ))
            })
            .collect();
        let siblings = plain
            .iter()
            .filter_map(|path| {
                let (mode, size) = *stats.get(path.as_str())?;
                (mode & S_IFMT == S_IFREG).then(|| RemoteLog {
                    host: host.clone(),
                    path: path.clone(),
                    shown: PathBuf::from(path),
                    size,
                    roots: Arc::clone(&self.roots),
                    deadline: self.deadline,
                })
            })
            .collect();
        Ok(newest(siblings))
    }
}

impl Roots {
    /// Both the lexical and the resolved path must lie under the allowed directories.
    fn check(&self, lexical: &str, real: &str, host: &str) -> ToolResult<()> {
        let lexically_inside = self
            .lexical
            .iter()
            .chain(&self.real)
            .any(|root| is_under(lexical, root));
        let really_inside = self.real.iter().any(|root| is_under(real, root));
        if lexically_inside && really_inside {
            return Ok(());
        }
        let through = if lexically_inside {
            format!(" (it resolves to `{real}` through a symbolic link)")
        } else {
            String::new()
        };
        let allowed: Vec<String> = self.lexical.iter().map(|r| format!("`{r}`")).collect();
        Err(ToolError::denied(format!(
            "`{lexical}` on host {host} is outside its log_paths{through}: {}; use a path under one of \
             them, or ask the operator to add one to hosts.{host}.log_paths",
            allowed.join(", ")
        )))
    }
}

/// Check that `raw` is an absolute path without NUL, and resolve `.`, `..` and repeated slashes
/// without touching any file system.
pub fn normalize(raw: &str) -> ToolResult<String> {
    if raw.contains('\0') {
        return Err(ToolError::invalid("the path contains a NUL byte"));
    }
    if !raw.starts_with('/') {
        return Err(ToolError::invalid(format!(
            "`{raw}` is not an absolute path; on a remote host give the full path (relative paths and log \
             aliases resolve on the local host only: there is no file root on the remote one)"
        )));
    }
    let mut parts: Vec<&str> = Vec::new();
    for part in raw.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                if parts.pop().is_none() {
                    return Err(ToolError::denied(format!(
                        "`{raw}` climbs above `/` with `..`"
                    )));
                }
            }
            other => parts.push(other),
        }
    }
    Ok(format!("/{}", parts.join("/")))
}

/// True when `path` is `root` or below it, by whole components (`/var/logs` is not under `/var/log`).
pub fn is_under(path: &str, root: &str) -> bool {
    let root = root.trim_end_matches('/');
    root.is_empty()
        || path == root
        || path
            .strip_prefix(root)
            .is_some_and(|rest| rest.starts_with('/'))
}

fn join(directory: &str, name: &str) -> String {
    if directory == "/" {
        format!("/{name}")
    } else {
        format!("{directory}/{name}")
    }
}

fn words(items: &[&str]) -> Vec<String> {
    items.iter().map(|item| item.to_string()).collect()
}

/// Size of the regular file `path`, or why it cannot be read as a log.
async fn stat_file(
    host: &HostHandle,
    path: &str,
    deadline: Instant,
    cancel: &CancellationToken,
) -> ToolResult<u64> {
    let argv = words(&["stat", "-L", "-c", "%f %s", "--", path]);
    let output = run(host, &argv, META_OUTPUT, deadline, cancel).await?;
    if !output.success() {
        return Err(failure(host, "stat", path, &output));
    }
    let parsed = output
        .stdout
        .trim_end()
        .split_once(' ')
        .and_then(|(mode, size)| {
            Some((
                u32::from_str_radix(mode, 16).ok()?,
                size.parse::<u64>().ok()?,
            ))
        });
    let Some((mode, size)) = parsed else {
        return Err(unexpected(host, "stat"));
    };
    match mode & S_IFMT {
        S_IFREG => Ok(size),
        S_IFDIR => Err(ToolError::invalid(format!(
            "`{path}` on host {} is a directory; pass a log file inside it",
            host.name()
        ))),
        _ => Err(ToolError::invalid(format!(
            "`{path}` on host {} is not a regular file",
            host.name()
        ))),
    }
}

/// Time left for one command: what remains of the call, at least a second.
fn time_left(deadline: Instant) -> Duration {
    deadline
        .saturating_duration_since(Instant::now())
        .max(Duration::from_secs(1))
}

/// Run `argv` on `host` under `env LC_ALL=C`, with stdout capped at `cap` bytes.
pub(crate) async fn run(
    host: &HostHandle,
    argv: &[String],
    cap: usize,
    deadline: Instant,
    cancel: &CancellationToken,
) -> ToolResult<CommandOutput> {
    let mut full = words(&["env", "LC_ALL=C"]);
    full.extend_from_slice(argv);
    let options = RunOptions {
        timeout: time_left(deadline),
        max_output_bytes: cap,
        cwd: None,
        limits: None,
    };
    exec(host, RemoteCommand::Argv(&full), &options, cancel).await
}

/// The error for a command that exited with a failure, from its exit code and stderr.
pub(crate) fn failure(
    host: &HostHandle,
    program: &str,
    path: &str,
    output: &CommandOutput,
) -> ToolError {
    let name = host.name();
    let detail = output.stderr.lines().next().unwrap_or("").trim();
    if output.exit_code == Some(127) {
        return ToolError::Unavailable(format!(
            "`{program}` is not installed on host {name}; the remote log tools need GNU coreutils"
        ));
    }
    if detail.contains("No such file or directory") {
        return ToolError::NotFound(format!(
            "`{path}` does not exist on host {name}; check the path"
        ));
    }
    if detail.contains("Permission denied") {
        return ToolError::PermissionDenied(format!(
            "host {name} denied user `{}` access to `{path}`; it needs read permission (e.g. the adm group)",
            host.config().user
        ));
    }
    if detail.contains("unrecognized option") || detail.contains("invalid option") {
        return ToolError::Unavailable(format!(
            "`{program}` on host {name} lacks an option Skippy needs (GNU coreutils 8.23 or later): {detail}"
        ));
    }
    ToolError::CommandFailed(format!(
        "`{program}` failed on host {name} (exit {:?}): {detail}",
        output.exit_code
    ))
}

fn unexpected(host: &HostHandle, program: &str) -> ToolError {
    ToolError::CommandFailed(format!(
        "unexpected output from `{program}` on host {}; the remote log tools need GNU coreutils",
        host.name()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalizes_lexically_and_refuses_relative_or_nul() {
        assert_eq!(
            normalize("/var/./log//x/../syslog").unwrap(),
            "/var/log/syslog"
        );
        assert_eq!(normalize("/var/log/").unwrap(), "/var/log");
        assert_eq!(normalize("/").unwrap(), "/");
        assert_eq!(normalize("/a/..").unwrap(), "/");
        assert_eq!(normalize("/..").unwrap_err().code(), "policy_denied");
        assert_eq!(
            normalize("/var/../../etc").unwrap_err().code(),
            "policy_denied"
        );
        for bad in ["var/log/syslog", "syslog", "~/x.log", "", "/var/log/a\0b"] {
            assert_eq!(
                normalize(bad).unwrap_err().code(),
                "invalid_argument",
                "{bad:?}"
            );
        }
    }

    #[test]
    fn containment_is_by_whole_components() {
        assert!(is_under("/var/log", "/var/log"));
        assert!(is_under("/var/log/syslog", "/var/log/"));
        assert!(!is_under("/var/logs/x", "/var/log"));
        assert!(!is_under("/var", "/var/log"));
        assert!(is_under("/etc/passwd", "/"));
    }

    fn roots() -> Roots {
        Roots {
            lexical: vec!["/var/log".into(), "/srv/app/app.log".into()],
            real: vec!["/data/log".into(), "/srv/app/app.log".into()],
        }
    }

    #[test]
    fn lexical_and_resolved_paths_must_both_be_inside() {
        let roots = roots();
        roots
            .check("/var/log/syslog", "/data/log/syslog", "box")
            .unwrap();
        // The resolved form of a root is accepted as written, too.
        roots
            .check("/data/log/syslog", "/data/log/syslog", "box")
            .unwrap();
        roots
            .check("/srv/app/app.log", "/srv/app/app.log", "box")
            .unwrap();
        let error = roots
            .check("/var/log/evil", "/etc/shadow", "box")
            .unwrap_err();
        assert_eq!(error.code(), "policy_denied");
        assert!(error.to_string().contains("symbolic link"), "{error}");
        let error = roots
            .check("/etc/shadow", "/etc/shadow", "box")
            .unwrap_err();
        assert_eq!(error.code(), "policy_denied");
        assert!(error.to_string().contains("`/var/log`"), "{error}");
        // A sibling of a file root is outside it.
        assert!(
            roots
                .check("/srv/app/app.log.1", "/srv/app/app.log.1", "box")
                .is_err()
        );
        // Resolved inside, but only through a path that is lexically outside.
        assert!(
            roots
                .check("/home/u/link", "/data/log/syslog", "box")
                .is_err()
        );
    }

    #[test]
    fn joins_names_to_directories() {
        assert_eq!(join("/", "syslog"), "/syslog");
        assert_eq!(join("/var/log", "syslog.1"), "/var/log/syslog.1");
    }
}
