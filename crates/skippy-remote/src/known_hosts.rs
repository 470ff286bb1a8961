//! Host key verification against OpenSSH `known_hosts` files, done in the SSH client's
//! `check_server_key` callback, before authentication and before any command can run.
//!
//! Two files are consulted: the host's `known_hosts` (default `~/.ssh/known_hosts`) and Skippy's own
//! file (`skippy_known_hosts`), where the `accept-new` policy records keys it has learned. A host is
//! looked up as `[address]:port`, or as plain `address` when the port is 22, exactly like OpenSSH.
//!
//! The parser is our own rather than russh's helper, because that helper gives up on the whole file
//! when one line holds a key it cannot parse and does not know OpenSSH's wildcard (`*`, `?`) and
//! negated (`!`) patterns or the `@revoked` marker. Hashed entries (`|1|salt|hmac`) are supported
//! (HMAC-SHA1 of the host name, as `ssh-keygen -H` writes them). `@cert-authority` lines are
//! skipped: Skippy does not ask servers for host certificates.
//!
//! Outcomes:
//! - the offered key is recorded for the host: accepted;
//! - the host is recorded with other keys only: refused loudly as a CHANGED key, whatever the policy;
//! - the key is marked `@revoked`: refused;
//! - the host is not recorded at all: `strict` refuses with the fingerprint and how to add it,
//!   `accept-new` appends it to Skippy's file (directories created, file mode 0600) and accepts.

use std::fs;
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use hmac::{Hmac, KeyInit, Mac};
use russh::keys::ssh_key::{self, Algorithm, HashAlg, PublicKey};
use sha1::Sha1;
use skippy_core::ToolError;
use skippy_core::hosts::{HostConfig, HostKeyPolicy};

/// One key recorded for the host.
#[derive(Debug, Clone)]
struct Recorded {
    key: PublicKey,
    file: PathBuf,
    line: usize,
    revoked: bool,
}

/// The name a host is recorded under: `[address]:port`, or `address` on port 22.
pub fn host_entry_name(address: &str, port: u16) -> String {
    if port == 22 {
        address.to_string()
    } else {
        format!("[{address}]:{port}")
    }
}

/// What verification decided.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// The key is recorded for this host.
    Known,
    /// The host was unknown and the key has just been recorded in Skippy's file.
    Learned(PathBuf),
}

/// Verify `key` for `host` under its policy. Blocking (reads, maybe appends, small files).
pub fn verify(host: &HostConfig, key: &PublicKey) -> Result<Verdict, ToolError> {
    let name = host_entry_name(&host.address, host.port);
    let files = [&host.known_hosts, &host.skippy_known_hosts];
    let mut recorded = Vec::new();
    for file in files {
        recorded.extend(read_entries(file, &name)?);
    }
    let fingerprint = key.fingerprint(HashAlg::Sha256);
    let algorithm = key.algorithm();
    if let Some(entry) = recorded
        .iter()
        .find(|entry| entry.revoked && entry.key.key_data() == key.key_data())
    {
        return Err(ToolError::PermissionDenied(format!(
            "the host key of host {} ({name}) is marked @revoked in {}:{} ({algorithm} {fingerprint}); refusing to connect",
            host.name,
            entry.file.display(),
            entry.line
        )));
    }
    if recorded
        .iter()
        .any(|entry| !entry.revoked && entry.key.key_data() == key.key_data())
    {
        return Ok(Verdict::Known);
    }
    if let Some(entry) = recorded.iter().find(|entry| !entry.revoked) {
        return Err(changed_key_error(host, &name, key, entry));
    }
    match host.host_key_policy {
        HostKeyPolicy::Strict => Err(unknown_key_error(host, &name, key)),
        HostKeyPolicy::AcceptNew => {
            append_entry(&host.skippy_known_hosts, &name, key)?;
            tracing::warn!(
                host = %host.name,
                entry = %name,
                key = %format!("{algorithm} {fingerprint}"),
                file = %host.skippy_known_hosts.display(),
                "accept-new: recorded the host key of a host seen for the first time"
            );
            Ok(Verdict::Learned(host.skippy_known_hosts.clone()))
        }
    }
}

/// Host key algorithms already recorded for `host`, so that the client can ask the server for a key
/// it can verify (as OpenSSH orders `HostKeyAlgorithms` by what `known_hosts` holds). Errors are
/// ignored here: `verify` reports them.
pub fn recorded_algorithms(host: &HostConfig) -> Vec<Algorithm> {
    let name = host_entry_name(&host.address, host.port);
    let mut algorithms: Vec<Algorithm> = Vec::new();
    for file in [&host.known_hosts, &host.skippy_known_hosts] {
        for entry in read_entries(file, &name).unwrap_or_default() {
            let algorithm = entry.key.algorithm();
            if !entry.revoked && !algorithms.contains(&algorithm) {
                algorithms.push(algorithm);
            }
        }
    }
    algorithms
}

fn changed_key_error(host: &HostConfig, name: &str, key: &PublicKey, old: &Recorded) -> ToolError {
    let file = old.file.display();
    ToolError::PermissionDenied(format!(
        "HOST KEY CHANGED for host {} ({name}): the server offered {} {}, but {file}:{} records a different key ({} {}). \
         This can be a man-in-the-middle attack, or the host was reinstalled. Skippy refuses to connect. \
         If the change is expected, remove the old entry with `ssh-keygen -R '{name}' -f {file}` and connect again",
        host.name,
        key.algorithm(),
        key.fingerprint(HashAlg::Sha256),
        old.line,
        old.key.algorithm(),
        old.key.fingerprint(HashAlg::Sha256),
    ))
}

fn unknown_key_error(host: &HostConfig, name: &str, key: &PublicKey) -> ToolError {
    let port = if host.port == 22 {
        String::new()
    } else {
        format!("-p {} ", host.port)
    };
    let key_type = match key.algorithm() {
        Algorithm::Ed25519 => "ed25519",
        Algorithm::Rsa { .. } => "rsa",
        Algorithm::Ecdsa { .. } => "ecdsa",
        _ => "ed25519,ecdsa,rsa",
    };
    ToolError::PermissionDenied(format!(
        "the host key of host {} ({name}) is not known: {} {}. Check this fingerprint with the host's administrator, then add it: \
         `ssh-keyscan {port}-t {key_type} {} >> {}`; or set host_key_policy = \"accept-new\" in [hosts.{}] to record it on first use",
        host.name,
        key.algorithm(),
        key.fingerprint(HashAlg::Sha256),
        host.address,
        host.known_hosts.display(),
        host.name,
    ))
}

/// Entries of `file` that match host `name`. A missing file has no entries.
fn read_entries(file: &Path, name: &str) -> Result<Vec<Recorded>, ToolError> {
    let text = match fs::read_to_string(file) {
        Ok(text) => text,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(error) => {
            return Err(ToolError::Io(format!(
                "cannot read known-hosts file {}: {error}",
                file.display()
            )));
        }
    };
    let mut entries = Vec::new();
    for (index, line) in text.lines().enumerate() {
        let Some(parsed) = parse_line(line) else {
            continue;
        };
        if !patterns_match(parsed.patterns, name) {
            continue;
        }
        match PublicKey::from_openssh(&format!("{} {}", parsed.key_type, parsed.key_base64)) {
            Ok(key) => entries.push(Recorded {
                key,
                file: file.to_path_buf(),
                line: index + 1,
                revoked: parsed.revoked,
            }),
            Err(error) => tracing::debug!(
                file = %file.display(),
                line = index + 1,
                %error,
                "skipping a known_hosts line whose key cannot be parsed"
            ),
        }
    }
    Ok(entries)
}

/// The fields of one known_hosts line.
#[derive(Debug, PartialEq, Eq)]
struct Line<'a> {
    revoked: bool,
    patterns: &'a str,
    key_type: &'a str,
    key_base64: &'a str,
}

/// Split a known_hosts line; None for blank lines, comments, `@cert-authority` and malformed lines.
fn parse_line(line: &str) -> Option<Line<'_>> {
    let line = line.trim();
    if line.is_empty() || line.starts_with('#') {
        return None;
    }
    let mut fields = line.split_ascii_whitespace();
    let mut first = fields.next()?;
    let mut revoked = false;
    if first.starts_with('@') {
        if first != "@revoked" {
            return None;
        }
        revoked = true;
        first = fields.next()?;
    }
    Some(Line {
        revoked,
        patterns: first,
        key_type: fields.next()?,
        key_base64: fields.next()?,
    })
}

/// OpenSSH semantics: a comma-separated list matches when some pattern matches and no negated
/// (`!`) pattern does. Host names compare case-insensitively.
fn patterns_match(patterns: &str, name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    let mut matched = false;
    for pattern in patterns.split(',') {
        if let Some(negated) = pattern.strip_prefix('!') {
            if wildcard_match(&negated.to_ascii_lowercase(), &name) {
                return false;
            }
        } else if pattern.starts_with("|1|") {
            matched |= hashed_match(pattern, &name);
        } else if wildcard_match(&pattern.to_ascii_lowercase(), &name) {
            matched = true;
        }
    }
    matched
}

/// `|1|base64(salt)|base64(hmac_sha1(salt, name))`.
fn hashed_match(pattern: &str, name: &str) -> bool {
    use base64::Engine;
    let mut parts = pattern.split('|').skip(2);
    let (Some(salt), Some(hash)) = (parts.next(), parts.next()) else {
        return false;
    };
    let engine = base64::engine::general_purpose::STANDARD;
    let (Ok(salt), Ok(hash)) = (engine.decode(salt), engine.decode(hash)) else {
        return false;
    };
    let Ok(mut mac) = Hmac::<Sha1>::new_from_slice(&salt) else {
        return false;
    };
    mac.update(name.as_bytes());
    mac.verify_slice(&hash).is_ok()
}

/// `*` matches any run of characters, `?` one character.
fn wildcard_match(pattern: &str, text: &str) -> bool {
    let pattern: Vec<char> = pattern.chars().collect();
    let text: Vec<char> = text.chars().collect();
    let (mut p, mut t) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        match pattern.get(p) {
            Some('*') => {
                star = Some((p, t));
                p += 1;
            }
            Some(c) if *c == '?' || *c == text[t] => {
                p += 1;
                t += 1;
            }
            _ => match star {
                Some((star_p, star_t)) => {
                    p = star_p + 1;
                    t = star_t + 1;
                    star = Some((star_p, star_t + 1));
                }
                None => return false,
            },
        }
    }
    pattern[p..].iter().all(|c| *c == '*')
}

/// Append `name key` to Skippy's known-hosts file, creating its directory (0700) and the file (0600).
fn append_entry(file: &Path, name: &str, key: &PublicKey) -> Result<(), ToolError> {
    let shown = file.display();
    if let Some(parent) = file.parent()
        && !parent.as_os_str().is_empty()
    {
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(parent)
            .map_err(|error| {
                ToolError::Io(format!(
                    "cannot create the directory of Skippy's known-hosts file {shown}: {error}"
                ))
            })?;
    }
    // Without the comment: the line records the key, not where it came from.
    let bare = PublicKey::new(key.key_data().clone(), "");
    let encoded = bare
        .to_openssh()
        .map_err(|error: ssh_key::Error| ToolError::internal(error))?;
    let mut handle = fs::OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o600)
        .open(file)
        .map_err(|error| {
            ToolError::Io(format!(
                "cannot open Skippy's known-hosts file {shown} to record a host key: {error}"
            ))
        })?;
    // One write call with O_APPEND: concurrent writers cannot interleave inside the line.
    let line = format!("{name} {}\n", encoded.trim_end());
    handle.write_all(line.as_bytes()).map_err(|error| {
        ToolError::Io(format!(
            "cannot write Skippy's known-hosts file {shown}: {error}"
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    use skippy_core::config::FixedEnv;
    use skippy_core::hosts::{RawHost, validate_hosts};
    use skippy_core::redact::Secrets;

    const KEY_A: &str =
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJdD7y3aLq454yWBdwLWbieU1ebz9/cu7/QEXn9OIeZJ";
    const KEY_B: &str =
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAILIG2T/B0l0gaqj3puu510tu9N1OkQ4znY3LYuEm5zCF";

    fn host(dir: &Path, port: u16, policy: HostKeyPolicy) -> HostConfig {
        let mut raw = BTreeMap::new();
        raw.insert(
            "web".to_string(),
            RawHost {
                address: "web.example".into(),
                port: Some(port),
                known_hosts: Some(dir.join("known_hosts")),
                host_key_policy: Some(policy),
                ..RawHost::default()
            },
        );
        let env = FixedEnv::new(dir);
        let mut hosts =
            validate_hosts(&raw, &env, Some(&dir.join("state")), &mut Secrets::new()).unwrap();
        hosts.remove("web").unwrap()
    }

    fn key(text: &str) -> PublicKey {
        PublicKey::from_openssh(text).unwrap()
    }

    #[test]
    fn parses_lines_and_markers() {
        assert_eq!(parse_line("# comment"), None);
        assert_eq!(parse_line("   "), None);
        assert_eq!(
            parse_line("@cert-authority *.example ssh-ed25519 AAAA"),
            None
        );
        let line = parse_line("@revoked\thost,other  ssh-ed25519 AAAA comment here").unwrap();
        assert!(line.revoked);
        assert_eq!(
            (line.patterns, line.key_type, line.key_base64),
            ("host,other", "ssh-ed25519", "AAAA")
        );
    }

    #[test]
    fn patterns_follow_openssh() {
        assert!(patterns_match("web.example", "web.example"));
        assert!(patterns_match("WEB.example", "web.EXAMPLE"));
        assert!(patterns_match("a,[web.example]:2222", "[web.example]:2222"));
        assert!(!patterns_match("web.example", "[web.example]:2222"));
        assert!(patterns_match("*.example", "web.example"));
        assert!(patterns_match("w?b.example", "web.example"));
        assert!(!patterns_match("*.example,!web.example", "web.example"));
        assert!(!patterns_match("*.other", "web.example"));
        // Written by `ssh-keygen -H` for "example.com" (russh's test vector).
        let hashed = "|1|O33ESRMWPVkMYIwJ1Uw+n877jTo=|nuuC5vEqXlEZ/8BXQR7m619W6Ak=";
        assert!(patterns_match(hashed, "example.com"));
        assert!(!patterns_match(hashed, "example.org"));
    }

    #[test]
    fn known_changed_unknown_and_revoked() {
        let dir = tempfile::tempdir().unwrap();
        let config = host(dir.path(), 2222, HostKeyPolicy::Strict);
        fs::write(
            dir.path().join("known_hosts"),
            format!(
                "other {KEY_B}\n[web.example]:2222 garbage-type AAAA\n[web.example]:2222 {KEY_A}\n"
            ),
        )
        .unwrap();
        assert_eq!(verify(&config, &key(KEY_A)).unwrap(), Verdict::Known);
        let changed = verify(&config, &key(KEY_B)).unwrap_err();
        assert_eq!(changed.code(), "permission_denied");
        assert!(
            changed.to_string().contains("HOST KEY CHANGED"),
            "{changed}"
        );
        assert!(changed.to_string().contains("ssh-keygen -R"), "{changed}");

        fs::write(dir.path().join("known_hosts"), format!("other {KEY_A}\n")).unwrap();
        let unknown = verify(&config, &key(KEY_A)).unwrap_err();
        let message = unknown.to_string();
        assert!(message.contains("SHA256:"), "{message}");
        assert!(
            message.contains("ssh-keyscan -p 2222 -t ed25519 web.example"),
            "{message}"
        );
        assert!(message.contains("accept-new"), "{message}");

        fs::write(
            dir.path().join("known_hosts"),
            format!("@revoked * {KEY_A}\n[web.example]:2222 {KEY_A}\n"),
        )
        .unwrap();
        let revoked = verify(&config, &key(KEY_A)).unwrap_err();
        assert!(revoked.to_string().contains("@revoked"), "{revoked}");
    }

    #[test]
    fn accept_new_records_once_then_refuses_a_change() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let config = host(dir.path(), 22, HostKeyPolicy::AcceptNew);
        let learned = verify(&config, &key(KEY_A)).unwrap();
        assert_eq!(
            learned,
            Verdict::Learned(dir.path().join("state/known_hosts"))
        );
        let text = fs::read_to_string(dir.path().join("state/known_hosts")).unwrap();
        assert_eq!(text, format!("web.example {KEY_A}\n"));
        let mode = fs::metadata(dir.path().join("state/known_hosts"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        assert_eq!(verify(&config, &key(KEY_A)).unwrap(), Verdict::Known);
        assert_eq!(recorded_algorithms(&config), vec![Algorithm::Ed25519]);
        let changed = verify(&config, &key(KEY_B)).unwrap_err();
        assert!(changed.to_string().contains("HOST KEY CHANGED"));
    }
}
