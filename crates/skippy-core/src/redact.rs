//! Secrets that Skippy holds, and masking them out of everything it emits.
//!
//! The set is built once from configuration and the environment. Every tool result and every audit
//! line passes through [`Secrets::mask`], so a secret that reaches output by any route (a file that
//! happens to contain it, a command line, an error message) is replaced by [`MASK`].

use std::borrow::Cow;

use serde_json::Value;

/// What a masked secret is replaced with.
pub const MASK: &str = "********";

/// Shortest value treated as a secret: masking shorter strings would garble ordinary output.
const MIN_SECRET_LEN: usize = 4;

/// Argument and field names whose values are always masked in audit lines.
const SECRET_KEY_WORDS: &[&str] = &[
    "password",
    "passwd",
    "passphrase",
    "secret",
    "token",
    "api_key",
    "apikey",
    "private_key",
    "credential",
];

/// The secret values known to this process.
#[derive(Debug, Clone, Default)]
pub struct Secrets {
    values: Vec<String>,
}

impl Secrets {
    pub fn new() -> Self {
        Self::default()
    }

    /// Add a secret value. Values shorter than 4 bytes are ignored: masking them would garble output.
    pub fn add(&mut self, value: impl Into<String>) {
        let value = value.into();
        if value.len() >= MIN_SECRET_LEN && !self.values.contains(&value) {
            self.values.push(value);
            // Longest first, so a secret that contains another is masked whole.
            self.values.sort_by_key(|v| std::cmp::Reverse(v.len()));
        }
    }

    pub fn len(&self) -> usize {
        self.values.len()
    }

    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// Replace every known secret value in `text` by [`MASK`].
    pub fn mask<'a>(&self, text: &'a str) -> Cow<'a, str> {
        let mut out = Cow::Borrowed(text);
        for secret in &self.values {
            if out.contains(secret.as_str()) {
                out = Cow::Owned(out.replace(secret.as_str(), MASK));
            }
        }
        out
    }

    /// Mask secrets in every string of a JSON value, in place.
    pub fn mask_json(&self, value: &mut Value) {
        if self.values.is_empty() {
            return;
        }
        match value {
            Value::String(text) => {
                if let Cow::Owned(masked) = self.mask(text) {
                    *text = masked;
                }
            }
            Value::Array(items) => items.iter_mut().for_each(|item| self.mask_json(item)),
            Value::Object(map) => map.values_mut().for_each(|item| self.mask_json(item)),
            _ => {}
        }
    }

    /// A copy of tool arguments fit for the audit log: values under secret-looking keys are
    /// replaced whole, and known secret values are masked wherever they appear.
    pub fn redact_arguments(&self, arguments: &Value) -> Value {
        let mut copy = arguments.clone();
        redact_secret_keys(&mut copy);
        self.mask_json(&mut copy);
        self.mask_keys(&mut copy);
        copy
    }

    /// Mask secrets in object keys too: a model can send a secret as an argument's name.
    fn mask_keys(&self, value: &mut Value) {
        match value {
            Value::Object(map) => {
                if !self.values.is_empty()
                    && map
                        .keys()
                        .any(|key| matches!(self.mask(key), Cow::Owned(_)))
                {
                    let entries = std::mem::take(map);
                    for (key, item) in entries {
                        map.insert(self.mask(&key).into_owned(), item);
                    }
                }
                map.values_mut().for_each(|item| self.mask_keys(item));
            }
            Value::Array(items) => items.iter_mut().for_each(|item| self.mask_keys(item)),
            _ => {}
        }
    }
}

/// True when a field or argument name suggests its value is a secret.
pub fn is_secret_key(name: &str) -> bool {
    // `--api-key`, `API_KEY` and `apiKey` are the same name.
    let lower = name.to_ascii_lowercase().replace('-', "_");
    SECRET_KEY_WORDS.iter().any(|word| lower.contains(word))
        || SECRET_KEY_EXACT.contains(&lower.as_str())
}

/// Names that are secrets only when they are the whole name (`--pass`, but not `--passive`).
const SECRET_KEY_EXACT: &[&str] = &[
    "pass",
    "pw",
    "pwd",
    "auth",
    "key",
    "access_key",
    "secret_key",
];

/// Programs that take their password glued to `-p` (`mysql -pSECRET`).
const GLUED_P_PASSWORD_PROGRAMS: &[&str] = &[
    "mysql",
    "mysqldump",
    "mysqladmin",
    "mysqlimport",
    "mysqlcheck",
    "mysqlshow",
    "mysqlpump",
    "mariadb",
    "mariadb-dump",
    "mariadb-admin",
    "mariadb-import",
    "mariadb-check",
    "mariadb-show",
];

/// Mask credentials embedded in one word: the password of a URL's user information
/// (`postgres://user:PASS@db`) and the credential after `Bearer ` / `Basic `.
pub fn mask_embedded_credentials(word: &str) -> Cow<'_, str> {
    let mut out = Cow::Borrowed(word);
    if let Some(masked) = mask_url_password(&out) {
        out = Cow::Owned(masked);
    }
    for scheme in ["Bearer ", "bearer ", "Basic ", "basic ", "Token ", "token "] {
        if let Some(start) = out.find(scheme) {
            let value_start = start + scheme.len();
            let value_end = out[value_start..]
                .find(|c: char| c.is_whitespace() || c == '"' || c == '\'')
                .map_or(out.len(), |end| value_start + end);
            if value_end > value_start && &out[value_start..value_end] != MASK {
                out = Cow::Owned(format!(
                    "{}{MASK}{}",
                    &out[..value_start],
                    &out[value_end..]
                ));
            }
        }
    }
    out
}

/// The password of the first `scheme://user:password@host` in `text`, if any.
pub fn url_password(text: &str) -> Option<String> {
    let authority = &text[text.find("://")? + 3..];
    let authority = &authority[..authority
        .find(['/', '?', '#', ' '])
        .unwrap_or(authority.len())];
    let (userinfo, _) = authority.rsplit_once('@')?;
    let (_, password) = userinfo.split_once(':')?;
    (!password.is_empty()).then(|| password.to_string())
}

/// `scheme://user:password@host` with the password masked; `None` when there is none.
fn mask_url_password(word: &str) -> Option<String> {
    let mut out = String::with_capacity(word.len());
    let mut rest = word;
    let mut changed = false;
    while let Some(scheme_end) = rest.find("://") {
        let authority_start = scheme_end + 3;
        out.push_str(&rest[..authority_start]);
        let after = &rest[authority_start..];
        let authority_end = after.find(['/', '?', '#', ' ']).unwrap_or(after.len());
        let authority = &after[..authority_end];
        match authority.rfind('@') {
            Some(at) => match authority[..at].split_once(':') {
                Some((user, password)) if !password.is_empty() && password != MASK => {
                    out.push_str(user);
                    out.push(':');
                    out.push_str(MASK);
                    out.push_str(&authority[at..]);
                    changed = true;
                }
                _ => out.push_str(authority),
            },
            None => out.push_str(authority),
        }
        rest = &after[authority_end..];
    }
    out.push_str(rest);
    changed.then_some(out)
}

fn redact_secret_keys(value: &mut Value) {
    match value {
        Value::Object(map) => {
            for (key, item) in map.iter_mut() {
                if is_secret_key(key) && !item.is_null() {
                    *item = Value::String(MASK.to_string());
                } else {
                    redact_secret_keys(item);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(redact_secret_keys),
        _ => {}
    }
}

/// Mask the values of secret-looking options in a process command line, such as
/// `--password=x`, `--token x`, `-p x` after `sshpass`, or `PGPASSWORD=x`.
pub fn mask_command_line(args: &[String]) -> Vec<String> {
    let mut out = Vec::with_capacity(args.len());
    let mut mask_next = false;
    let mut previous_program = "";
    let program = args
        .first()
        .map(|first| first.rsplit('/').next().unwrap_or(first))
        .unwrap_or("");
    let glued_p = GLUED_P_PASSWORD_PROGRAMS.contains(&program);
    for arg in args {
        if mask_next {
            out.push(MASK.to_string());
            mask_next = false;
            continue;
        }
        if let Some((key, _)) = arg.split_once('=')
            && is_secret_key(key.trim_start_matches('-'))
        {
            out.push(format!("{key}={MASK}"));
            continue;
        }
        // `mysql -pSECRET`: the password glued to `-p` (a bare `-p` prompts instead).
        if glued_p && arg.len() > 2 && arg.starts_with("-p") {
            out.push(format!("-p{MASK}"));
            continue;
        }
        if let Cow::Owned(masked) = mask_embedded_credentials(arg) {
            out.push(masked);
            continue;
        }
        let bare = arg.trim_start_matches('-');
        let secret_option = arg.starts_with('-') && is_secret_key(bare);
        let sshpass_password = arg == "-p" && previous_program.ends_with("sshpass");
        if secret_option || sshpass_password {
            mask_next = true;
        }
        if !arg.starts_with('-') {
            previous_program = arg.as_str();
        }
        out.push(arg.clone());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn masks_known_values_longest_first() {
        let mut secrets = Secrets::new();
        secrets.add("hunter2");
        secrets.add("hunter2hunter2");
        secrets.add("ab"); // too short to be masked
        assert_eq!(secrets.len(), 2);
        assert_eq!(
            secrets.mask("pw=hunter2hunter2 or hunter2, ab"),
            format!("pw={MASK} or {MASK}, ab")
        );
        assert!(matches!(secrets.mask("nothing here"), Cow::Borrowed(_)));
    }

    #[test]
    fn redacts_secret_keys_and_values_in_arguments() {
        let mut secrets = Secrets::new();
        secrets.add("s3cr3t-value");
        let args =
            json!({"path": "/a/s3cr3t-value", "db_password": "x", "nested": {"api_token": 5}});
        let redacted = secrets.redact_arguments(&args);
        assert_eq!(redacted["path"], json!(format!("/a/{MASK}")));
        assert_eq!(redacted["db_password"], json!(MASK));
        assert_eq!(redacted["nested"]["api_token"], json!(MASK));
    }

    #[test]
    fn finding_12_masks_api_key_glued_p_and_url_passwords() {
        let line = |words: &[&str]| -> Vec<String> {
            mask_command_line(&words.iter().map(|s| s.to_string()).collect::<Vec<_>>())
        };
        assert_eq!(
            line(&[
                "/usr/bin/app",
                "--api-key=K1",
                "--api-key",
                "K2",
                "--apiKey=K3"
            ]),
            vec![
                "/usr/bin/app",
                "--api-key=********",
                "--api-key",
                MASK,
                "--apiKey=********"
            ]
        );
        assert_eq!(
            line(&["/usr/bin/mysql", "-uroot", "-pS3cret", "db"]),
            vec!["/usr/bin/mysql", "-uroot", "-p********", "db"]
        );
        // Elsewhere `-p` is a port or a flag, not a password.
        assert_eq!(line(&["ssh", "-p2222", "h"]), vec!["ssh", "-p2222", "h"]);
        assert_eq!(
            line(&[
                "psql",
                "postgres://u:PASS@db:5432/x",
                "--dsn=mysql://a:b@h/"
            ]),
            vec![
                "psql",
                "postgres://u:********@db:5432/x",
                "--dsn=mysql://a:********@h/"
            ]
        );
        assert_eq!(
            line(&[
                "curl",
                "-H",
                "Authorization: Bearer abc.def",
                "https://user@h/"
            ]),
            vec![
                "curl",
                "-H",
                "Authorization: Bearer ********",
                "https://user@h/"
            ]
        );
        assert_eq!(
            line(&["x", "--pass", "p", "--passive"]),
            vec!["x", "--pass", MASK, "--passive"]
        );
    }

    #[test]
    fn finding_12_audit_masks_secrets_used_as_argument_names() {
        let mut secrets = Secrets::new();
        secrets.add("s3cr3t-value");
        let args = json!({"s3cr3t-value": 1, "nested": [{"x-s3cr3t-value": "y"}]});
        let redacted = secrets.redact_arguments(&args);
        let text = redacted.to_string();
        assert!(!text.contains("s3cr3t-value"), "{text}");
        assert_eq!(redacted[MASK], json!(1));
    }

    #[test]
    fn masks_command_line_options() {
        let args: Vec<String> = [
            "sshpass",
            "-p",
            "pw1",
            "ssh",
            "--password=pw2",
            "--token",
            "t",
            "ls",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        assert_eq!(
            mask_command_line(&args),
            vec![
                "sshpass",
                "-p",
                MASK,
                "ssh",
                "--password=********",
                "--token",
                MASK,
                "ls"
            ]
        );
    }
}
