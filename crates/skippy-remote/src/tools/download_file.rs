//! `download_file`: copy a file from a remote host over SFTP to a local path under the write roots.
//!
//! The remote path must lie under the host's `remote_roots`, checked after resolving `..` and
//! symbolic links (see [`crate::sftp`]); a host without configured `remote_roots` refuses every
//! transfer. The local target may not be a protected file ([`skippy_core::sensitive`]) nor an
//! existing executable, and the copy gets no execute bits. The file is received
//! into a temporary file next to the local target, its SHA-256 is compared with one computed on the
//! host, and it is renamed into place. An existing local file is replaced only with
//! `overwrite: true`; the local directory must exist. Files above 1 GiB are refused (a fixed limit
//! until the configuration has one). Refused in read-only mode. `dry_run` runs every check and
//! transfers nothing. `host: "local"` is refused: the local file tools cover this machine.
//!
//! Side effects: creates or replaces one local file.

use std::sync::Arc;
use std::time::{Duration, Instant};

use schemars::JsonSchema;
use serde::Deserialize;
use skippy_core::{Access, Annotations, Plan, Tool, ToolCtx, ToolResult, Toolset};

use crate::Hosts;
use crate::sftp::{download, inspect_remote_path, require_remote_roots};
use crate::tools::common::{
    MAX_TRANSFER_BYTES, TransferOutput, check_download_source, check_download_target, host_name,
    transfer_host,
};

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Params {
    /// Not local; default: the default host
    #[serde(default)]
    pub host: Option<String>,
    /// Relative to first remote root
    pub remote_path: String,
    /// Under the write roots
    pub local_path: String,
    /// Replace an existing file
    #[serde(default)]
    pub overwrite: bool,
    /// Transfer nothing
    #[serde(default)]
    pub dry_run: bool,
}

pub type Output = TransferOutput;

pub struct DownloadFile {
    pub hosts: Arc<Hosts>,
}

impl Tool for DownloadFile {
    type Params = Params;
    type Output = Output;
    const NAME: &'static str = "download_file";
    const TITLE: &'static str = "Download file from host";
    const DESCRIPTION: &'static str =
        "Copy a file from a host to a local path (SFTP, atomic, SHA-256 verified, max 1 GiB).";
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
        let local = ctx.write_path(&params.local_path)?;
        let host = transfer_host(&self.hosts, name)?;
        require_remote_roots(host.config())?;
        let replaced = check_download_target(local.as_path(), params.overwrite)?;
        let remote = inspect_remote_path(&host, &params.remote_path, Access::Read).await?;
        check_download_source(&remote, host.name())?;
        if params.dry_run {
            return Ok(TransferOutput::planned(
                host.name(),
                remote.size,
                &remote,
                local.as_path(),
                replaced,
                started,
            ));
        }
        let transfer = download(
            &host,
            &remote.path,
            &local,
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
            "Download {} ({} bytes) from host {} to {}{}",
            outcome.remote_path,
            outcome.bytes,
            outcome.host,
            outcome.local_path,
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

    fn params(host: Option<&str>) -> Params {
        Params {
            host: host.map(str::to_string),
            remote_path: "x".into(),
            local_path: "out".into(),
            overwrite: false,
            dry_run: true,
        }
    }

    #[tokio::test]
    async fn read_only_mode_local_host_and_unknown_hosts_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let mut config = Config::defaults_for(dir.path()).unwrap();
        let tool = DownloadFile {
            hosts: Arc::new(Hosts::default()),
        };
        let ctx = ToolCtx::for_tests(config.clone());
        let error = tool.run(ctx.clone(), params(None)).await.unwrap_err();
        assert_eq!(error.code(), "invalid_argument");
        assert!(
            error.to_string().contains("read_file/write_file"),
            "{error}"
        );
        let error = tool.run(ctx, params(Some("nope"))).await.unwrap_err();
        assert!(error.to_string().contains("unknown host"), "{error}");
        config.server.read_only = true;
        config.server.default_host = "nope".into();
        let error = tool
            .run(ToolCtx::for_tests(config), params(None))
            .await
            .unwrap_err();
        assert_eq!(error.code(), "policy_denied");
        assert!(error.to_string().contains("read-only"), "{error}");
    }

    fn unreachable_host(remote_roots: &[&str]) -> skippy_core::hosts::HostConfig {
        // 192.0.2.1 (TEST-NET-1) never answers: a refusal here happened before connecting.
        skippy_core::hosts::HostConfig {
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
            remote_roots: remote_roots.iter().map(|r| r.to_string()).collect(),
            log_paths: Vec::new(),
        }
    }

    #[tokio::test]
    async fn finding_01_download_needs_remote_roots_and_a_harmless_local_target() {
        let dir = tempfile::tempdir().unwrap();
        let ctx = ToolCtx::for_tests(Config::defaults_for(dir.path()).unwrap());
        let tool = DownloadFile {
            hosts: Arc::new(Hosts::from_host_configs([unreachable_host(&[])])),
        };
        let error = tool
            .run(ctx.clone(), params(Some("web")))
            .await
            .unwrap_err();
        assert_eq!(error.code(), "policy_denied");
        assert!(
            error.to_string().contains("hosts.web.remote_roots"),
            "{error}"
        );
        let tool = DownloadFile {
            hosts: Arc::new(Hosts::from_host_configs([unreachable_host(&["/srv"])])),
        };
        std::fs::create_dir(dir.path().join(".ssh")).unwrap();
        for target in [".bashrc", ".ssh/config", ".ssh/authorized_keys"] {
            let mut call = params(Some("web"));
            call.local_path = target.into();
            let error = tool.run(ctx.clone(), call).await.unwrap_err();
            assert_eq!(error.code(), "policy_denied", "{target}: {error}");
            assert!(error.to_string().contains("matched"), "{error}");
        }
    }
}
