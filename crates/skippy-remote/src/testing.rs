//! A throwaway OpenSSH server for tests: `/usr/sbin/sshd -D -e -f <config>` on a free port of
//! 127.0.0.1, with its host key and a user key generated into a temporary directory.
//!
//! Tests start it with `TestSshd::start`, which returns None after printing a skip note when
//! sshd is not installed, unless `CI=true`: then a missing sshd fails the test, so that CI cannot
//! silently skip the SSH tests. The server (and every connection process it forked) is killed on
//! drop. `TestSshd::restart` kills it and starts it again on the same port with the same keys, to
//! test reconnection.
//!
//! Password authentication needs a real account with a password (`UsePAM no`: sshd checks
//! `/etc/shadow`), so `TestSshd::password_user` creates the local user `skippytest` with a fresh
//! random password, which only works as root; otherwise it returns None.

use std::collections::HashMap;
use std::fs;
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use skippy_core::hosts::{ExecPolicy, HostAuth, HostConfig, HostKeyPolicy};

/// Where the tests expect OpenSSH's server.
pub const SSHD: &str = "/usr/sbin/sshd";
/// The account created for password tests.
pub const PASSWORD_USER: &str = "skippytest";
/// When the tests run as root, key logins use this alias of root (uid 0, home /root) whose shell is
/// `/bin/sh`: root's own shell is bash, which sources `~/.bashrc` for commands run over SSH, and
/// start-up files on a developer machine (pyenv, conda, ...) make logins slow or flaky.
pub const ROOT_ALIAS: &str = "skippyroot";

/// A running sshd.
pub struct TestSshd {
    dir: tempfile::TempDir,
    port: u16,
    child: Option<Child>,
    user: String,
    user_key: PathBuf,
    known_hosts: PathBuf,
    host_key_line: String,
}

impl TestSshd {
    /// Start sshd, or return None (with a note on stderr) when it is not installed and `CI` is not
    /// `true`.
    pub fn start() -> Option<TestSshd> {
        Self::start_with(true)
    }

    /// [`TestSshd::start`] for a server without the `sftp` subsystem.
    pub fn start_without_sftp() -> Option<TestSshd> {
        Self::start_with(false)
    }

    fn start_with(sftp: bool) -> Option<TestSshd> {
        if !Path::new(SSHD).exists() {
            if std::env::var("CI").is_ok_and(|v| v == "true") {
                panic!(
                    "CI=true but {SSHD} is missing: install openssh-server (apt-get install openssh-server)"
                );
            }
            eprintln!("SKIPPED: {SSHD} not found; install openssh-server to run the SSH tests");
            return None;
        }
        let dir = tempfile::tempdir().expect("temporary directory");
        let host_key = dir.path().join("ssh_host_ed25519_key");
        let user_key = dir.path().join("id_ed25519");
        keygen(&host_key);
        keygen(&user_key);
        fs::copy(
            user_key.with_extension("pub"),
            dir.path().join("authorized_keys"),
        )
        .expect("authorized_keys");
        let port = free_port();
        let public = fs::read_to_string(host_key.with_extension("pub")).expect("host key");
        let mut fields = public.split_whitespace();
        let host_key_line = format!(
            "[127.0.0.1]:{port} {} {}",
            fields.next().expect("key type"),
            fields.next().expect("key data")
        );
        let known_hosts = dir.path().join("known_hosts");
        fs::write(&known_hosts, format!("{host_key_line}\n")).expect("known_hosts");
        let config = format!(
            "Port {port}\nListenAddress 127.0.0.1\nHostKey {}\nPidFile none\nAuthorizedKeysFile {}\n\
             StrictModes no\nUsePAM no\nPasswordAuthentication yes\nKbdInteractiveAuthentication no\n\
             PubkeyAuthentication yes\nPermitRootLogin yes\n{}MaxSessions 20\n\
             LogLevel VERBOSE\n",
            host_key.display(),
            dir.path().join("authorized_keys").display(),
            if sftp {
                "Subsystem sftp internal-sftp\n"
            } else {
                ""
            }
        );
        fs::write(dir.path().join("sshd_config"), config).expect("sshd_config");
        if is_root() {
            // sshd insists on its privilege separation directory when it runs as root.
            let _ = fs::create_dir_all("/run/sshd");
        }
        let user = if is_root() {
            root_alias()
        } else {
            current_user()
        };
        let mut sshd = TestSshd {
            dir,
            port,
            child: None,
            user,
            user_key,
            known_hosts,
            host_key_line,
        };
        sshd.spawn();
        Some(sshd)
    }

    fn spawn(&mut self) {
        let log = fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.log_path())
            .expect("sshd log");
        let child = Command::new(SSHD)
            .arg("-D")
            .arg("-e")
            .arg("-f")
            .arg(self.dir.path().join("sshd_config"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("start sshd");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            if TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
                return;
            }
            if let Some(child) = self.child.as_mut()
                && let Ok(Some(status)) = child.try_wait()
            {
                panic!(
                    "sshd exited ({status}) before listening:\n{}",
                    fs::read_to_string(self.log_path()).unwrap_or_default()
                );
            }
            assert!(
                Instant::now() < deadline,
                "sshd did not listen on port {} within 15 s:\n{}",
                self.port,
                fs::read_to_string(self.log_path()).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Kill sshd and every process it started (connection handlers and the commands they run), so
    /// that established connections drop as if the host rebooted.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            kill_tree(child.id());
            let _ = child.wait();
        }
    }

    /// Stop, then start again on the same port with the same host key.
    pub fn restart(&mut self) {
        self.stop();
        self.spawn();
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// The account the key authenticates (the user running the tests).
    pub fn user(&self) -> &str {
        &self.user
    }

    pub fn user_key(&self) -> &Path {
        &self.user_key
    }

    /// A known_hosts file that holds this server's key.
    pub fn known_hosts(&self) -> &Path {
        &self.known_hosts
    }

    /// `[127.0.0.1]:<port> ssh-ed25519 <base64>`.
    pub fn host_key_line(&self) -> &str {
        &self.host_key_line
    }

    pub fn log_path(&self) -> PathBuf {
        self.dir.path().join("sshd.log")
    }

    /// sshd's log so far, for assertion messages.
    pub fn log(&self) -> String {
        fs::read_to_string(self.log_path()).unwrap_or_default()
    }

    /// A host `name` for this server: key authentication, strict host keys with the server's key
    /// known, unrestricted exec, Skippy's own known-hosts file in the temporary directory.
    pub fn host_config(&self, name: &str) -> HostConfig {
        HostConfig {
            name: name.to_string(),
            address: "127.0.0.1".into(),
            port: self.port,
            user: self.user.clone(),
            auth: vec![HostAuth::Key {
                path: self.user_key.clone(),
                passphrase: None,
            }],
            known_hosts: self.known_hosts.clone(),
            skippy_known_hosts: self.dir.path().join("state/known_hosts"),
            host_key_policy: HostKeyPolicy::Strict,
            connect_timeout: Duration::from_secs(10),
            keepalive: Some(Duration::from_secs(30)),
            max_sessions: 8,
            idle_close: Duration::from_secs(300),
            exec_policy: ExecPolicy::Unrestricted,
            allowed_programs: None,
            remote_roots: Vec::new(),
            log_paths: vec!["/var/log".into()],
        }
    }

    /// Create (or reset) the local account [`PASSWORD_USER`] with a fresh random password and return
    /// `(user, password)`. None when not running as root (accounts cannot be created), after a note
    /// on stderr.
    pub fn password_user(&self) -> Option<(String, String)> {
        if !is_root() {
            eprintln!(
                "SKIPPED: password authentication needs a local account with a password; run the tests as root to create `{PASSWORD_USER}`"
            );
            return None;
        }
        ensure_user(PASSWORD_USER, &["-m", "-s", "/bin/sh"]);
        let mut bytes = [0u8; 12];
        getrandom::fill(&mut bytes).expect("random password");
        let password = format!("Sk-{}", hex::encode(bytes));
        let mut chpasswd = Command::new("chpasswd")
            .stdin(Stdio::piped())
            .spawn()
            .expect("run chpasswd");
        {
            use std::io::Write;
            let mut stdin = chpasswd.stdin.take().expect("chpasswd stdin");
            writeln!(stdin, "{PASSWORD_USER}:{password}").expect("write chpasswd");
        }
        assert!(
            chpasswd.wait().expect("chpasswd").success(),
            "chpasswd failed"
        );
        Some((PASSWORD_USER.to_string(), password))
    }
}

impl Drop for TestSshd {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The uid-0 alias [`ROOT_ALIAS`], created on first use.
fn root_alias() -> String {
    // `-p *`: no password, but not "locked" (`!`), which sshd without PAM refuses even for keys.
    ensure_user(
        ROOT_ALIAS,
        &[
            "-o", "-u", "0", "-g", "0", "-M", "-d", "/root", "-s", "/bin/sh", "-p", "*",
        ],
    );
    // An alias left locked by an older harness: unlock it the same way.
    let _ = Command::new("usermod")
        .args(["-p", "*", ROOT_ALIAS])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
    ROOT_ALIAS.to_string()
}

fn user_exists(name: &str) -> bool {
    Command::new("id")
        .arg("-u")
        .arg(name)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Create a local account unless it exists. Tests run in parallel (and test binaries may too), so
/// creation is serialized in-process and retried while another process holds the passwd lock.
fn ensure_user(name: &str, useradd_args: &[&str]) {
    static LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _guard = LOCK.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    for _ in 0..50 {
        if user_exists(name) {
            return;
        }
        let _ = Command::new("useradd")
            .args(useradd_args)
            .arg(name)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        if user_exists(name) {
            return;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("could not create the local account `{name}` with useradd");
}

fn keygen(path: &Path) {
    let status = Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-f"])
        .arg(path)
        .stdout(Stdio::null())
        .status()
        .expect("run ssh-keygen (install openssh-client)");
    assert!(status.success(), "ssh-keygen failed for {}", path.display());
}

fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a free port");
    listener.local_addr().expect("local address").port()
}

fn is_root() -> bool {
    nix::unistd::geteuid().is_root()
}

fn current_user() -> String {
    nix::unistd::User::from_uid(nix::unistd::geteuid())
        .ok()
        .flatten()
        .map(|user| user.name)
        .or_else(|| std::env::var("USER").ok())
        .expect("the name of the current user")
}

/// SIGKILL `root` and all its descendants, found through /proc parent links before any is killed
/// (sshd's connection handlers run in sessions of their own, so a process-group kill would miss
/// them).
fn kill_tree(root: u32) {
    let mut parents: HashMap<u32, Vec<u32>> = HashMap::new();
    if let Ok(entries) = fs::read_dir("/proc") {
        for entry in entries.flatten() {
            let Some(pid) = entry
                .file_name()
                .to_str()
                .and_then(|n| n.parse::<u32>().ok())
            else {
                continue;
            };
            let Ok(stat) = fs::read_to_string(format!("/proc/{pid}/stat")) else {
                continue;
            };
            // The command name may contain spaces: the fields after the last ')' are fixed.
            let Some(rest) = stat.rsplit_once(')').map(|(_, rest)| rest) else {
                continue;
            };
            if let Some(ppid) = rest
                .split_whitespace()
                .nth(1)
                .and_then(|p| p.parse::<u32>().ok())
            {
                parents.entry(ppid).or_default().push(pid);
            }
        }
    }
    let mut victims = vec![root];
    let mut index = 0;
    while index < victims.len() {
        if let Some(children) = parents.get(&victims[index]) {
            victims.extend(children.iter().copied());
        }
        index += 1;
    }
    for pid in victims {
        if let Ok(pid) = i32::try_from(pid) {
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(pid),
                nix::sys::signal::Signal::SIGKILL,
            );
        }
    }
}
