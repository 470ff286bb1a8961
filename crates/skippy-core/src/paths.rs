//! Path policy: every path a tool touches is resolved here and checked against the configured roots.
//!
//! Resolution canonicalizes (resolving symlinks in every component) before checking containment, so
//! `..`, symlinks inside a root that point out, symlinked parent directories and sibling directories
//! whose names merely start with a root's name cannot escape. A path that does not exist yet is
//! resolved through its deepest existing ancestor, and its non-existent tail may not contain `..`.
//! The result is an [`AllowedPath`], a proof type: file tools accept nothing else.
//!
//! A check by path is only the first line: a link or directory can be swapped in after it, so every
//! open goes through [`crate::safe_fs`], which opens beneath a root and checks the opened
//! descriptor's real path with [`PathPolicy::check_resolved`]. Both refuse Skippy's own `/proc`
//! entries and every process's secret files there ([`proc_refusal`]).

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

use crate::error::ToolError;

/// What the caller intends to do with a path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Read: allowed under read roots and write roots.
    Read,
    /// Create, replace or modify: allowed only under write roots.
    Write,
}

/// A path that has been canonicalized and found inside the roots for its access kind.
///
/// Only this module can build one. `exists` tells whether the final component existed at check time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AllowedPath {
    path: PathBuf,
    exists: bool,
    access: Access,
}

impl AllowedPath {
    pub fn as_path(&self) -> &Path {
        &self.path
    }

    pub fn into_path_buf(self) -> PathBuf {
        self.path
    }

    pub fn exists(&self) -> bool {
        self.exists
    }

    pub fn access(&self) -> Access {
        self.access
    }

    /// Re-check a path found below this one (for example during a directory walk). Walkers do not
    /// follow symlinks, but this keeps the proof honest for anything they hand back.
    pub fn child(&self, policy: &PathPolicy, path: &Path) -> Result<AllowedPath, ToolError> {
        policy.check_path(path, self.access)
    }
}

impl AsRef<Path> for AllowedPath {
    fn as_ref(&self) -> &Path {
        &self.path
    }
}

impl fmt::Display for AllowedPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.path.display().fmt(f)
    }
}

/// A set of canonical roots per access kind.
#[derive(Debug, Clone, Default)]
pub struct PathPolicy {
    read_roots: Vec<PathBuf>,
    write_roots: Vec<PathBuf>,
    /// Used in messages: what these roots are called in the configuration.
    label: &'static str,
}

impl PathPolicy {
    /// Build a policy from roots that are already canonical (see [`canonical_root`]).
    pub fn new(read_roots: Vec<PathBuf>, write_roots: Vec<PathBuf>, label: &'static str) -> Self {
        Self {
            read_roots,
            write_roots,
            label,
        }
    }

    pub fn read_roots(&self) -> &[PathBuf] {
        &self.read_roots
    }

    pub fn write_roots(&self) -> &[PathBuf] {
        &self.write_roots
    }

    /// Roots that allow `access`: reads may use every root, writes only the write roots.
    fn roots_for(&self, access: Access) -> impl Iterator<Item = &PathBuf> {
        let read = match access {
            Access::Read => self.read_roots.as_slice(),
            Access::Write => &[],
        };
        self.write_roots.iter().chain(read.iter())
    }

    /// The root that relative paths resolve against.
    fn base(&self, access: Access) -> Option<&PathBuf> {
        match access {
            Access::Read => self.read_roots.first().or(self.write_roots.first()),
            Access::Write => self.write_roots.first(),
        }
    }

    /// Resolve a path given by the model and check it is allowed for `access`.
    pub fn check(&self, raw: &str, access: Access) -> Result<AllowedPath, ToolError> {
        if raw.is_empty() {
            return Err(ToolError::invalid("path is empty"));
        }
        if raw.contains('\0') {
            return Err(ToolError::invalid("path contains a NUL byte"));
        }
        let expanded = expand_home(raw);
        let joined = if expanded.is_absolute() {
            expanded
        } else {
            let Some(base) = self.base(access) else {
                return Err(self.no_roots(access));
            };
            base.join(expanded)
        };
        self.check_path(&joined, access)
    }

    /// Check an absolute path (already expanded).
    pub fn check_path(&self, path: &Path, access: Access) -> Result<AllowedPath, ToolError> {
        let (resolved, exists) = resolve(path)?;
        if let Some(refusal) = proc_refusal(&resolved) {
            return Err(refusal);
        }
        if self.contains(&resolved, access) {
            return Ok(AllowedPath {
                path: resolved,
                exists,
                access,
            });
        }
        Err(self.outside(path, &resolved, access))
    }

    /// Check a path that is already resolved (no symbolic links, no `..`), such as the real path
    /// of an opened descriptor: the same rules as [`PathPolicy::check_path`], without touching
    /// the filesystem.
    pub fn check_resolved(&self, resolved: &Path, access: Access) -> Result<(), ToolError> {
        if let Some(refusal) = proc_refusal(resolved) {
            return Err(refusal);
        }
        if self.contains(resolved, access) {
            return Ok(());
        }
        Err(self.outside(resolved, resolved, access))
    }

    /// The deepest root allowing `access` that holds the resolved path: the directory that
    /// race-safe opens resolve beneath (see [`crate::safe_fs`]).
    pub fn root_containing(&self, resolved: &Path, access: Access) -> Option<&Path> {
        self.roots_for(access)
            .filter(|root| resolved.starts_with(root))
            .max_by_key(|root| root.components().count())
            .map(PathBuf::as_path)
    }

    fn contains(&self, resolved: &Path, access: Access) -> bool {
        self.roots_for(access)
            .any(|root| resolved.starts_with(root))
    }

    fn outside(&self, path: &Path, resolved: &Path, access: Access) -> ToolError {
        if access == Access::Write
            && self
                .read_roots
                .iter()
                .any(|root| resolved.starts_with(root))
        {
            return ToolError::denied(format!(
                "`{}` is under a read-only root; writes are allowed only under {}",
                path.display(),
                self.describe_roots(Access::Write)
            ));
        }
        ToolError::denied(format!(
            "`{}` is outside the allowed {}: {}. Use a path under one of them, or ask the operator to add a root",
            path.display(),
            self.label,
            self.describe_roots(access)
        ))
    }

    fn describe_roots(&self, access: Access) -> String {
        let roots: Vec<String> = self
            .roots_for(access)
            .map(|root| format!("`{}`", root.display()))
            .collect();
        if roots.is_empty() {
            "(none configured)".to_string()
        } else {
            roots.join(", ")
        }
    }

    fn no_roots(&self, access: Access) -> ToolError {
        let kind = match access {
            Access::Read => "read",
            Access::Write => "write",
        };
        ToolError::denied(format!(
            "no {kind} roots are configured for {}; the operator must configure one",
            self.label
        ))
    }
}

/// Canonicalize a configured root. Errors when it does not exist.
pub fn canonical_root(raw: &Path) -> io::Result<PathBuf> {
    let expanded = expand_home(&raw.to_string_lossy());
    std::fs::canonicalize(expanded)
}

/// Expand a leading `~` or `~/` to `$HOME`.
pub fn expand_home(raw: &str) -> PathBuf {
    if (raw == "~" || raw.starts_with("~/"))
        && let Some(home) = std::env::var_os("HOME")
    {
        let rest = raw.trim_start_matches('~').trim_start_matches('/');
        return PathBuf::from(home).join(rest);
    }
    PathBuf::from(raw)
}

/// Files under `/proc/<pid>/` (and `/proc/<pid>/task/<tid>/`) of ANY process that hold its
/// secrets or open its memory. The same list as the command checks (`commands::proc`): `cmdline`
/// stays readable because `ps` shows every command line anyway and Skippy keeps none in its own.
const PROC_SECRET_FILES: &[&str] = &["environ", "mem", "pagemap", "auxv", "syscall", "stack"];

/// Directories of links to a process's open or mapped files: listing them is harmless, opening an
/// entry reaches the file (or pipe) behind it.
const PROC_LINK_DIRECTORIES: &[&str] = &["fd", "map_files"];

/// Why a resolved path is refused because it reaches into process information (finding 3 of
/// issue 6): Skippy's own entries (`/proc/self`, `/proc/thread-self`, `/proc/<skippy pid>`, and
/// `/proc/<tid>` of any of its threads, which works though it is not listed) are refused whole,
/// because Skippy's environment holds the operator's secrets; for every other process, the files
/// in `PROC_SECRET_FILES`. The rest of `/proc` (`/proc/meminfo`, `/proc/<pid>/status`) stays
/// readable when a read root covers it. Applied to canonical paths and again to the real path of
/// every opened descriptor.
pub fn proc_refusal(resolved: &Path) -> Option<ToolError> {
    let Ok(rest) = resolved.strip_prefix("/proc") else {
        return None;
    };
    let mut parts = rest.iter().map(|part| part.to_string_lossy());
    let process = parts.next()?;
    let own = || {
        ToolError::denied(format!(
            "`{}` is Skippy's own process information, which holds its secrets; Skippy never reads it",
            resolved.display()
        ))
    };
    if process == "self" || process == "thread-self" {
        return Some(own());
    }
    if !process.bytes().all(|byte| byte.is_ascii_digit()) {
        return None;
    }
    if is_own_task(&process) {
        return Some(own());
    }
    let mut file = parts.next();
    if file.as_deref() == Some("task") {
        // /proc/<pid>/task/<tid>/<file>: the same files, one level down.
        parts.next();
        file = parts.next();
    }
    let file = file?;
    let through_link = PROC_LINK_DIRECTORIES.contains(&file.as_ref()) && parts.next().is_some();
    (PROC_SECRET_FILES.contains(&file.as_ref()) || through_link).then(|| {
        ToolError::denied(format!(
            "`{}` holds a process's secrets (environment, memory or open files); Skippy does not \
             read these files for any process. Use list_processes for process details",
            resolved.display()
        ))
    })
}

/// Whether the numeric `/proc` entry `id` is this process or one of its threads. A thread id
/// is listed under `/proc/self/task/` only for this process's own threads.
fn is_own_task(id: &str) -> bool {
    if id == std::process::id().to_string() {
        return true;
    }
    Path::new("/proc/self/task").join(id).exists()
}

/// Canonicalize `path`; for a path that does not exist, canonicalize its deepest existing ancestor
/// and append the rest. Returns the resolved path and whether it exists.
fn resolve(path: &Path) -> Result<(PathBuf, bool), ToolError> {
    let mut existing = path.to_path_buf();
    let mut tail: Vec<std::ffi::OsString> = Vec::new();
    loop {
        match std::fs::symlink_metadata(&existing) {
            Ok(_) => break,
            Err(error) if error.kind() == io::ErrorKind::NotFound => {
                // `file_name()` is None for a `..` component: a `..` below a directory that does
                // not exist cannot be resolved safely, so it is refused.
                let Some(name) = existing.file_name() else {
                    return Err(ToolError::invalid(format!(
                        "`{}` uses `..` below a directory that does not exist",
                        path.display()
                    )));
                };
                tail.push(name.to_os_string());
                if !existing.pop() {
                    return Err(ToolError::invalid(format!(
                        "`{}` cannot be resolved",
                        path.display()
                    )));
                }
            }
            Err(error) if error.kind() == io::ErrorKind::NotADirectory => {
                return Err(ToolError::invalid(format!(
                    "`{}` goes through something that is not a directory",
                    path.display()
                )));
            }
            Err(error) => return Err(ToolError::io(path, &error)),
        }
    }
    let canonical = match std::fs::canonicalize(&existing) {
        Ok(canonical) => canonical,
        Err(error) if error.kind() == io::ErrorKind::NotFound => {
            return Err(ToolError::denied(format!(
                "`{}` is a dangling symbolic link; Skippy refuses paths through links whose target is missing",
                existing.display()
            )));
        }
        Err(error) => return Err(ToolError::io(path, &error)),
    };
    let exists = tail.is_empty();
    let mut resolved = canonical;
    for name in tail.iter().rev() {
        resolved.push(name);
    }
    Ok((resolved, exists))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    struct Fixture {
        _dir: tempfile::TempDir,
        base: PathBuf,
        root: PathBuf,
        policy: PathPolicy,
    }

    fn fixture() -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let base = std::fs::canonicalize(dir.path()).unwrap();
        let root = base.join("allow");
        std::fs::create_dir_all(root.join("sub")).unwrap();
        std::fs::write(root.join("sub/file.txt"), "hi").unwrap();
        std::fs::create_dir_all(base.join("allow_sensitive")).unwrap();
        std::fs::write(base.join("allow_sensitive/secret.txt"), "s").unwrap();
        std::fs::write(base.join("outside.txt"), "o").unwrap();
        let policy = PathPolicy::new(vec![], vec![root.clone()], "file roots");
        Fixture {
            _dir: dir,
            base,
            root,
            policy,
        }
    }

    fn code(result: Result<AllowedPath, ToolError>) -> &'static str {
        match result {
            Ok(_) => "ok",
            Err(error) => error.code(),
        }
    }

    #[test]
    fn allows_paths_inside_and_resolves_relative_against_first_root() {
        let f = fixture();
        let allowed = f.policy.check("sub/file.txt", Access::Read).unwrap();
        assert_eq!(allowed.as_path(), f.root.join("sub/file.txt"));
        assert!(allowed.exists());
        let new = f.policy.check("sub/new/deeper.txt", Access::Write).unwrap();
        assert!(!new.exists());
        assert_eq!(new.as_path(), f.root.join("sub/new/deeper.txt"));
    }

    #[test]
    fn refuses_sibling_with_root_name_prefix() {
        let f = fixture();
        let sibling = f.base.join("allow_sensitive/secret.txt");
        assert_eq!(
            code(f.policy.check(sibling.to_str().unwrap(), Access::Read)),
            "policy_denied"
        );
    }

    #[test]
    fn refuses_dot_dot_escapes() {
        let f = fixture();
        assert_eq!(
            code(f.policy.check("../outside.txt", Access::Read)),
            "policy_denied"
        );
        assert_eq!(
            code(f.policy.check("sub/../../outside.txt", Access::Read)),
            "policy_denied"
        );
        assert_eq!(
            code(f.policy.check("missing/../../outside.txt", Access::Write)),
            "invalid_argument"
        );
    }

    #[test]
    fn refuses_symlink_pointing_out() {
        let f = fixture();
        symlink(f.base.join("outside.txt"), f.root.join("link")).unwrap();
        assert_eq!(code(f.policy.check("link", Access::Read)), "policy_denied");
        assert_eq!(code(f.policy.check("link", Access::Write)), "policy_denied");
    }

    #[test]
    fn refuses_new_file_under_symlinked_parent() {
        let f = fixture();
        symlink(&f.base, f.root.join("escape_dir")).unwrap();
        assert_eq!(
            code(f.policy.check("escape_dir/new.txt", Access::Write)),
            "policy_denied"
        );
        assert_eq!(
            code(f.policy.check("escape_dir/a/b/new.txt", Access::Write)),
            "policy_denied"
        );
    }

    #[test]
    fn refuses_dangling_symlink() {
        let f = fixture();
        symlink(f.base.join("does-not-exist"), f.root.join("dangling")).unwrap();
        assert_eq!(
            code(f.policy.check("dangling", Access::Write)),
            "policy_denied"
        );
        assert_eq!(
            code(f.policy.check("dangling/child", Access::Write)),
            "policy_denied"
        );
    }

    #[test]
    fn allows_symlink_that_stays_inside() {
        let f = fixture();
        symlink(f.root.join("sub/file.txt"), f.root.join("inner")).unwrap();
        let allowed = f.policy.check("inner", Access::Read).unwrap();
        assert_eq!(allowed.as_path(), f.root.join("sub/file.txt"));
    }

    #[test]
    fn refuses_nul_and_empty() {
        let f = fixture();
        assert_eq!(
            code(f.policy.check("a\0b", Access::Read)),
            "invalid_argument"
        );
        assert_eq!(code(f.policy.check("", Access::Read)), "invalid_argument");
    }

    #[test]
    fn read_roots_are_not_writable() {
        let f = fixture();
        let policy = PathPolicy::new(
            vec![f.base.join("allow_sensitive")],
            vec![f.root.clone()],
            "file roots",
        );
        let secret = f.base.join("allow_sensitive/secret.txt");
        assert_eq!(
            code(policy.check(secret.to_str().unwrap(), Access::Read)),
            "ok"
        );
        let error = policy
            .check(secret.to_str().unwrap(), Access::Write)
            .unwrap_err();
        assert!(error.to_string().contains("read-only root"), "{error}");
    }

    #[test]
    fn finding_03_proc_secrets_are_refused_by_path() {
        let policy = PathPolicy::new(vec![PathBuf::from("/proc")], vec![], "file roots");
        let pid = std::process::id();
        for path in [
            "/proc/self/environ".to_string(),
            "/proc/self".to_string(),
            "/proc/thread-self/status".to_string(),
            format!("/proc/{pid}/environ"),
            format!("/proc/{pid}/cmdline"),
            format!("/proc/{pid}"),
            "/proc/1/environ".to_string(),
            "/proc/1/task/1/mem".to_string(),
            "/proc/self/../self/environ".to_string(),
        ] {
            assert_eq!(
                code(policy.check(&path, Access::Read)),
                "policy_denied",
                "{path}"
            );
        }
        for path in [
            "/proc",
            "/proc/meminfo",
            "/proc/1/status",
            "/proc/1/cmdline",
        ] {
            assert_eq!(code(policy.check(path, Access::Read)), "ok", "{path}");
        }
        // Canonicalizing resolves a descriptor link, so the rule is shown on the resolved form.
        assert!(proc_refusal(Path::new("/proc/1/fd/0")).is_some());
        assert!(proc_refusal(Path::new("/proc/1/fd")).is_none());
        assert!(proc_refusal(Path::new("/srv/proc/self/environ")).is_none());
        assert!(
            policy
                .check_resolved(Path::new("/proc/self/environ"), Access::Read)
                .is_err()
        );
        assert!(
            policy
                .check_resolved(Path::new("/etc/passwd"), Access::Read)
                .is_err()
        );
        assert!(
            policy
                .check_resolved(Path::new("/proc/meminfo"), Access::Read)
                .is_ok()
        );
    }

    #[test]
    fn root_itself_and_trailing_separators_are_allowed() {
        let f = fixture();
        let with_slash = format!("{}/", f.root.display());
        assert_eq!(code(f.policy.check(&with_slash, Access::Read)), "ok");
        let double = format!("{}//sub//file.txt", f.root.display());
        assert_eq!(code(f.policy.check(&double, Access::Read)), "ok");
    }
}
