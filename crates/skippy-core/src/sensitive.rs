//! Files no tool may write, whatever the roots say: files that a host executes (at login, at the start
//! of an SSH session, from cron or systemd, from a directory on `PATH`, from a git hook) and files
//! that configure authentication, SSH or credentials.
//!
//! Why a fixed list on top of the roots: a root is a directory the operator meant for data, but a root
//! that covers a home directory also covers `~/.ssh/rc`, which sshd runs at the start of every later
//! SSH session. Writing it turns "may write files" into "may run commands", even on a host whose
//! `exec_policy` is `disabled`. The same holds for shell start-up files, autostart entries, user
//! units, cron tables and so on.
//!
//! Matching is on whole path components of the CANONICAL path (symlinks resolved by the caller, so a
//! link in a root that points at `~/.ssh` is seen as `.ssh`), ASCII case-insensitively: `.SSH/rc` is
//! the same file as `.ssh/rc` on a case-insensitive file system (macOS), and refusing it on Linux
//! costs nothing. A component must match whole: `.sshx/rc` is not `.ssh/rc`. Names are matched at
//! any depth, not only directly in a home directory, because which directory is a home is not
//! known for every user, and a dotfile kept in a repository and symlinked into the home resolves to
//! the repository's copy.
//!
//! Independently of the list, an existing file with an execute bit is never modified or replaced
//! (the new content would keep the bit and become a program): see [`refuse_executable`].

use std::path::{Component, Path};

use crate::error::ToolError;

/// One refused place: `pattern` is written like a path. A leading `/` anchors it at the root of the
/// file system; otherwise it matches at any depth. A trailing `/` means the directory and everything
/// under it; otherwise the pattern must end at the path's last component. In a component, `*` alone
/// matches any name, `*suffix` and `prefix*` match by suffix or prefix.
struct Entry {
    class: &'static str,
    pattern: &'static str,
}

const SSH: &str = "SSH configuration, keys or authorized keys";
const SHELL: &str = "a shell or login start-up file";
const AUTOSTART: &str = "a session autostart entry, user service or login environment";
const PATH_DIR: &str = "a directory on PATH";
const GIT: &str = "git hooks or git configuration (which can run programs)";
const CREDENTIALS: &str = "a credential file or a configuration that runs credential helpers";
const PROGRAM_RC: &str = "a start-up file of a program that can run commands";
const SYSTEM: &str = "a system configuration, service, scheduler, boot or program location";

/// The list. docs/security.md describes it; keep the two in step.
const ENTRIES: &[Entry] = &[
    // sshd reads `~/.ssh/rc`, `authorized_keys*`, `environment`; ssh reads `config` (ProxyCommand).
    entry(SSH, ".ssh/"),
    entry(SSH, "authorized_keys"),
    entry(SSH, "authorized_keys2"),
    entry(SSH, "authorized_principals"),
    entry(SSH, ".shosts"),
    entry(SSH, ".rhosts"),
    entry(SHELL, ".bashrc"),
    entry(SHELL, ".bash_profile"),
    entry(SHELL, ".bash_login"),
    entry(SHELL, ".bash_logout"),
    entry(SHELL, ".bash_aliases"),
    entry(SHELL, ".profile"),
    entry(SHELL, ".zshrc"),
    entry(SHELL, ".zshenv"),
    entry(SHELL, ".zprofile"),
    entry(SHELL, ".zlogin"),
    entry(SHELL, ".zlogout"),
    entry(SHELL, ".kshrc"),
    entry(SHELL, ".mkshrc"),
    entry(SHELL, ".cshrc"),
    entry(SHELL, ".tcshrc"),
    entry(SHELL, ".login"),
    entry(SHELL, ".logout"),
    entry(SHELL, ".xprofile"),
    entry(SHELL, ".xinitrc"),
    entry(SHELL, ".xsession"),
    entry(SHELL, ".xsessionrc"),
    entry(SHELL, ".pam_environment"),
    entry(SHELL, ".config/fish/"),
    entry(AUTOSTART, ".config/autostart/"),
    entry(AUTOSTART, ".config/autostart-scripts/"),
    entry(AUTOSTART, ".config/plasma-workspace/"),
    entry(AUTOSTART, ".config/systemd/"),
    entry(AUTOSTART, ".local/share/systemd/"),
    entry(AUTOSTART, ".config/environment.d/"),
    entry(PATH_DIR, ".local/bin/"),
    entry(PATH_DIR, ".cargo/bin/"),
    entry(PATH_DIR, "/root/bin/"),
    entry(PATH_DIR, "/home/*/bin/"),
    // A bare repository (`/srv/app.git/hooks`) as well as a working tree's `.git`.
    entry(GIT, "*.git/hooks/"),
    entry(GIT, "*.git/config"),
    entry(GIT, ".gitconfig"),
    entry(GIT, ".config/git/"),
    entry(CREDENTIALS, ".netrc"),
    entry(CREDENTIALS, ".pgpass"),
    entry(CREDENTIALS, ".my.cnf"),
    entry(CREDENTIALS, ".git-credentials"),
    entry(CREDENTIALS, ".docker/config.json"),
    entry(CREDENTIALS, ".kube/config"),
    entry(CREDENTIALS, ".aws/config"),
    entry(CREDENTIALS, ".aws/credentials"),
    entry(CREDENTIALS, ".npmrc"),
    entry(CREDENTIALS, ".pypirc"),
    entry(CREDENTIALS, ".gnupg/"),
    entry(CREDENTIALS, ".k5login"),
    entry(CREDENTIALS, ".k5users"),
    // Mail delivery pipes to programs named in these.
    entry(PROGRAM_RC, ".forward"),
    entry(PROGRAM_RC, ".procmailrc"),
    entry(PROGRAM_RC, ".vimrc"),
    entry(PROGRAM_RC, ".gvimrc"),
    entry(PROGRAM_RC, ".exrc"),
    entry(PROGRAM_RC, ".tmux.conf"),
    entry(PROGRAM_RC, ".screenrc"),
    entry(PROGRAM_RC, ".gdbinit"),
    // Python runs these at every interpreter start.
    entry(PROGRAM_RC, "sitecustomize.py"),
    entry(PROGRAM_RC, "usercustomize.py"),
    entry(PROGRAM_RC, "site-packages/*.pth"),
    entry(PROGRAM_RC, "dist-packages/*.pth"),
    // All of /etc: cron, sudoers, pam.d, profile.d, ssh, systemd, ld.so.preload, passwd, apt hooks,
    // logrotate scripts, udev rules... nearly every file there configures something that runs.
    entry(SYSTEM, "/etc/"),
    entry(SYSTEM, "/private/etc/"),
    entry(SYSTEM, "/usr/local/etc/"),
    entry(SYSTEM, "/boot/"),
    entry(SYSTEM, "/var/spool/cron/"),
    entry(SYSTEM, "/var/spool/at/"),
    entry(SYSTEM, "/var/cron/"),
    entry(SYSTEM, "/var/at/"),
    entry(SYSTEM, "/bin/"),
    entry(SYSTEM, "/sbin/"),
    entry(SYSTEM, "/lib/"),
    entry(SYSTEM, "/lib32/"),
    entry(SYSTEM, "/lib64/"),
    entry(SYSTEM, "/libx32/"),
    entry(SYSTEM, "/usr/bin/"),
    entry(SYSTEM, "/usr/sbin/"),
    entry(SYSTEM, "/usr/lib/"),
    entry(SYSTEM, "/usr/lib32/"),
    entry(SYSTEM, "/usr/lib64/"),
    entry(SYSTEM, "/usr/libx32/"),
    entry(SYSTEM, "/usr/libexec/"),
    entry(SYSTEM, "/usr/local/bin/"),
    entry(SYSTEM, "/usr/local/sbin/"),
    entry(SYSTEM, "/usr/local/lib/"),
    entry(SYSTEM, "/usr/local/libexec/"),
];

const fn entry(class: &'static str, pattern: &'static str) -> Entry {
    Entry { class, pattern }
}

/// Why a path may not be written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SensitiveMatch {
    /// What kind of file it is, in words.
    pub class: &'static str,
    /// The list entry that matched, as written in the list (`~/bin/` for the home's `bin`).
    pub entry: String,
}

/// The entry of the list that `path` falls under, if any. `path` should be canonical; `.`, empty
/// components and `..` are resolved lexically all the same. `home`, when known, adds `<home>/bin/`
/// (a user bin directory on PATH whose home is not under `/home`).
pub fn sensitive_match(path: &Path, home: Option<&Path>) -> Option<SensitiveMatch> {
    let components = lowercase_components(path);
    for entry in ENTRIES {
        if pattern_matches(entry.pattern, &components) {
            return Some(SensitiveMatch {
                class: entry.class,
                entry: entry.pattern.to_string(),
            });
        }
    }
    let home = home.map(lowercase_components)?;
    if home.is_empty() {
        return None;
    }
    let mut bin = home;
    bin.push("bin".to_string());
    components.starts_with(&bin).then(|| SensitiveMatch {
        class: PATH_DIR,
        entry: "~/bin/".to_string(),
    })
}

/// Refuse (`policy_denied`) a write to a path on the list; this machine's `$HOME` is the home. For
/// local paths that are already canonical ([`crate::AllowedPath`]).
pub fn refuse_sensitive_write(path: &Path) -> Result<(), ToolError> {
    let home = std::env::var_os("HOME").map(std::path::PathBuf::from);
    refuse_sensitive_write_at(path, home.as_deref(), None)
}

/// Refuse a write to a path on the list, with the home directory of the machine the path is on.
/// `host` names a remote host in the message.
pub fn refuse_sensitive_write_at(
    path: &Path,
    home: Option<&Path>,
    host: Option<&str>,
) -> Result<(), ToolError> {
    let Some(found) = sensitive_match(path, home) else {
        return Ok(());
    };
    let place = host.map(|h| format!(" on host {h}")).unwrap_or_default();
    Err(ToolError::denied(format!(
        "refused to write `{}`{place}: it is {} (matched `{}` of Skippy's protected files). No tool writes \
         files that a host executes or that configure authentication or SSH, whatever the roots allow; \
         write somewhere else, or ask the operator to make this change by hand",
        path.display(),
        found.class,
        found.entry
    )))
}

/// Refuse (`policy_denied`) modifying or replacing a regular file whose `mode` has an execute bit:
/// the new content would keep the bit and become a program the host runs.
pub fn refuse_executable(path: &Path, mode: u32, host: Option<&str>) -> Result<(), ToolError> {
    if mode & 0o111 == 0 {
        return Ok(());
    }
    let place = host.map(|h| format!(" on host {h}")).unwrap_or_default();
    Err(ToolError::denied(format!(
        "refused to write `{}`{place}: it is an executable file (mode {:04o}), and no tool modifies or replaces \
         a file the host may run; write a new, non-executable file instead, or ask the operator to make \
         this change by hand",
        path.display(),
        mode & 0o7777
    )))
}

/// Refuse writing a local canonical path: on the list, or an existing executable regular file.
pub fn refuse_local_write(path: &Path) -> Result<(), ToolError> {
    use std::os::unix::fs::PermissionsExt;
    refuse_sensitive_write(path)?;
    match std::fs::metadata(path) {
        Ok(metadata) if metadata.is_file() => {
            refuse_executable(path, metadata.permissions().mode(), None)
        }
        _ => Ok(()),
    }
}

fn lowercase_components(path: &Path) -> Vec<String> {
    let mut parts: Vec<String> = Vec::new();
    for component in path.components() {
        match component {
            Component::Normal(name) => parts.push(name.to_string_lossy().to_ascii_lowercase()),
            Component::ParentDir => {
                parts.pop();
            }
            Component::RootDir | Component::CurDir | Component::Prefix(_) => {}
        }
    }
    parts
}

fn pattern_matches(pattern: &str, components: &[String]) -> bool {
    let anchored = pattern.starts_with('/');
    let subtree = pattern.ends_with('/');
    let wanted: Vec<&str> = pattern.split('/').filter(|part| !part.is_empty()).collect();
    if wanted.is_empty() || wanted.len() > components.len() {
        return false;
    }
    let matches_at = |start: usize| {
        wanted
            .iter()
            .zip(&components[start..])
            .all(|(pattern, name)| component_matches(pattern, name))
    };
    let last_start = components.len() - wanted.len();
    if anchored {
        return (subtree || last_start == 0) && matches_at(0);
    }
    if subtree {
        (0..=last_start).any(matches_at)
    } else {
        matches_at(last_start)
    }
}

fn component_matches(pattern: &str, name: &str) -> bool {
    if pattern == "*" {
        return true;
    }
    if let Some(suffix) = pattern.strip_prefix('*') {
        return name.ends_with(suffix);
    }
    if let Some(prefix) = pattern.strip_suffix('*') {
        return name.starts_with(prefix);
    }
    pattern == name
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(path: &str) -> Option<&'static str> {
        sensitive_match(Path::new(path), Some(Path::new("/srv/home/ops"))).map(|m| m.class)
    }

    #[test]
    fn finding_01_ssh_files_are_refused_in_any_spelling() {
        for path in [
            "/home/a/.ssh/rc",
            "/home/a/.ssh//rc",
            "/home/a/./.ssh/rc",
            "/home/a/x/../.ssh/rc",
            "/home/a/.SSH/rc",
            "/home/a/.Ssh/Config",
            "/home/a/.ssh/authorized_keys",
            "/home/a/.ssh/authorized_keys2",
            "/home/a/.ssh/environment",
            "/home/a/.ssh/config.d/x",
            "/home/a/.ssh",
            "/srv/data/.ssh/rc",
            "/etc/ssh/authorized_keys/a/authorized_keys",
            "/var/keys/authorized_keys",
            "/home/a/.rhosts",
        ] {
            assert!(refused(path).is_some(), "{path} must be refused");
        }
        assert_eq!(refused("/home/a/.SSH/rc"), Some(SSH));
        assert_eq!(refused("/etc/ssh/sshd_config"), Some(SYSTEM));
    }

    #[test]
    fn finding_01_longer_names_and_ordinary_files_pass() {
        for path in [
            "/home/a/.sshx/rc",
            "/home/a/x.ssh/rc",
            "/home/a/ssh/rc",
            "/home/a/.ssh_backup",
            "/home/a/project/bashrc",
            "/home/a/project/.bashrc.example",
            "/home/a/project/my.profile",
            "/home/a/.config/autostartx/a.desktop",
            "/home/a/.configx/systemd/user/a.service",
            "/home/a/.local/binx/tool",
            "/home/a/src/bin/main.rs",
            "/home/a/.git-notes/config",
            "/home/a/repo/.git/COMMIT_EDITMSG",
            "/home/a/repo/.github/workflows/ci.yml",
            "/var/www/html/index.php",
            "/srv/etc/app.conf",
            "/tmp/etc/passwd",
            "/usr/share/doc/x",
            "/home/a/uploads/authorized_keys.txt",
            "/srv/home/ops/binaries/x",
        ] {
            assert_eq!(refused(path), None, "{path} must pass");
        }
    }

    #[test]
    fn finding_01_every_class_is_refused() {
        let cases = [
            ("/home/a/.bashrc", SHELL),
            ("/root/.profile", SHELL),
            ("/home/a/.BASH_PROFILE", SHELL),
            ("/home/a/.zshenv", SHELL),
            ("/home/a/.pam_environment", SHELL),
            ("/home/a/dotfiles/.bashrc", SHELL),
            ("/home/a/.config/fish/config.fish", SHELL),
            ("/home/a/.config/autostart/x.desktop", AUTOSTART),
            ("/home/a/.config/systemd/user/x.service", AUTOSTART),
            ("/home/a/.local/share/systemd/user/x.timer", AUTOSTART),
            ("/home/a/.config/environment.d/50-x.conf", AUTOSTART),
            ("/home/a/.local/bin/ls", PATH_DIR),
            ("/home/a/.cargo/bin/cargo", PATH_DIR),
            ("/home/a/bin/uptime", PATH_DIR),
            ("/root/bin/uptime", PATH_DIR),
            ("/srv/home/ops/bin/uptime", PATH_DIR),
            ("/home/a/repo/.git/hooks/pre-commit", GIT),
            ("/home/a/repo/.git/config", GIT),
            ("/srv/git/app.git/hooks/post-receive", GIT),
            ("/home/a/.gitconfig", GIT),
            ("/home/a/.config/git/config", GIT),
            ("/home/a/.netrc", CREDENTIALS),
            ("/home/a/.pgpass", CREDENTIALS),
            ("/home/a/.my.cnf", CREDENTIALS),
            ("/home/a/.docker/config.json", CREDENTIALS),
            ("/home/a/.kube/config", CREDENTIALS),
            ("/home/a/.aws/credentials", CREDENTIALS),
            ("/home/a/.aws/config", CREDENTIALS),
            ("/home/a/.npmrc", CREDENTIALS),
            ("/home/a/.pypirc", CREDENTIALS),
            ("/home/a/.gnupg/gpg-agent.conf", CREDENTIALS),
            ("/home/a/.forward", PROGRAM_RC),
            (
                "/home/a/.local/lib/python3.12/site-packages/evil.pth",
                PROGRAM_RC,
            ),
            ("/etc/cron.d/x", SYSTEM),
            ("/etc/crontab", SYSTEM),
            ("/etc/sudoers.d/x", SYSTEM),
            ("/etc/ld.so.preload", SYSTEM),
            ("/etc/profile.d/x.sh", SYSTEM),
            ("/etc/systemd/system/x.service", SYSTEM),
            ("/etc/passwd", SYSTEM),
            ("/ETC/passwd", SYSTEM),
            ("/var/spool/cron/crontabs/root", SYSTEM),
            ("/usr/local/bin/uptime", SYSTEM),
            ("/boot/grub/grub.cfg", SYSTEM),
        ];
        for (path, class) in cases {
            assert_eq!(refused(path), Some(class), "{path}");
        }
    }

    #[test]
    fn finding_01_refusal_names_the_rule_and_the_entry() {
        let error =
            refuse_for_test("/home/a/.config/autostart/x.desktop").expect_err("must be refused");
        assert_eq!(error.code(), "policy_denied");
        let text = error.to_string();
        assert!(text.contains(".config/autostart/"), "{text}");
        assert!(text.contains("authentication or SSH"), "{text}");
        assert!(text.contains("on host web"), "{text}");
        assert!(refuse_for_test("/home/a/notes.txt").is_ok());
    }

    fn refuse_for_test(path: &str) -> Result<(), ToolError> {
        refuse_sensitive_write_at(Path::new(path), None, Some("web"))
    }

    /// What write_file, edit_file and download_file's local side go through.
    #[test]
    fn finding_01_local_writes_under_a_root_covering_a_home_are_refused() {
        use std::os::unix::fs::symlink;
        let home = tempfile::tempdir().unwrap();
        std::fs::create_dir(home.path().join(".ssh")).unwrap();
        std::fs::create_dir(home.path().join("project")).unwrap();
        symlink(home.path().join(".ssh"), home.path().join("project/keys")).unwrap();
        // A `.kube` that is itself a link into the project: the name as given still counts.
        symlink(home.path().join("project"), home.path().join(".kube")).unwrap();
        std::fs::write(home.path().join(".bashrc"), "# rc\n").unwrap();
        let config = crate::Config::defaults_for(home.path()).unwrap();
        let ctx = crate::ToolCtx::for_tests(config);
        for target in [
            ".bashrc",
            ".profile",
            ".ssh/config",
            ".ssh/rc",
            ".SSH/authorized_keys",
            "project/keys/rc",
            ".config/autostart/x.desktop",
            ".local/bin/uptime",
            ".kube/config",
        ] {
            let error = ctx.write_path(target).unwrap_err();
            assert_eq!(error.code(), "policy_denied", "{target}: {error}");
            assert!(error.to_string().contains("matched"), "{target}: {error}");
        }
        let allowed = ctx.write_path("project/notes.txt").unwrap();
        assert!(allowed.as_path().ends_with("project/notes.txt"));
        assert!(ctx.read_path(".bashrc").is_ok(), "reading stays allowed");
    }

    #[test]
    fn executable_files_are_not_replaced() {
        let path = Path::new("/srv/app/deploy.sh");
        assert!(refuse_executable(path, 0o100644, None).is_ok());
        for mode in [0o100755, 0o100744, 0o100641, 0o100610] {
            let error = refuse_executable(path, mode, None).unwrap_err();
            assert_eq!(error.code(), "policy_denied");
            assert!(error.to_string().contains("executable"), "{error}");
        }
    }

    #[test]
    fn local_executable_files_are_refused_and_plain_files_pass() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let script = dir.path().join("run.sh");
        std::fs::write(&script, "echo hi\n").unwrap();
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o644)).unwrap();
        assert!(refuse_local_write(&script).is_ok());
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
        assert_eq!(
            refuse_local_write(&script).unwrap_err().code(),
            "policy_denied"
        );
        assert!(refuse_local_write(&dir.path().join("new.txt")).is_ok());
        assert_eq!(
            refuse_local_write(&dir.path().join(".bashrc"))
                .unwrap_err()
                .code(),
            "policy_denied"
        );
    }
}
