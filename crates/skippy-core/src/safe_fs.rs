//! Race-safe file access: every open, create, rename and listing of the file and log tools.
//!
//! A path check ([`PathPolicy::check`]) followed by an open by path cannot be made safe: between
//! the two, another process can swap a file for a symbolic link to `/etc/shadow`, a directory for
//! a link to `/`, or a file for a FIFO (issue 6, findings 7, 8 and 10). So the check by path is
//! only the first line; this module makes the kernel hold the line:
//!
//! - **Opens resolve beneath a root.** The canonical path is opened with `openat2` relative to a
//!   descriptor of the root that holds it, with `RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS |
//!   RESOLVE_NO_MAGICLINKS` and `O_NOFOLLOW`: the path was canonical at check time, so any link
//!   met now was swapped in, and the kernel refuses it (and any escape) before opening anything.
//!   Where `openat2` is missing (Linux before 5.6, some seccomp filters) the path is opened with
//!   `O_NOFOLLOW` and the check below decides.
//! - **The descriptor is verified before a byte moves.** Its type comes from `fstat` (a FIFO,
//!   socket or device is refused: opens use `O_NONBLOCK`, so a FIFO cannot block the thread) and
//!   its real path (`/proc/self/fd/N`) must pass [`PathPolicy::check_resolved`] again: inside a
//!   root for the access kind, and not Skippy's own `/proc` entries nor another process's secrets.
//! - **Creation happens in a pinned directory.** Writes open and verify the PARENT directory
//!   ([`PinnedDir`]), then create, replace and rename only by single names relative to that
//!   descriptor (`openat(O_CREAT | O_EXCL | O_NOFOLLOW)`, `renameat`), so nothing can be created or
//!   renamed outside it. A [`TempFile`] not committed is removed when dropped (an error, a
//!   timeout or a cancelled call drop it).
//! - **Writes in place refuse hard links.** Appending to a file with more than one link would
//!   change every other name of it, possibly outside the roots (finding 8): [`open_append`]
//!   refuses it and says to use an atomic replace, which breaks the link.
//! - **Listings read a verified directory descriptor** and stat entries with
//!   `AT_SYMLINK_NOFOLLOW`; subdirectories are opened relative to it with `O_NOFOLLOW`.
//!
//! What stays possible: a hard link inside a root to a file outside it (made before Skippy looks)
//! can be READ, because a hard link is indistinguishable from the file; reads through one are
//! reads of a file inside the root. The kernel's `fs.protected_hardlinks` keeps users from linking
//! files they could not read themselves.

use std::ffi::{OsStr, OsString};
use std::fs::{File, Metadata};
use std::io::{self, Write};
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

use nix::errno::Errno;
use nix::fcntl::{AtFlags, OFlag, OpenHow, ResolveFlag};
use nix::sys::stat::{FileStat, Mode, SFlag};

use crate::error::{ToolError, ToolResult};
use crate::paths::{Access, AllowedPath, PathPolicy};

/// Flags every open gets: never follow a final link, never block on a FIFO, never become a
/// controlling terminal, never leak into child processes.
const BASE_FLAGS: OFlag = OFlag::O_NOFOLLOW
    .union(OFlag::O_NONBLOCK)
    .union(OFlag::O_NOCTTY)
    .union(OFlag::O_CLOEXEC);

/// `openat2` may fail with EAGAIN when a rename races the lookup; it is retried this often.
const EAGAIN_RETRIES: usize = 16;

/// Temporary files are named `.skippy-<pid>-<n>-<random>.tmp` next to their target.
const TEMP_PREFIX: &str = ".skippy-";
const TEMP_SUFFIX: &str = ".tmp";

/// What an open expects to find; anything else is refused with a message naming what was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expect {
    File,
    Dir,
    Any,
}

/// Open a regular file for reading. The policy is the one that produced `path` (the file roots,
/// or `config.logs.policy` for the log tools); the descriptor is verified against the roots for
/// `path.access()`.
pub fn open_read(policy: &PathPolicy, path: &AllowedPath) -> ToolResult<File> {
    open_read_found(policy, path.as_path(), path.access())
}

/// [`open_read`] for a path found by a walk below an [`AllowedPath`] (the search and duplicate
/// walkers hand back paths, not proofs): the path need not be canonical-checked first, because the
/// open resolves beneath a root and the descriptor is verified before anything is read.
pub fn open_read_found(policy: &PathPolicy, path: &Path, access: Access) -> ToolResult<File> {
    let (file, _) = open_verified(policy, path, access, OFlag::O_RDONLY, Expect::File)?;
    Ok(file)
}

/// Open a path without reading it (`O_PATH`), for its metadata: a symbolic link is opened as the
/// link itself, a FIFO or device is not opened at all. Returns the descriptor and its metadata.
pub fn open_metadata(
    policy: &PathPolicy,
    path: &Path,
    access: Access,
) -> ToolResult<(File, Metadata)> {
    open_verified(policy, path, access, OFlag::O_PATH, Expect::Any)
}

/// Open and verify a directory, for listing it or working inside it.
pub fn open_dir(policy: &PathPolicy, path: &AllowedPath) -> ToolResult<PinnedDir> {
    open_dir_found(policy, path.as_path(), path.access())
}

/// [`open_dir`] for a path that is not a proof (a root, or a path found by a walk).
pub fn open_dir_found(policy: &PathPolicy, path: &Path, access: Access) -> ToolResult<PinnedDir> {
    let (dir, _) = open_verified(
        policy,
        path,
        access,
        OFlag::O_RDONLY | OFlag::O_DIRECTORY,
        Expect::Dir,
    )?;
    Ok(PinnedDir {
        dir,
        path: path.to_path_buf(),
        access,
    })
}

/// Open and verify the directory that holds `path`, and the name of `path` in it: the place
/// where creates, replaces and appends happen.
pub fn open_parent(policy: &PathPolicy, path: &AllowedPath) -> ToolResult<(PinnedDir, OsString)> {
    let target = path.as_path();
    if policy.root_containing(target, path.access()) == Some(target) {
        return Err(ToolError::invalid(format!(
            "`{}` is a root directory; give a file path inside it",
            target.display()
        )));
    }
    let (Some(parent), Some(name)) = (target.parent(), target.file_name()) else {
        return Err(ToolError::invalid(format!(
            "`{}` has no parent directory; give a file path",
            target.display()
        )));
    };
    let dir = open_dir_found(policy, parent, path.access()).map_err(|error| match error {
        ToolError::NotFound(_) => ToolError::NotFound(format!(
            "the directory `{}` does not exist; create it first (write_file has create_dirs)",
            parent.display()
        )),
        other => other,
    })?;
    Ok((dir, name.to_os_string()))
}

/// Open an existing regular file to append to it (read and append, so the caller can hash what
/// is there), creating it when missing and `create` is set. Refuses a file with more than one
/// hard link: appending would change the other names too, possibly outside the roots.
pub fn open_append(policy: &PathPolicy, path: &AllowedPath, create: bool) -> ToolResult<Appending> {
    let (dir, name) = open_parent(policy, path)?;
    dir.open_append(policy, &name, create)
}

/// Replace `path` with `content` atomically (temporary file in the same pinned directory, fsync,
/// rename), keeping the old file's permission bits and, where allowed, its owner.
pub fn replace_atomic(policy: &PathPolicy, path: &AllowedPath, content: &[u8]) -> ToolResult<()> {
    let (dir, name) = open_parent(policy, path)?;
    dir.replace_atomic(policy, &name, content)
}

/// Create `path` with `content`; `already_exists` if anything is at the path (a link included).
pub fn create_new(policy: &PathPolicy, path: &AllowedPath, content: &[u8]) -> ToolResult<()> {
    let (dir, name) = open_parent(policy, path)?;
    dir.create_new(policy, &name, content)
}

/// Create the directory `path` (resolved, like an [`AllowedPath`]'s) and its missing ancestors.
/// Starts from the root that holds it and goes down one name at a time, each opened relative to
/// the last with `O_NOFOLLOW`, so a link swapped into the chain is refused instead of followed.
pub fn create_dirs(policy: &PathPolicy, path: &Path, access: Access) -> ToolResult<PinnedDir> {
    policy.check_resolved(path, access)?;
    let Some(root) = policy.root_containing(path, access) else {
        return Err(ToolError::internal(
            "create_dirs: no root holds a checked path",
        ));
    };
    let relative = path.strip_prefix(root).map_err(ToolError::internal)?;
    let mut dir = open_dir_found(policy, root, access)?;
    for name in relative.iter() {
        valid_name(name, path)?;
        match nix::sys::stat::mkdirat(&dir.dir, name, Mode::from_bits_truncate(0o777)) {
            Ok(()) | Err(Errno::EEXIST) => {}
            Err(errno) => return Err(open_error(&dir.path.join(name), errno)),
        }
        dir = dir.open_subdir(policy, name)?;
    }
    Ok(dir)
}

/// A policy narrowed to one checked path, for code that holds an [`AllowedPath`] but not the policy
/// that made it (the transfer tools): reads may open exactly that file, writes may work only in its
/// parent directory. Both are inside the roots the path was checked against, so verifying against
/// this policy is at least as strict as against the original.
pub fn exact_policy(path: &AllowedPath) -> PathPolicy {
    match path.access() {
        Access::Read => PathPolicy::new(
            vec![path.as_path().to_path_buf()],
            Vec::new(),
            "checked path",
        ),
        Access::Write => {
            let parent = path.as_path().parent().unwrap_or(path.as_path());
            PathPolicy::new(Vec::new(), vec![parent.to_path_buf()], "checked path")
        }
    }
}

/// Verify an opened descriptor: its real path (from `/proc/self/fd/N`) must pass the policy for
/// `access` (inside a root, not a `/proc` secret), and a descriptor on procfs must be under
/// `/proc` (a procfs mounted elsewhere would dodge the `/proc` rules). Returns the real path.
pub fn verify_fd(policy: &PathPolicy, file: &File, access: Access) -> ToolResult<PathBuf> {
    verify(policy, file, access, None)
}

/// A verified directory descriptor. Everything done through it happens by single names relative
/// to the descriptor, so it stays inside this directory whatever happens to the path above it.
#[derive(Debug)]
pub struct PinnedDir {
    dir: File,
    /// The path it was opened by (checked equal to its real path at open time).
    path: PathBuf,
    access: Access,
}

/// One entry of a listing: its name and what `fstatat(AT_SYMLINK_NOFOLLOW)` found (None when the
/// entry vanished between the read and the stat).
#[derive(Debug)]
pub struct DirEntry {
    pub name: OsString,
    pub stat: Option<EntryStat>,
}

/// The kind of a directory entry; symbolic links are reported as links, never followed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntryKind {
    File,
    Dir,
    Symlink,
    Other,
}

/// The parts of an entry's `lstat` that the tools report or compare.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EntryStat {
    pub kind: EntryKind,
    pub size: u64,
    pub modified: Option<SystemTime>,
    pub device: u64,
    pub inode: u64,
}

impl EntryStat {
    fn from_stat(stat: &FileStat) -> EntryStat {
        let kind = match SFlag::from_bits_truncate(stat.st_mode) & SFlag::S_IFMT {
            SFlag::S_IFREG => EntryKind::File,
            SFlag::S_IFDIR => EntryKind::Dir,
            SFlag::S_IFLNK => EntryKind::Symlink,
            _ => EntryKind::Other,
        };
        let modified = u64::try_from(stat.st_mtime).ok().map(|seconds| {
            let nanos = u32::try_from(stat.st_mtime_nsec).unwrap_or(0);
            SystemTime::UNIX_EPOCH + Duration::new(seconds, nanos)
        });
        EntryStat {
            kind,
            size: u64::try_from(stat.st_size).unwrap_or(0),
            modified,
            device: stat.st_dev,
            inode: stat.st_ino,
        }
    }
}

/// A file opened for appending by [`open_append`].
#[derive(Debug)]
pub struct Appending {
    pub file: File,
    /// The file did not exist and was created.
    pub created: bool,
}

impl PinnedDir {
    /// The path this directory was opened by.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The directory's descriptor (for `fsync`, or `fstat`).
    pub fn as_file(&self) -> &File {
        &self.dir
    }

    /// `lstat` of one entry; None when nothing is there.
    pub fn stat(&self, name: &OsStr) -> ToolResult<Option<EntryStat>> {
        valid_name(name, &self.path)?;
        match nix::sys::stat::fstatat(&self.dir, name, AtFlags::AT_SYMLINK_NOFOLLOW) {
            Ok(stat) => Ok(Some(EntryStat::from_stat(&stat))),
            Err(Errno::ENOENT) => Ok(None),
            Err(errno) => Err(open_error(&self.path.join(name), errno)),
        }
    }

    /// Every entry except `.` and `..`, in the order the directory returns them.
    pub fn entries(&self) -> ToolResult<Vec<DirEntry>> {
        let duplicate = self
            .dir
            .try_clone()
            .map_err(|error| ToolError::io(&self.path, &error))?;
        let mut listing = nix::dir::Dir::from_fd(OwnedFd::from(duplicate))
            .map_err(|errno| open_error(&self.path, errno))?;
        let mut entries = Vec::new();
        for entry in listing.iter() {
            let entry = entry.map_err(|errno| open_error(&self.path, errno))?;
            let name = OsStr::from_bytes(entry.file_name().to_bytes());
            if name == "." || name == ".." {
                continue;
            }
            let stat = nix::sys::stat::fstatat(&self.dir, name, AtFlags::AT_SYMLINK_NOFOLLOW)
                .ok()
                .map(|stat| EntryStat::from_stat(&stat));
            entries.push(DirEntry {
                name: name.to_os_string(),
                stat,
            });
        }
        Ok(entries)
    }

    /// Open the subdirectory `name` (not a link to one) and verify it.
    pub fn open_subdir(&self, policy: &PathPolicy, name: &OsStr) -> ToolResult<PinnedDir> {
        let (dir, path) = self.open_child(
            policy,
            name,
            OFlag::O_RDONLY | OFlag::O_DIRECTORY,
            Expect::Dir,
        )?;
        Ok(PinnedDir {
            dir,
            path,
            access: self.access,
        })
    }

    /// Open the regular file `name` (not a link to one) for reading and verify it.
    pub fn open_read(&self, policy: &PathPolicy, name: &OsStr) -> ToolResult<File> {
        let (file, _) = self.open_child(policy, name, OFlag::O_RDONLY, Expect::File)?;
        Ok(file)
    }

    /// See [`open_append`].
    pub fn open_append(
        &self,
        policy: &PathPolicy,
        name: &OsStr,
        create: bool,
    ) -> ToolResult<Appending> {
        let shown = self.path.join(name);
        let flags = OFlag::O_RDWR | OFlag::O_APPEND;
        // Two rounds: a file created by someone else between "missing" and O_EXCL is then opened.
        for _ in 0..2 {
            match self.open_child(policy, name, flags, Expect::File) {
                Ok((file, _)) => {
                    refuse_hard_links(&file, &shown)?;
                    return Ok(Appending {
                        file,
                        created: false,
                    });
                }
                Err(ToolError::NotFound(_)) if create => {}
                Err(error) => return Err(error),
            }
            match self.create_child(policy, name, flags, 0o666) {
                Ok(file) => {
                    return Ok(Appending {
                        file,
                        created: true,
                    });
                }
                Err(ToolError::AlreadyExists(_)) => {}
                Err(error) => return Err(error),
            }
        }
        Err(ToolError::Io(format!(
            "`{}` keeps appearing and disappearing; retry",
            shown.display()
        )))
    }

    /// Create a temporary file that will replace `name` when committed. It takes the permission
    /// bits (and, where the OS allows, the owner) of the regular file at `name`, or the usual
    /// bits for a new file (0666 minus the umask).
    pub fn temp_file(&self, policy: &PathPolicy, name: &OsStr) -> ToolResult<TempFile> {
        let shown = self.path.join(name);
        valid_name(name, &shown)?;
        let kept = match nix::sys::stat::fstatat(&self.dir, name, AtFlags::AT_SYMLINK_NOFOLLOW) {
            Ok(stat) => Some(stat),
            Err(Errno::ENOENT) => None,
            Err(errno) => return Err(open_error(&shown, errno)),
        };
        match kept.as_ref().map(|stat| EntryStat::from_stat(stat).kind) {
            None | Some(EntryKind::File) => {}
            Some(EntryKind::Dir) => {
                return Err(ToolError::invalid(format!(
                    "`{}` is a directory; give a file path inside it",
                    shown.display()
                )));
            }
            // The path was resolved before the call, so a link here was swapped in since.
            Some(EntryKind::Symlink) => {
                return Err(ToolError::denied(format!(
                    "`{}` became a symbolic link while Skippy was writing it; nothing was written. \
                     Retry, or write to the link's target",
                    shown.display()
                )));
            }
            Some(EntryKind::Other) => return Err(not_regular(&shown)),
        }
        // A new file is created 0666 and the kernel applies the umask; a replacement starts 0600
        // and gets the old bits once it is ours, so the content is never more readable than before.
        let create_mode = if kept.is_some() { 0o600 } else { 0o666 };
        let (file, temp_name) = self.create_temp(policy, name, create_mode)?;
        let temp = TempFile {
            file,
            dir: self
                .dir
                .try_clone()
                .map_err(|error| ToolError::io(&self.path, &error))?,
            dir_path: self.path.clone(),
            temp_name,
            target: name.to_os_string(),
            committed: false,
        };
        if let Some(old) = kept {
            // Best effort: only root (or the owner, for the group) may hand a file to someone else.
            if let Err(error) =
                std::os::unix::fs::fchown(&temp.file, Some(old.st_uid), Some(old.st_gid))
            {
                tracing::debug!(%error, path = %shown.display(), "could not keep owner");
            }
            temp.file
                .set_permissions(std::fs::Permissions::from_mode(old.st_mode & 0o7777))
                .map_err(|error| ToolError::io(&shown, &error))?;
        }
        Ok(temp)
    }

    /// See [`replace_atomic`].
    pub fn replace_atomic(
        &self,
        policy: &PathPolicy,
        name: &OsStr,
        content: &[u8],
    ) -> ToolResult<()> {
        let mut temp = self.temp_file(policy, name)?;
        temp.as_file_mut()
            .write_all(content)
            .map_err(|error| ToolError::io(&self.path.join(name), &error))?;
        temp.commit()
    }

    /// See [`create_new`]. A failed write removes the half-written file.
    pub fn create_new(&self, policy: &PathPolicy, name: &OsStr, content: &[u8]) -> ToolResult<()> {
        let shown = self.path.join(name);
        let mut file = self
            .create_child(policy, name, OFlag::O_WRONLY, 0o666)
            .map_err(|error| match error {
                ToolError::AlreadyExists(_) => ToolError::AlreadyExists(format!(
                    "`{}` already exists; use mode \"overwrite\" to replace it or \"append\" to add to it",
                    shown.display()
                )),
                other => other,
            })?;
        let written = file.write_all(content).and_then(|()| file.sync_all());
        if let Err(error) = written {
            let _ = nix::unistd::unlinkat(&self.dir, name, nix::unistd::UnlinkatFlags::NoRemoveDir);
            return Err(ToolError::io(&shown, &error));
        }
        Ok(())
    }

    /// Open an existing child by one name, `O_NOFOLLOW`, and verify it.
    fn open_child(
        &self,
        policy: &PathPolicy,
        name: &OsStr,
        flags: OFlag,
        expect: Expect,
    ) -> ToolResult<(File, PathBuf)> {
        let shown = self.path.join(name);
        valid_name(name, &shown)?;
        let fd = nix::fcntl::openat(&self.dir, name, flags | BASE_FLAGS, Mode::empty())
            .map_err(|errno| open_error(&shown, errno))?;
        let file = File::from(fd);
        let metadata = file
            .metadata()
            .map_err(|error| ToolError::io(&shown, &error))?;
        check_kind(&shown, &metadata, expect)?;
        verify(policy, &file, self.access, Some(&shown))?;
        Ok((file, shown))
    }

    /// Create a new child by one name (`O_CREAT | O_EXCL | O_NOFOLLOW`) and verify it.
    fn create_child(
        &self,
        policy: &PathPolicy,
        name: &OsStr,
        flags: OFlag,
        mode: u32,
    ) -> ToolResult<File> {
        let shown = self.path.join(name);
        valid_name(name, &shown)?;
        let fd = nix::fcntl::openat(
            &self.dir,
            name,
            flags | BASE_FLAGS | OFlag::O_CREAT | OFlag::O_EXCL,
            Mode::from_bits_truncate(mode),
        )
        .map_err(|errno| match errno {
            Errno::EEXIST => {
                ToolError::AlreadyExists(format!("`{}` already exists", shown.display()))
            }
            other => open_error(&shown, other),
        })?;
        let file = File::from(fd);
        if let Err(error) = verify(policy, &file, self.access, Some(&shown)) {
            let _ = nix::unistd::unlinkat(&self.dir, name, nix::unistd::UnlinkatFlags::NoRemoveDir);
            return Err(error);
        }
        Ok(file)
    }

    /// Create a uniquely named temporary file next to `target`.
    fn create_temp(
        &self,
        policy: &PathPolicy,
        target: &OsStr,
        mode: u32,
    ) -> ToolResult<(File, OsString)> {
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        for _ in 0..16 {
            let name = OsString::from(format!(
                "{TEMP_PREFIX}{}-{}-{:08x}{TEMP_SUFFIX}",
                std::process::id(),
                COUNTER.fetch_add(1, Ordering::Relaxed),
                random_u32()
            ));
            match self.create_child(policy, &name, OFlag::O_WRONLY, mode) {
                Ok(file) => return Ok((file, name)),
                // Someone planted this name (a link, a file): pick another.
                Err(ToolError::AlreadyExists(_)) => {}
                Err(error) => return Err(error),
            }
        }
        Err(ToolError::Io(format!(
            "could not create a temporary file next to `{}`; retry",
            self.path.join(target).display()
        )))
    }
}

/// A temporary file in a pinned directory that replaces its target on [`TempFile::commit`] and is
/// removed when dropped uncommitted.
#[derive(Debug)]
pub struct TempFile {
    file: File,
    /// A duplicate of the pinned directory's descriptor: the guard owns what it needs to clean up.
    dir: File,
    dir_path: PathBuf,
    temp_name: OsString,
    target: OsString,
    committed: bool,
}

impl TempFile {
    pub fn as_file(&self) -> &File {
        &self.file
    }

    pub fn as_file_mut(&mut self) -> &mut File {
        &mut self.file
    }

    /// The path of the target it will replace (for messages).
    pub fn target_path(&self) -> PathBuf {
        self.dir_path.join(&self.target)
    }

    /// fsync the content, rename it over the target inside the pinned directory, then fsync the
    /// directory. Readers see the old or the new content, never a mix; a hard link elsewhere keeps
    /// the old content.
    pub fn commit(self) -> ToolResult<()> {
        self.finish(true)
    }

    /// [`TempFile::commit`], but `already_exists` if something appeared at the target meanwhile
    /// (`renameat2(RENAME_NOREPLACE)`).
    pub fn commit_new(self) -> ToolResult<()> {
        self.finish(false)
    }

    fn finish(mut self, replace: bool) -> ToolResult<()> {
        let target = self.target_path();
        self.file
            .sync_all()
            .map_err(|error| ToolError::io(&target, &error))?;
        let (temp, name) = (&*self.temp_name, &*self.target);
        let renamed = if replace {
            nix::fcntl::renameat(&self.dir, temp, &self.dir, name)
        } else {
            match nix::fcntl::renameat2(
                &self.dir,
                temp,
                &self.dir,
                name,
                nix::fcntl::RenameFlags::RENAME_NOREPLACE,
            ) {
                // A filesystem without RENAME_NOREPLACE: check, then rename (a small window).
                Err(Errno::EINVAL) => {
                    match nix::sys::stat::fstatat(&self.dir, name, AtFlags::AT_SYMLINK_NOFOLLOW) {
                        Ok(_) => Err(Errno::EEXIST),
                        Err(_) => nix::fcntl::renameat(&self.dir, temp, &self.dir, name),
                    }
                }
                other => other,
            }
        };
        renamed.map_err(|errno| match errno {
            Errno::EEXIST => ToolError::AlreadyExists(format!(
                "`{}` appeared while Skippy was writing it; pass overwrite: true to replace it",
                target.display()
            )),
            other => open_error(&target, other),
        })?;
        self.committed = true;
        // A failed directory fsync leaves the rename possibly not durable but still atomic.
        let _ = self.dir.sync_all();
        Ok(())
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        if self.committed {
            return;
        }
        if let Err(errno) = nix::unistd::unlinkat(
            &self.dir,
            &*self.temp_name,
            nix::unistd::UnlinkatFlags::NoRemoveDir,
        ) {
            tracing::warn!(%errno, dir = %self.dir_path.display(), "could not remove a temporary file");
        }
    }
}

/// Open `path` beneath its root and check what was opened.
fn open_verified(
    policy: &PathPolicy,
    path: &Path,
    access: Access,
    flags: OFlag,
    expect: Expect,
) -> ToolResult<(File, Metadata)> {
    let (fd, resolution) = open_beneath(policy, path, access, flags)?;
    let file = File::from(fd);
    let metadata = file
        .metadata()
        .map_err(|error| ToolError::io(path, &error))?;
    check_kind(path, &metadata, expect)?;
    match resolution {
        // The kernel resolved `path` beneath its root without meeting a link or leaving the root,
        // so the descriptor's real path is `path` itself (already checked): reading it back from
        // /proc would only cost time, which search walks pay once per file.
        Resolution::Beneath => {
            if is_procfs(&file) && !path.starts_with("/proc") {
                return Err(procfs_elsewhere(path));
            }
        }
        Resolution::ByPath => {
            verify(policy, &file, access, Some(path))?;
        }
    }
    Ok((file, metadata))
}

/// How [`open_beneath`] opened a path.
enum Resolution {
    /// With `openat2(RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS)`.
    Beneath,
    /// By path (a root itself, or no `openat2`): the descriptor must be verified.
    ByPath,
}

/// Open `path` relative to a descriptor of the root that holds it, the kernel refusing links and
/// escapes. The root itself (a configured, canonical path) is opened directly.
fn open_beneath(
    policy: &PathPolicy,
    path: &Path,
    access: Access,
    flags: OFlag,
) -> ToolResult<(OwnedFd, Resolution)> {
    policy.check_resolved(path, access)?;
    let flags = if flags.contains(OFlag::O_PATH) {
        // openat2 refuses O_PATH with any flag but these.
        flags | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC
    } else {
        flags | BASE_FLAGS
    };
    let Some(root) = policy.root_containing(path, access) else {
        return Err(ToolError::internal("safe_fs: no root holds a checked path"));
    };
    let relative = path.strip_prefix(root).map_err(ToolError::internal)?;
    if relative.as_os_str().is_empty() {
        return nix::fcntl::open(path, flags, Mode::empty())
            .map(|fd| (fd, Resolution::ByPath))
            .map_err(|errno| open_error(path, errno));
    }
    // Roots are canonical: a root that is now a link was swapped, and is not followed.
    let root_fd = nix::fcntl::open(
        root,
        OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC,
        Mode::empty(),
    )
    .map_err(|errno| open_error(root, errno))?;
    let how = OpenHow::new().flags(flags).resolve(
        ResolveFlag::RESOLVE_BENEATH
            | ResolveFlag::RESOLVE_NO_SYMLINKS
            | ResolveFlag::RESOLVE_NO_MAGICLINKS,
    );
    for _ in 0..EAGAIN_RETRIES {
        match nix::fcntl::openat2(&root_fd, relative, how) {
            Ok(fd) => return Ok((fd, Resolution::Beneath)),
            Err(Errno::EAGAIN) => continue,
            // No openat2 (Linux < 5.6, or a seccomp filter): O_NOFOLLOW and the verification of
            // the descriptor still refuse anything outside.
            Err(Errno::ENOSYS | Errno::EPERM) => {
                return nix::fcntl::open(path, flags, Mode::empty())
                    .map(|fd| (fd, Resolution::ByPath))
                    .map_err(|errno| open_error(path, errno));
            }
            Err(errno) => return Err(open_error(path, errno)),
        }
    }
    Err(ToolError::Io(format!(
        "`{}` kept changing while Skippy opened it; retry",
        path.display()
    )))
}

/// The checks on an opened descriptor; `shown` is the path asked for (None from [`verify_fd`]).
fn verify(
    policy: &PathPolicy,
    file: &File,
    access: Access,
    shown: Option<&Path>,
) -> ToolResult<PathBuf> {
    let real =
        std::fs::read_link(format!("/proc/self/fd/{}", file.as_raw_fd())).map_err(|error| {
            tracing::error!(%error, "cannot read /proc/self/fd");
            ToolError::Unavailable(
            "Skippy cannot check where a file was opened because /proc is not mounted; mount /proc \
             (Skippy needs it to refuse symbolic-link races)"
                .to_string(),
        )
        })?;
    if let Err(error) = policy.check_resolved(&real, access) {
        return Err(match shown {
            Some(shown) if shown != real => {
                tracing::warn!(
                    requested = %shown.display(),
                    opened = %real.display(),
                    "refused a descriptor that resolved outside the roots"
                );
                ToolError::denied(format!(
                    "`{}` changed while Skippy was opening it (a link or directory was swapped) and \
                     now leads outside the allowed roots; nothing was read or written",
                    shown.display()
                ))
            }
            _ => error,
        });
    }
    if is_procfs(file) && !real.starts_with("/proc") {
        return Err(procfs_elsewhere(shown.unwrap_or(&real)));
    }
    Ok(real)
}

fn procfs_elsewhere(path: &Path) -> ToolError {
    ToolError::denied(format!(
        "`{}` is on a procfs mounted outside /proc; Skippy reads process information only under \
         /proc",
        path.display()
    ))
}

fn is_procfs(file: &File) -> bool {
    nix::sys::statfs::fstatfs(file.as_fd())
        .is_ok_and(|stat| stat.filesystem_type() == nix::sys::statfs::PROC_SUPER_MAGIC)
}

fn check_kind(path: &Path, metadata: &Metadata, expect: Expect) -> ToolResult<()> {
    let file_type = metadata.file_type();
    match expect {
        Expect::Any => Ok(()),
        Expect::File if file_type.is_file() => Ok(()),
        Expect::Dir if file_type.is_dir() => Ok(()),
        Expect::File if file_type.is_dir() => Err(ToolError::invalid(format!(
            "`{}` is a directory; use list_directory to see what it holds",
            path.display()
        ))),
        Expect::Dir if file_type.is_file() => Err(ToolError::invalid(format!(
            "`{}` is not a directory; use get_file_info or read_file for a file",
            path.display()
        ))),
        _ => Err(not_regular(path)),
    }
}

fn not_regular(path: &Path) -> ToolError {
    ToolError::invalid(format!(
        "`{}` is not a regular file (device, socket or FIFO); Skippy only handles regular files",
        path.display()
    ))
}

/// Refuse a file with more than one hard link for a write in place (finding 8 of issue 6): it
/// would change every other name of the file, possibly outside the roots.
pub fn refuse_hard_links(file: &File, shown: &Path) -> ToolResult<()> {
    let metadata = file
        .metadata()
        .map_err(|error| ToolError::io(shown, &error))?;
    if metadata.nlink() > 1 {
        return Err(ToolError::denied(format!(
            "`{}` has {} hard links, so appending would also change its other names (possibly \
             outside the roots); Skippy refuses. Write the whole content with mode \"overwrite\", \
             which replaces this name only",
            shown.display(),
            metadata.nlink()
        )));
    }
    Ok(())
}

/// A single directory entry name: not empty, not `.` or `..`, no `/`.
fn valid_name(name: &OsStr, shown: &Path) -> ToolResult<()> {
    let bytes = name.as_bytes();
    if bytes.is_empty() || bytes == b"." || bytes == b".." || bytes.contains(&b'/') {
        return Err(ToolError::invalid(format!(
            "`{}` has a component that is not a plain name",
            shown.display()
        )));
    }
    Ok(())
}

/// Map an errno from an open to the most specific error.
fn open_error(path: &Path, errno: Errno) -> ToolError {
    match errno {
        Errno::ELOOP => ToolError::denied(format!(
            "`{}` is (or became) a symbolic link where Skippy expected none; links are resolved when \
             the path is checked, so one appearing later is refused. Retry, or give the link's target",
            path.display()
        )),
        Errno::EXDEV => ToolError::denied(format!(
            "`{}` leads outside its root (a link or directory was swapped while Skippy opened it); \
             nothing was read or written",
            path.display()
        )),
        Errno::ENXIO => not_regular(path),
        // `O_DIRECTORY | O_NOFOLLOW` on a link fails with ENOTDIR, not ELOOP: name the link (the
        // lstat only picks the message; nothing is opened through it).
        Errno::ENOTDIR
            if std::fs::symlink_metadata(path)
                .is_ok_and(|found| found.file_type().is_symlink()) =>
        {
            open_error(path, Errno::ELOOP)
        }
        other => ToolError::io(path, &io::Error::from(other)),
    }
}

/// Randomness for temporary names, from the standard library's per-process hash keys: names only
/// need to be hard to guess, and O_EXCL makes a guessed one harmless.
fn random_u32() -> u32 {
    use std::hash::{BuildHasher, Hasher};
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u128(
        SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0, |elapsed| elapsed.as_nanos()),
    );
    (hasher.finish() >> 32) as u32
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    struct Fixture {
        _dir: tempfile::TempDir,
        root: PathBuf,
        outside: PathBuf,
        policy: PathPolicy,
    }

    /// A write root `allow` (holding `sub/file.txt`) and a sibling `outside` holding a secret.
    fn fixture() -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let base = std::fs::canonicalize(dir.path()).unwrap();
        let root = base.join("allow");
        let outside = base.join("outside");
        std::fs::create_dir_all(root.join("sub")).unwrap();
        std::fs::create_dir_all(&outside).unwrap();
        std::fs::write(root.join("sub/file.txt"), "inside").unwrap();
        std::fs::write(outside.join("file.txt"), "SECRET").unwrap();
        let policy = PathPolicy::new(vec![], vec![root.clone()], "file roots");
        Fixture {
            _dir: dir,
            root,
            outside,
            policy,
        }
    }

    fn read_all(mut file: File) -> String {
        let mut text = String::new();
        io::Read::read_to_string(&mut file, &mut text).unwrap();
        text
    }

    fn temp_names(dir: &Path) -> Vec<String> {
        std::fs::read_dir(dir)
            .unwrap()
            .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|name| name.starts_with(TEMP_PREFIX))
            .collect()
    }

    #[test]
    fn reads_writes_and_lists_inside_the_roots() {
        let f = fixture();
        let file = f.policy.check("sub/file.txt", Access::Read).unwrap();
        assert_eq!(read_all(open_read(&f.policy, &file).unwrap()), "inside");

        let target = f.policy.check("sub/file.txt", Access::Write).unwrap();
        replace_atomic(&f.policy, &target, b"replaced").unwrap();
        assert_eq!(
            std::fs::read_to_string(f.root.join("sub/file.txt")).unwrap(),
            "replaced"
        );
        let mut appending = open_append(&f.policy, &target, false).unwrap();
        assert!(!appending.created);
        appending.file.write_all(b"+").unwrap();
        let new = f.policy.check("sub/new.txt", Access::Write).unwrap();
        create_new(&f.policy, &new, b"new").unwrap();
        assert_eq!(
            create_new(&f.policy, &new, b"again").unwrap_err().code(),
            "already_exists"
        );
        let deep = f.policy.check("a/b/c", Access::Write).unwrap();
        create_dirs(&f.policy, deep.as_path(), Access::Write).unwrap();
        assert!(f.root.join("a/b/c").is_dir());

        let sub = f.policy.check("sub", Access::Read).unwrap();
        let mut names: Vec<(String, EntryKind)> = open_dir(&f.policy, &sub)
            .unwrap()
            .entries()
            .unwrap()
            .into_iter()
            .map(|entry| {
                (
                    entry.name.to_string_lossy().into_owned(),
                    entry.stat.unwrap().kind,
                )
            })
            .collect();
        names.sort_by(|a, b| a.0.cmp(&b.0));
        assert_eq!(
            names,
            [
                ("file.txt".to_string(), EntryKind::File),
                ("new.txt".to_string(), EntryKind::File)
            ]
        );
        assert_eq!(
            std::fs::read_to_string(f.root.join("sub/file.txt")).unwrap(),
            "replaced+"
        );
        assert!(temp_names(&f.root.join("sub")).is_empty());
    }

    #[test]
    fn finding_07_symlink_swapped_in_as_final_component_is_refused() {
        let f = fixture();
        let read = f.policy.check("sub/file.txt", Access::Read).unwrap();
        let write = f.policy.check("sub/file.txt", Access::Write).unwrap();
        // The swap happens after the check, as in the race.
        std::fs::remove_file(f.root.join("sub/file.txt")).unwrap();
        symlink(f.outside.join("file.txt"), f.root.join("sub/file.txt")).unwrap();

        assert_eq!(
            open_read(&f.policy, &read).unwrap_err().code(),
            "policy_denied"
        );
        assert_eq!(
            open_append(&f.policy, &write, true).unwrap_err().code(),
            "policy_denied"
        );
        assert_eq!(
            replace_atomic(&f.policy, &write, b"pwned")
                .unwrap_err()
                .code(),
            "policy_denied"
        );
        assert_eq!(
            create_new(&f.policy, &write, b"pwned").unwrap_err().code(),
            "already_exists"
        );
        assert_eq!(
            std::fs::read_to_string(f.outside.join("file.txt")).unwrap(),
            "SECRET"
        );
        assert!(temp_names(&f.root.join("sub")).is_empty());
    }

    #[test]
    fn finding_07_swapped_parent_directory_is_refused() {
        let f = fixture();
        let read = f.policy.check("sub/file.txt", Access::Read).unwrap();
        let write = f.policy.check("sub/file.txt", Access::Write).unwrap();
        let new = f.policy.check("sub/new.txt", Access::Write).unwrap();
        let deeper = f.policy.check("sub/x/y", Access::Write).unwrap();
        let listing = f.policy.check("sub", Access::Read).unwrap();
        std::fs::rename(f.root.join("sub"), f.root.join("moved")).unwrap();
        symlink(&f.outside, f.root.join("sub")).unwrap();
        assert_eq!(
            open_read(&f.policy, &read).unwrap_err().code(),
            "policy_denied"
        );
        assert_eq!(
            open_append(&f.policy, &write, true).unwrap_err().code(),
            "policy_denied"
        );
        assert_eq!(
            replace_atomic(&f.policy, &write, b"pwned")
                .unwrap_err()
                .code(),
            "policy_denied"
        );
        assert_eq!(
            create_new(&f.policy, &new, b"pwned").unwrap_err().code(),
            "policy_denied"
        );
        assert_eq!(
            create_dirs(&f.policy, deeper.as_path(), Access::Write)
                .unwrap_err()
                .code(),
            "policy_denied"
        );
        assert_eq!(
            open_dir(&f.policy, &listing).unwrap_err().code(),
            "policy_denied"
        );
        let mut outside: Vec<String> = std::fs::read_dir(&f.outside)
            .unwrap()
            .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        outside.sort();
        assert_eq!(outside, ["file.txt"], "nothing was created outside");
        assert_eq!(
            std::fs::read_to_string(f.outside.join("file.txt")).unwrap(),
            "SECRET"
        );
    }

    #[test]
    fn finding_07_without_openat2_the_descriptor_check_refuses_a_swapped_parent() {
        // What the fallback (no openat2) relies on: an open by path follows a swapped parent
        // link, and the verification of the descriptor refuses what it reached.
        let f = fixture();
        let read = f.policy.check("sub/file.txt", Access::Read).unwrap();
        std::fs::rename(f.root.join("sub"), f.root.join("moved")).unwrap();
        symlink(&f.outside, f.root.join("sub")).unwrap();
        let fd =
            nix::fcntl::open(read.as_path(), OFlag::O_RDONLY | BASE_FLAGS, Mode::empty()).unwrap();
        let error = verify(
            &f.policy,
            &File::from(fd),
            Access::Read,
            Some(read.as_path()),
        )
        .unwrap_err();
        assert_eq!(error.code(), "policy_denied");
        assert!(error.to_string().contains("changed while"), "{error}");
        assert!(
            !error.to_string().contains("outside/"),
            "the real path is not shown: {error}"
        );
    }

    #[test]
    fn finding_07_a_pinned_directory_never_follows_a_child_link() {
        let f = fixture();
        let sub = f.policy.check("sub", Access::Write).unwrap();
        let dir = open_dir(&f.policy, &sub).unwrap();
        symlink(&f.outside, f.root.join("sub/escape")).unwrap();
        symlink(f.outside.join("file.txt"), f.root.join("sub/link")).unwrap();
        assert_eq!(
            dir.open_subdir(&f.policy, OsStr::new("escape"))
                .unwrap_err()
                .code(),
            "policy_denied"
        );
        assert_eq!(
            dir.open_read(&f.policy, OsStr::new("link"))
                .unwrap_err()
                .code(),
            "policy_denied"
        );
        assert_eq!(
            dir.open_read(&f.policy, OsStr::new("../outside"))
                .unwrap_err()
                .code(),
            "invalid_argument"
        );
        let kinds: Vec<EntryKind> = dir
            .entries()
            .unwrap()
            .iter()
            .filter(|entry| entry.name == "link" || entry.name == "escape")
            .map(|entry| entry.stat.unwrap().kind)
            .collect();
        assert_eq!(kinds, [EntryKind::Symlink, EntryKind::Symlink]);
    }

    #[test]
    fn finding_10_fifo_is_refused_without_blocking() {
        let f = fixture();
        let read = f.policy.check("sub/file.txt", Access::Read).unwrap();
        let write = f.policy.check("sub/file.txt", Access::Write).unwrap();
        // Swapped for a FIFO after the check: a blocking open would hang this test forever.
        std::fs::remove_file(f.root.join("sub/file.txt")).unwrap();
        nix::unistd::mkfifo(
            &f.root.join("sub/file.txt"),
            Mode::from_bits_truncate(0o600),
        )
        .unwrap();
        let error = open_read(&f.policy, &read).unwrap_err();
        assert_eq!(error.code(), "invalid_argument");
        assert!(error.to_string().contains("FIFO"), "{error}");
        assert_eq!(
            open_append(&f.policy, &write, false).unwrap_err().code(),
            "invalid_argument"
        );
        assert_eq!(
            replace_atomic(&f.policy, &write, b"x").unwrap_err().code(),
            "invalid_argument"
        );
        let (_, metadata) = open_metadata(&f.policy, read.as_path(), Access::Read).unwrap();
        assert!(std::os::unix::fs::FileTypeExt::is_fifo(
            &metadata.file_type()
        ));
    }

    #[test]
    fn finding_08_append_through_a_hard_link_is_refused() {
        let f = fixture();
        std::fs::hard_link(f.outside.join("file.txt"), f.root.join("hard.txt")).unwrap();
        let hard = f.policy.check("hard.txt", Access::Write).unwrap();
        let error = open_append(&f.policy, &hard, true).unwrap_err();
        assert_eq!(error.code(), "policy_denied");
        assert!(error.to_string().contains("hard links"), "{error}");
        assert_eq!(
            std::fs::read_to_string(f.outside.join("file.txt")).unwrap(),
            "SECRET"
        );
        // An atomic replace breaks the link: the outside name keeps its content.
        replace_atomic(&f.policy, &hard, b"mine").unwrap();
        assert_eq!(
            std::fs::read_to_string(f.root.join("hard.txt")).unwrap(),
            "mine"
        );
        assert_eq!(
            std::fs::read_to_string(f.outside.join("file.txt")).unwrap(),
            "SECRET"
        );
    }

    #[test]
    fn finding_07_uncommitted_temp_file_is_removed_on_drop() {
        let f = fixture();
        let target = f.policy.check("sub/file.txt", Access::Write).unwrap();
        let (dir, name) = open_parent(&f.policy, &target).unwrap();
        let mut temp = dir.temp_file(&f.policy, &name).unwrap();
        temp.as_file_mut().write_all(b"half").unwrap();
        assert_eq!(temp_names(&f.root.join("sub")).len(), 1);
        drop(temp);
        assert!(temp_names(&f.root.join("sub")).is_empty());
        assert_eq!(
            std::fs::read_to_string(f.root.join("sub/file.txt")).unwrap(),
            "inside"
        );
    }

    #[test]
    fn finding_03_skippy_proc_entries_are_refused() {
        let policy = PathPolicy::new(vec![PathBuf::from("/")], vec![], "file roots");
        let pid = std::process::id();
        let (sender, receiver) = std::sync::mpsc::channel();
        let (done, wait) = std::sync::mpsc::channel::<()>();
        let thread = std::thread::spawn(move || {
            sender.send(nix::unistd::gettid().as_raw()).unwrap();
            let _ = wait.recv();
        });
        let tid = receiver.recv().unwrap();
        for path in [
            "/proc/self/environ".to_string(),
            "/proc/thread-self/environ".to_string(),
            "/proc/self/status".to_string(),
            format!("/proc/{pid}/environ"),
            format!("/proc/{pid}/cmdline"),
            format!("/proc/{pid}/mem"),
            format!("/proc/{pid}/task/{tid}/environ"),
            format!("/proc/{tid}/environ"),
            format!("/proc/{tid}/status"),
            "/proc/1/environ".to_string(),
            "/proc/1/task/1/environ".to_string(),
            "/proc/1/mem".to_string(),
        ] {
            let error = policy.check(&path, Access::Read).unwrap_err();
            assert_eq!(error.code(), "policy_denied", "{path}: {error}");
        }
        done.send(()).unwrap();
        thread.join().unwrap();

        // The rest of /proc stays readable, and a descriptor of Skippy's own entries is refused
        // when verified, whatever path reached it.
        let meminfo = policy.check("/proc/meminfo", Access::Read).unwrap();
        assert!(read_all(open_read(&policy, &meminfo).unwrap()).contains("MemTotal"));
        let own = File::open("/proc/self/environ").unwrap();
        assert_eq!(
            verify_fd(&policy, &own, Access::Read).unwrap_err().code(),
            "policy_denied"
        );
        let other = File::open("/proc/meminfo").unwrap();
        assert_eq!(
            verify_fd(&policy, &other, Access::Read).unwrap(),
            Path::new("/proc/meminfo")
        );
    }
}
