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
        copy
    }
}

/// True when a field or argument name suggests its value is a secret.
pub fn is_secret_key(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    SECRET_KEY_WORDS.iter().any(|word| lower.contains(word))
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
