//! `get_disk_usage`: size, used and available space of mounted filesystems, like `df`.
//!
//! The mount table is `/proc/self/mountinfo`; the figures come from `statvfs(2)`. `used` is
//! `total - free`, `available` is what unprivileged users may still write (reserved blocks
//! excluded), and `used_percent` is `used / (used + available)`, as `df` computes it.
//!
//! Without `path`, every real filesystem is listed, sorted by mount point. Skipped:
//! - pseudo and memory filesystems: proc, sysfs, devtmpfs, devpts, tmpfs, ramfs, cgroup, cgroup2,
//!   securityfs, debugfs, tracefs, configfs, fusectl, pstore, bpf, efivarfs, selinuxfs, mqueue,
//!   hugetlbfs, binfmt_misc, autofs, rpc_pipefs, nsfs, nfsd, rootfs, fuse.lxcfs, fuse.gvfsd-fuse,
//!   fuse.portal;
//! - read-only images: squashfs (snaps), iso9660, udf, erofs;
//! - overlay, except when it is mounted at `/` (a container's root); overlays elsewhere are the
//!   layers of container engines;
//! - network filesystems (nfs, nfs4, cifs, smb3, smbfs, ceph, glusterfs, fuse.sshfs,
//!   fuse.glusterfs, afs), because `statvfs` on an unreachable server blocks; ask for them by `path`;
//! - anything mounted under `/proc` or `/sys`, mounts hidden under a later mount at the same place,
//!   and filesystems that report zero blocks;
//! - repeated mounts of one device (bind mounts): listed once, at the shortest mount point.
//!
//! With `path` (absolute; it must exist, symlinks are resolved), only the filesystem holding it is
//! returned: the mount whose mount point is the longest prefix of the canonical path, whatever its
//! type. `path` only reveals filesystem figures, never contents, so it is NOT confined to the file
//! roots. Work runs on the blocking pool and stops at cancellation (a hung network mount can still
//! hold one blocking thread until the kernel gives up).
//!
//! On a remote `host` it runs GNU `df -P -B1 -T` over SSH (with `path`: `df ... -- <path>`, the
//! path passed as one argv word; without: network types excluded with `-x`, which df applies
//! before it asks the filesystem) and applies the same filtering; a missing path is `not_found`, a
//! non-GNU df `unavailable`. Reads only; no side effects.

use std::collections::HashSet;
use std::ffi::OsString;
use std::os::unix::ffi::OsStringExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use skippy_core::limits::{Budget, json_len, truncate_utf8};
use skippy_core::{Annotations, Tool, ToolCtx, ToolError, ToolResult, Toolset, check_cancelled};
use skippy_remote::{Executor, Hosts};
use tokio_util::sync::CancellationToken;

use crate::common::percent;
use crate::remote::{self, split_fields};

const MOUNTINFO: &str = "/proc/self/mountinfo";

/// Filesystem types that hold no disk space of their own.
const PSEUDO_TYPES: &[&str] = &[
    "proc",
    "sysfs",
    "devtmpfs",
    "devpts",
    "tmpfs",
    "ramfs",
    "cgroup",
    "cgroup2",
    "securityfs",
    "debugfs",
    "tracefs",
    "configfs",
    "fusectl",
    "pstore",
    "bpf",
    "efivarfs",
    "selinuxfs",
    "mqueue",
    "hugetlbfs",
    "binfmt_misc",
    "autofs",
    "rpc_pipefs",
    "nsfs",
    "nfsd",
    "rootfs",
    "fuse.lxcfs",
    "fuse.gvfsd-fuse",
    "fuse.portal",
    "squashfs",
    "iso9660",
    "udf",
    "erofs",
];

/// Filesystem types whose `statvfs` can block on an unreachable server.
const NETWORK_TYPES: &[&str] = &[
    "nfs",
    "nfs4",
    "cifs",
    "smb3",
    "smbfs",
    "ceph",
    "glusterfs",
    "fuse.sshfs",
    "fuse.glusterfs",
    "afs",
];

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Params {
    /// Any absolute path
    #[serde(default)]
    pub path: Option<String>,
    /// From list_hosts; default local
    #[serde(default)]
    pub host: Option<String>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct Output {
    pub filesystems: Vec<Filesystem>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub truncated: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
#[schemars(inline)]
pub struct Filesystem {
    pub mount_point: String,
    pub device: String,
    pub fs_type: String,
    pub total: u64,
    pub used: u64,
    pub available: u64,
    /// used / (used + available), like df
    pub used_percent: f64,
}

pub struct GetDiskUsage {
    pub hosts: Arc<Hosts>,
}

impl Tool for GetDiskUsage {
    type Params = Params;
    type Output = Output;
    const NAME: &'static str = "get_disk_usage";
    const TITLE: &'static str = "Disk usage";
    const DESCRIPTION: &'static str =
        "Space of mounted filesystems (like df), or of the one holding path.";
    const TOOLSET: Toolset = Toolset::System;
    const ANNOTATIONS: Annotations = Annotations::READ_ONLY;

    async fn run(&self, ctx: ToolCtx, params: Params) -> ToolResult<Output> {
        let max_output_bytes = ctx.max_output_bytes();
        if let Some(path) = &params.path
            && !path.starts_with('/')
        {
            return Err(ToolError::invalid(format!(
                "`path` = `{path}` is not absolute; pass an absolute path such as /var/lib"
            )));
        }
        let executor = remote::executor(&self.hosts, &ctx, params.host.as_deref())?;
        if !matches!(executor, Executor::Local) {
            return remote_usage(&executor, &ctx, params.path.as_deref()).await;
        }
        match params.path {
            Some(path) => {
                let filesystem = ctx
                    .blocking(move |_| filesystem_of(Path::new(&path)))
                    .await?;
                Ok(Output {
                    filesystems: vec![filesystem],
                    truncated: false,
                })
            }
            None => {
                ctx.blocking(move |cancel| {
                    let filesystems = list_filesystems(&read_mounts()?, &cancel)?;
                    Ok(cap(filesystems, max_output_bytes))
                })
                .await
            }
        }
    }
}

/// One line of the mount table.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Mount {
    /// `major:minor` of the device.
    device_id: String,
    mount_point: PathBuf,
    fs_type: String,
    source: String,
}

fn read_mounts() -> ToolResult<Vec<Mount>> {
    let text = std::fs::read_to_string(MOUNTINFO).map_err(|error| {
        tracing::warn!(%error, "reading {MOUNTINFO} failed");
        ToolError::Unavailable(format!(
            "the mount table is unavailable: {MOUNTINFO} cannot be read on this machine"
        ))
    })?;
    Ok(parse_mountinfo(&text))
}

/// Parse `/proc/self/mountinfo` (proc(5)): `id parent major:minor root mount_point options
/// [optional fields...] - fs_type source super_options`. Malformed lines are skipped.
fn parse_mountinfo(text: &str) -> Vec<Mount> {
    text.lines()
        .filter_map(|line| {
            let (before, after) = line.split_once(" - ")?;
            let mut head = before.split(' ');
            let device_id = head.nth(2)?.to_string();
            let mount_point = PathBuf::from(OsString::from_vec(unescape(head.nth(1)?)));
            let mut tail = after.split(' ');
            let fs_type = tail.next()?.to_string();
            let source = String::from_utf8_lossy(&unescape(tail.next()?)).into_owned();
            Some(Mount {
                device_id,
                mount_point,
                fs_type,
                source,
            })
        })
        .collect()
}

/// Undo the kernel's octal escapes (`\040` for a space, `\011`, `\012`, `\134`).
fn unescape(field: &str) -> Vec<u8> {
    let bytes = field.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while index < bytes.len() {
        if bytes[index] == b'\\'
            && let Some(digits) = bytes.get(index + 1..index + 4)
            && digits.iter().all(|digit| (b'0'..=b'7').contains(digit))
        {
            let value = digits
                .iter()
                .fold(0u32, |value, digit| value * 8 + u32::from(digit - b'0'));
            if let Ok(byte) = u8::try_from(value) {
                out.push(byte);
                index += 4;
                continue;
            }
        }
        out.push(bytes[index]);
        index += 1;
    }
    out
}

/// Whether a mount belongs in the default listing (see the module doc for the rules).
fn is_listed(mount: &Mount) -> bool {
    is_listed_type_at(&mount.fs_type, &mount.mount_point)
}

fn is_listed_type_at(fs_type: &str, mount_point: &Path) -> bool {
    if PSEUDO_TYPES.contains(&fs_type) || NETWORK_TYPES.contains(&fs_type) {
        return false;
    }
    if fs_type == "overlay" && mount_point != Path::new("/") {
        return false;
    }
    !(mount_point.starts_with("/proc") || mount_point.starts_with("/sys"))
}

fn list_filesystems(mounts: &[Mount], cancel: &CancellationToken) -> ToolResult<Vec<Filesystem>> {
    // A later mount at the same place hides the earlier ones: keep the last of each mount point.
    let mut seen_points = HashSet::new();
    let mut visible: Vec<&Mount> = mounts
        .iter()
        .rev()
        .filter(|mount| seen_points.insert(mount.mount_point.as_path()))
        .filter(|mount| is_listed(mount))
        .collect();
    // Shortest mount point first, so that a device mounted twice is shown where it is rooted.
    visible.sort_by(|a, b| {
        let depth = |mount: &Mount| mount.mount_point.components().count();
        depth(a)
            .cmp(&depth(b))
            .then_with(|| a.mount_point.cmp(&b.mount_point))
    });
    let mut seen_devices = HashSet::new();
    let mut filesystems = Vec::new();
    for mount in visible {
        check_cancelled(cancel)?;
        if !seen_devices.insert(mount.device_id.as_str()) {
            continue;
        }
        match figures(&mount.mount_point) {
            Ok(figures) if figures.total > 0 => filesystems.push(describe(mount, figures)),
            Ok(_) => {}
            Err(error) => {
                tracing::debug!(mount = %mount.mount_point.display(), %error, "statvfs failed");
            }
        }
    }
    filesystems.sort_by(|a, b| a.mount_point.cmp(&b.mount_point));
    Ok(filesystems)
}

/// The filesystem holding `path`, whatever its type.
fn filesystem_of(path: &Path) -> ToolResult<Filesystem> {
    let canonical = std::fs::canonicalize(path).map_err(|error| match error.kind() {
        std::io::ErrorKind::NotFound => ToolError::NotFound(format!(
            "`{}` does not exist; pass an existing file or directory",
            path.display()
        )),
        _ => ToolError::io(path, &error),
    })?;
    let mounts = read_mounts()?;
    let mount = holding_mount(&mounts, &canonical).ok_or_else(|| {
        ToolError::Unavailable(format!(
            "no mount in {MOUNTINFO} holds `{}`",
            canonical.display()
        ))
    })?;
    let figures =
        figures(&canonical).map_err(|error| ToolError::io(path, &std::io::Error::from(error)))?;
    Ok(describe(mount, figures))
}

/// The mount whose mount point is the longest (component-wise) prefix of `path`; the last one
/// wins among equals, because it hides the earlier ones.
fn holding_mount<'a>(mounts: &'a [Mount], path: &Path) -> Option<&'a Mount> {
    let mut best: Option<&Mount> = None;
    for mount in mounts {
        if !path.starts_with(&mount.mount_point) {
            continue;
        }
        let depth = mount.mount_point.components().count();
        if best.is_none_or(|best| depth >= best.mount_point.components().count()) {
            best = Some(mount);
        }
    }
    best
}

/// Space figures of one filesystem, in bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Figures {
    total: u64,
    free: u64,
    available: u64,
}

// The conversions are no-ops on 64-bit Linux but not on 32-bit targets, where these are u32.
#[allow(clippy::useless_conversion)]
fn figures(path: &Path) -> nix::Result<Figures> {
    let stats = nix::sys::statvfs::statvfs(path)?;
    let unit = match u64::from(stats.fragment_size()) {
        0 => u64::from(stats.block_size()),
        size => size,
    };
    let bytes = |blocks: u64| blocks.saturating_mul(unit);
    Ok(Figures {
        total: bytes(u64::from(stats.blocks())),
        free: bytes(u64::from(stats.blocks_free())),
        available: bytes(u64::from(stats.blocks_available())),
    })
}

fn describe(mount: &Mount, figures: Figures) -> Filesystem {
    let used = figures.total.saturating_sub(figures.free);
    Filesystem {
        mount_point: mount.mount_point.to_string_lossy().into_owned(),
        device: mount.source.clone(),
        fs_type: mount.fs_type.clone(),
        total: figures.total,
        used,
        available: figures.available,
        used_percent: percent(used, used.saturating_add(figures.available)),
    }
}

/// `df` on a remote host: the listing, or the filesystem holding `path`.
async fn remote_usage(
    executor: &Executor,
    ctx: &ToolCtx,
    path: Option<&str>,
) -> ToolResult<Output> {
    let host = executor.host_name();
    let mut argv: Vec<String> = ["env", "LC_ALL=C", "df", "-P", "-B1", "-T"]
        .map(String::from)
        .into();
    match path {
        Some(path) => argv.extend(["--".to_string(), path.to_string()]),
        None => {
            for fs_type in NETWORK_TYPES {
                argv.extend(["-x".to_string(), (*fs_type).to_string()]);
            }
        }
    }
    let output = executor
        .run(&argv, &remote::options(ctx, 1024 * 1024), &ctx.cancel)
        .await?;
    let stderr = truncate_utf8(output.stderr.trim(), 300);
    if output.exit_code == Some(127) {
        return Err(ToolError::Unavailable(format!(
            "`df` is not installed on host {host}: {stderr}"
        )));
    }
    let parsed = parse_df(&output.stdout);
    if let Some(path) = path {
        if !output.success() && stderr.contains("No such file or directory") {
            return Err(ToolError::NotFound(format!(
                "`{path}` does not exist on host {host} ({stderr}); pass an existing file or directory"
            )));
        }
        if !output.success() && parsed.is_some() {
            return Err(ToolError::CommandFailed(format!(
                "`df` failed on host {host}: {stderr}"
            )));
        }
    }
    let Some(filesystems) = parsed else {
        return Err(ToolError::Unavailable(format!(
            "`df -P -B1 -T` on host {host} did not give GNU coreutils output; this tool needs GNU \
             df there ({})",
            if stderr.is_empty() {
                "no error message"
            } else {
                stderr
            }
        )));
    };
    if !output.success() {
        // Some mounts could not be read (permissions); the rest is still right.
        tracing::debug!(%host, %stderr, "df reported errors");
    }
    if path.is_some() {
        return Ok(Output {
            filesystems,
            truncated: false,
        });
    }
    let mut listed: Vec<Filesystem> = filesystems
        .into_iter()
        .filter(|filesystem| {
            filesystem.total > 0
                && is_listed_type_at(&filesystem.fs_type, Path::new(&filesystem.mount_point))
        })
        .collect();
    listed.sort_by(|a, b| a.mount_point.cmp(&b.mount_point));
    Ok(cap(listed, ctx.max_output_bytes()))
}

/// Parse `df -P -B1 -T` (GNU coreutils, C locale): a header, then `source type total used available
/// capacity mount_point` per line, the mount point last (it may hold spaces). None when the header
/// is not GNU's: another df (BSD's `-T` filters by type, its sizes are 512-byte blocks).
fn parse_df(text: &str) -> Option<Vec<Filesystem>> {
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next()?.split_whitespace().collect();
    if header.get(..3) != Some(&["Filesystem", "Type", "1-blocks"][..]) {
        return None;
    }
    Some(
        lines
            .filter_map(|line| {
                let (fields, mount_point) = split_fields(line, 6)?;
                let number = |index: usize| fields[index].parse::<u64>().ok();
                let (total, used, available) = (number(2)?, number(3)?, number(4)?);
                if !mount_point.starts_with('/') {
                    return None;
                }
                Some(Filesystem {
                    mount_point: mount_point.to_string(),
                    device: fields[0].to_string(),
                    fs_type: fields[1].to_string(),
                    total,
                    used,
                    available,
                    used_percent: percent(used, used.saturating_add(available)),
                })
            })
            .collect(),
    )
}

/// Keep the filesystems that fit the output cap.
fn cap(filesystems: Vec<Filesystem>, max_output_bytes: usize) -> Output {
    let mut budget = Budget::for_output(max_output_bytes);
    let count = filesystems.len();
    let kept: Vec<Filesystem> = filesystems
        .into_iter()
        .take_while(|filesystem| {
            // Strings plus the fixed keys and numbers of one entry.
            let cost = json_len(&filesystem.mount_point)
                + json_len(&filesystem.device)
                + json_len(&filesystem.fs_type)
                + 160;
            budget.take(cost)
        })
        .collect();
    Output {
        truncated: kept.len() < count,
        filesystems: kept,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::common::test_ctx as ctx;

    fn tool() -> GetDiskUsage {
        GetDiskUsage {
            hosts: Arc::default(),
        }
    }

    fn at(path: Option<String>) -> Params {
        Params { path, host: None }
    }

    /// `LC_ALL=C df -P -B1 -T -x nfs -x nfs4` on the development machine, plus a mount point with
    /// spaces and a line whose sizes df could not read.
    const DF: &str = "\
Filesystem              Type         1-blocks        Used   Available Capacity Mounted on
devtmpfs                devtmpfs  12630552576           0 12630552576       0% /dev
tmpfs                   tmpfs     25276514304           0 25276514304       0% /dev/shm
/dev/vda                ext4     270553174016 32925618176 64647131136      34% /
model_tools_unavailable tmpfs            4096           0        4096       0% /mnt/sandboxing/model_tools_env/v1/python
tmpfs                   tmpfs     12638257152           0 12638257152       0% /sys/fs/cgroup
/dev/sdb1               xfs        1000000000   250000000   750000000      25% /mnt/My  Disk
broken                  fuse.x              -           -           -        - /mnt/broken
";

    #[test]
    fn parses_gnu_df_and_keeps_spaces_in_mount_points() {
        let rows = parse_df(DF).unwrap();
        assert_eq!(rows.len(), 6);
        let root = &rows[2];
        assert_eq!(
            (
                root.device.as_str(),
                root.fs_type.as_str(),
                root.mount_point.as_str()
            ),
            ("/dev/vda", "ext4", "/")
        );
        assert_eq!(
            (root.total, root.used, root.available),
            (270553174016, 32925618176, 64647131136)
        );
        assert_eq!(root.used_percent, 33.7);
        assert_eq!(rows[5].mount_point, "/mnt/My  Disk");
        assert_eq!(rows[5].used_percent, 25.0);
        let listed: Vec<&str> = rows
            .iter()
            .filter(|row| is_listed_type_at(&row.fs_type, Path::new(&row.mount_point)))
            .map(|row| row.mount_point.as_str())
            .collect();
        assert_eq!(listed, vec!["/", "/mnt/My  Disk"]);
    }

    #[test]
    fn other_dfs_are_recognised_by_their_header() {
        let bsd =
            "Filesystem 512-blocks Used Avail Capacity Mounted on\n/dev/ada0p2 100 50 50 50% /\n";
        assert_eq!(parse_df(bsd), None);
        let no_type = "Filesystem 1-blocks Used Available Capacity Mounted on\n";
        assert_eq!(parse_df(no_type), None);
        assert_eq!(parse_df(""), None);
        let header_only = "Filesystem Type 1-blocks Used Available Capacity Mounted on\n";
        assert_eq!(parse_df(header_only), Some(Vec::new()));
    }

    const SAMPLE: &str = "\
22 27 0:21 / /proc rw,relatime - proc proc rw
27 1 254:0 / / rw,relatime shared:1 - ext4 /dev/vda rw,discard
25 24 0:23 / /dev/shm rw,relatime - tmpfs tmpfs rw
30 25 0:27 / /dev/shm rw,relatime - tmpfs tmpfs rw
40 27 254:0 /var/lib/docker/containers/x/hosts /etc/hosts rw - ext4 /dev/vda rw
41 27 8:1 / /mnt/My\\040Disk rw master:2 - xfs /dev/sdb1 rw
42 27 0:50 / /var/lib/docker/overlay2/abc/merged rw - overlay overlay rw
43 27 0:51 / /srv/nfs rw - nfs4 server:/export rw
44 27 7:3 / /snap/core/1 ro - squashfs /dev/loop3 ro
garbage line without separator
";

    #[test]
    fn parses_mountinfo_with_optional_fields_and_escapes() {
        let mounts = parse_mountinfo(SAMPLE);
        assert_eq!(mounts.len(), 9);
        assert_eq!(
            mounts[1],
            Mount {
                device_id: "254:0".into(),
                mount_point: "/".into(),
                fs_type: "ext4".into(),
                source: "/dev/vda".into(),
            }
        );
        assert_eq!(mounts[5].mount_point, Path::new("/mnt/My Disk"));
        assert_eq!(mounts[5].fs_type, "xfs");
        assert_eq!(mounts[7].source, "server:/export");
        assert_eq!(unescape(r"a\134b\011c\9"), b"a\\b\tc\\9");
    }

    #[test]
    fn default_listing_keeps_real_filesystems_only() {
        let listed: Vec<String> = parse_mountinfo(SAMPLE)
            .iter()
            .filter(|mount| is_listed(mount))
            .map(|mount| mount.mount_point.display().to_string())
            .collect();
        // /etc/hosts is still here: it is dropped later as a second mount of device 254:0.
        assert_eq!(listed, vec!["/", "/etc/hosts", "/mnt/My Disk"]);
        let root_overlay = Mount {
            device_id: "0:60".into(),
            mount_point: "/".into(),
            fs_type: "overlay".into(),
            source: "overlay".into(),
        };
        assert!(is_listed(&root_overlay));
    }

    #[test]
    fn holding_mount_is_the_longest_component_prefix_and_the_last_of_equals() {
        let mounts = parse_mountinfo(SAMPLE);
        let pick = |path: &str| holding_mount(&mounts, Path::new(path)).unwrap();
        assert_eq!(pick("/home/user").mount_point, Path::new("/"));
        assert_eq!(pick("/mnt/My Disk/a").device_id, "8:1");
        // "/srv/nfsdata" shares a string prefix with "/srv/nfs" but not a component prefix.
        assert_eq!(pick("/srv/nfsdata").mount_point, Path::new("/"));
        assert_eq!(pick("/dev/shm/x").device_id, "0:27");
    }

    #[tokio::test]
    async fn temp_dir_is_on_exactly_one_filesystem_whose_mount_point_is_a_prefix() {
        let (dir, ctx) = ctx();
        let canonical = std::fs::canonicalize(dir.path()).unwrap();
        let params = at(Some(dir.path().display().to_string()));
        let output = tool().run(ctx, params).await.unwrap();
        assert_eq!(output.filesystems.len(), 1);
        let filesystem = &output.filesystems[0];
        assert!(
            canonical.starts_with(&filesystem.mount_point),
            "{filesystem:?}"
        );
        assert!(filesystem.total > 0);
        assert!(filesystem.used + filesystem.available <= filesystem.total);
        // The mount table agrees on the device and type of that mount point.
        let mounts = parse_mountinfo(&std::fs::read_to_string(MOUNTINFO).unwrap());
        let mount = holding_mount(&mounts, &canonical).unwrap();
        assert_eq!(filesystem.fs_type, mount.fs_type);
        assert_eq!(filesystem.device, mount.source);
        // And statvfs of the temp dir itself gives the same size.
        let stats = nix::sys::statvfs::statvfs(&canonical).unwrap();
        assert_eq!(filesystem.total, stats.blocks() * stats.fragment_size());
    }

    #[tokio::test]
    async fn listing_holds_the_root_filesystem_and_no_pseudo_ones() {
        let (_dir, ctx) = ctx();
        let output = tool().run(ctx, at(None)).await.unwrap();
        assert!(!output.truncated);
        let root = output
            .filesystems
            .iter()
            .find(|filesystem| filesystem.mount_point == "/")
            .unwrap();
        assert!(root.total > 0);
        for filesystem in &output.filesystems {
            assert!(
                !PSEUDO_TYPES.contains(&filesystem.fs_type.as_str()),
                "{filesystem:?}"
            );
            assert!((0.0..=100.0).contains(&filesystem.used_percent));
        }
        let mut points: Vec<&str> = output
            .filesystems
            .iter()
            .map(|filesystem| filesystem.mount_point.as_str())
            .collect();
        let sorted = {
            let mut copy = points.clone();
            copy.sort();
            copy
        };
        assert_eq!(points, sorted);
        points.dedup();
        assert_eq!(points.len(), output.filesystems.len());
    }

    #[tokio::test]
    async fn missing_and_relative_paths_are_refused() {
        let (dir, ctx) = ctx();
        let missing = dir.path().join("no-such-dir");
        let error = tool()
            .run(ctx.clone(), at(Some(missing.display().to_string())))
            .await
            .unwrap_err();
        assert_eq!(error.code(), "not_found");
        let error = tool()
            .run(ctx, at(Some("relative/dir".into())))
            .await
            .unwrap_err();
        assert_eq!(error.code(), "invalid_argument");
    }

    #[test]
    fn a_small_output_cap_cuts_the_list_and_says_so() {
        let entry = |point: &str| Filesystem {
            mount_point: point.into(),
            device: "/dev/sda1".into(),
            fs_type: "ext4".into(),
            total: 100,
            used: 50,
            available: 50,
            used_percent: 50.0,
        };
        let all = vec![entry("/"), entry("/a"), entry("/b")];
        let full = cap(all.clone(), 256 * 1024);
        assert_eq!(full.filesystems.len(), 3);
        assert!(!full.truncated);
        // Room for the envelope and exactly one entry.
        let one = json_len("/") + json_len("/dev/sda1") + json_len("ext4") + 160;
        let cut = cap(all, skippy_core::limits::ENVELOPE_RESERVE + one + 10);
        assert_eq!(cut.filesystems.len(), 1);
        assert!(cut.truncated);
    }
}
