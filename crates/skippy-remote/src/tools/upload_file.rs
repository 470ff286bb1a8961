//! `upload_file`: copy a local file (under the read roots) to a remote host over SFTP.
//!
//! The remote path must lie under the host's `remote_roots`, checked after resolving `..` and
//! symbolic links (see [`crate::sftp`]); a host without configured `remote_roots` refuses every
//! transfer. Whatever the roots, the target may not be a file the host executes or that configures
//! authentication or SSH (`~/.ssh/*`, shell start-up files, autostart entries, user units, cron,
//! `/etc`, ...: [`skippy_core::sensitive`]), nor an existing executable file. The file is written to a
//! temporary name next to the target, its SHA-256 is checked on the host, and it is renamed into
//! place, so the target is never half-written. An existing target is replaced only with
//! `overwrite: true`; the remote directory must exist. Files above 1 GiB are refused (a fixed
//! limit until the configuration has one). `dry_run` runs every check and transfers nothing.
//! `host: "local"` is refused: the local file tools cover this machine.
//!
//! Side effects: creates or replaces one remote file.

use std::sync::Arc;
use std::time::{Duration, Instant};

use schemars::JsonSchema;
use serde::Deserialize;
use skippy_core::{
    Access, Annotations, Plan, Tool, ToolCtx, ToolError, ToolResult, Toolset, safe_fs,
};

use crate::Hosts;
use crate::sftp::{inspect_remote_path, require_remote_roots, upload};
use crate::tools::common::{
    MAX_TRANSFER_BYTES, TransferOutput, check_transfer_size, check_upload_target, host_name,
    transfer_host,
};

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Params {
    /// Not local; default: the default host
    #[serde(default)]
    pub host: Option<String>,
    /// Under the read roots
    pub local_path: String,
    /// Relative to first remote root
    pub remote_path: String,
    /// Replace an existing file
    #[serde(default)]
    pub overwrite: bool,
    /// Transfer nothing
    #[serde(default)]
    pub dry_run: bool,
}

pub type Output = TransferOutput;

pub struct UploadFile {
    pub hosts: Arc<Hosts>,
}

impl Tool for UploadFile {
    type Params = Params;
    type Output = Output;
    const NAME: &'static str = "upload_file";
    const TITLE: &'static str = "Upload file to host";
    const DESCRIPTION: &'static str =
        "Copy a local file to a host (SFTP, atomic, SHA-256 verified, max 1 GiB).";
    const TOOLSET: Toolset = Toolset::Remote;
    const ANNOTATIONS: Annotations = Annotations {
        read_only: false,
        destructive: true,
        idempotent: true,
        open_world: true,
    };
    /// Up to 1 GiB over a slow link.
    const TIMEOUT: Option<Duration> = Some(Duration::from_secs(600));

    async fn run(&self, ctx: ToolCtx, params: Params) -> ToolResult<Output> {
        let started = Instant::now();
        let name = host_name(&ctx, params.host.as_deref());
        let host = transfer_host(&self.hosts, name)?;
        require_remote_roots(host.config())?;
        let local = ctx.read_path(&params.local_path)?;
        // Looked at through a verified O_PATH descriptor (no link followed, a FIFO never opened),
        // so a dry run cannot report the size of a file outside the roots swapped in meanwhile.
        let (_, metadata) =
            safe_fs::open_metadata(&ctx.config.files, local.as_path(), Access::Read)?;
        if !metadata.is_file() {
            return Err(ToolError::invalid(format!(
                "`{}` is not a regular file; only files can be uploaded",
                local.as_path().display()
            )));
        }
        check_transfer_size(metadata.len(), &format!("`{}`", local.as_path().display()))?;
        let remote = inspect_remote_path(&host, &params.remote_path, Access::Write).await?;
        let replaced = check_upload_target(&remote, host.name(), params.overwrite)?;
        if params.dry_run {
            return Ok(TransferOutput::planned(
                host.name(),
                metadata.len(),
                &remote,
                local.as_path(),
                replaced,
                started,
            ));
        }
        let transfer = upload(
            &host,
            &local,
            &remote.path,
            params.overwrite,
            MAX_TRANSFER_BYTES,
            &ctx.cancel,
        )
        .await?;
        Ok(TransferOutput::done(host.name(), transfer))
    }

    /// The file, its size and its destination, from the same checks run as a dry run.
    async fn plan(&self, ctx: &ToolCtx, params: &Params) -> ToolResult<Plan> {
        if params.dry_run {
            return Ok(Plan::NoChange);
        }
        let dry = Params {
            dry_run: true,
            ..params.clone()
        };
        let outcome = self.run(ctx.clone(), dry).await?;
        Ok(Plan::Text(format!(
            "Upload {} ({} bytes) to host {}: {}{}",
            outcome.local_path,
            outcome.bytes,
            outcome.host,
            outcome.remote_path,
            if outcome.replaced {
                ", replacing the existing file"
            } else {
                " (a new file)"
            }
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use skippy_core::Config;

    fn params(host: Option<&str>, local: &str) -> Params {
        Params {
            host: host.map(str::to_string),
            local_path: local.into(),
            remote_path: "x".into(),
            overwrite: false,
            dry_run: true,
        }
    }

    #[tokio::test]
    async fn local_host_and_paths_outside_the_roots_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("a"), "x").unwrap();
        let ctx = ToolCtx::for_tests(Config::defaults_for(dir.path()).unwrap());
        let tool = UploadFile {
            hosts: Arc::new(Hosts::default()),
        };
        let error = tool.run(ctx.clone(), params(None, "a")).await.unwrap_err();
        assert_eq!(error.code(), "invalid_argument");
        assert!(
            error.to_string().contains("read_file/write_file"),
            "{error}"
        );
        let error = tool.run(ctx, params(Some("nope"), "a")).await.unwrap_err();
        assert_eq!(error.code(), "invalid_argument");
        assert!(error.to_string().contains("unknown host"), "{error}");
        // A local path outside the roots is refused before connecting (TEST-NET-1 never answers).
        let sshd_less = skippy_core::hosts::HostConfig {
            name: "web".into(),
            address: "192.0.2.1".into(),
            port: 22,
            user: "deploy".into(),
            auth: Vec::new(),
            known_hosts: "/nonexistent".into(),
            skippy_known_hosts: "/nonexistent".into(),
            host_key_policy: skippy_core::hosts::HostKeyPolicy::Strict,
            connect_timeout: Duration::from_secs(60),
            keepalive: None,
            max_sessions: 1,
            idle_close: Duration::from_secs(1),
            exec_policy: skippy_core::hosts::ExecPolicy::Disabled,
            allowed_programs: None,
            remote_roots: vec!["/srv/drop".into()],
            log_paths: Vec::new(),
        };
        let mut rootless = sshd_less.clone();
        rootless.name = "bare".into();
        rootless.remote_roots = Vec::new();
        let tool = UploadFile {
            hosts: Arc::new(Hosts::from_host_configs([sshd_less, rootless])),
        };
        let ctx = ToolCtx::for_tests(Config::defaults_for(dir.path()).unwrap());
        let error = tool
            .run(ctx.clone(), params(Some("web"), "/etc/passwd"))
            .await
            .unwrap_err();
        assert_eq!(error.code(), "policy_denied");
        let error = tool
            .run(ctx.clone(), params(Some("web"), "missing"))
            .await
            .unwrap_err();
        assert_eq!(error.code(), "not_found");
        // No remote_roots: refused before connecting, naming the key to set.
        let error = tool.run(ctx, params(Some("bare"), "a")).await.unwrap_err();
        assert_eq!(error.code(), "policy_denied");
        assert!(
            error.to_string().contains("hosts.bare.remote_roots"),
            "{error}"
        );
    }
}
