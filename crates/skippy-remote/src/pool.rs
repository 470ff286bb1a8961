//! One authenticated SSH connection per host, shared by every call to that host.
//!
//! Opening an SSH connection costs several round trips and a key exchange; a channel on an open
//! connection costs one. So each [`HostHandle`] keeps at most one connection and hands out channels
//! on it, at most `max_sessions` at a time (a semaphore: OpenSSH refuses more than `MaxSessions`,
//! default 10, channels per connection). The connection is opened lazily with `connect_timeout`, kept
//! alive with keepalives, closed after `idle_close` without channels, and re-opened transparently
//! once when it turns out to have dropped (the server restarted, the network blinked): a dead
//! connection is detected when opening a channel on it fails, and that open is retried once on a
//! fresh connection. Nothing is retried after a command has been sent, so nothing runs twice.
//!
//! Authentication follows the order of `HostConfig.auth`: key file (with passphrase), password (also
//! offered through keyboard-interactive, which PAM servers often use instead), then the ssh-agent
//! at `$SSH_AUTH_SOCK`. Error messages name the methods tried, never a secret.

use std::borrow::Cow;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex as StdMutex, Weak};
use std::time::{Duration, Instant};

use russh::client::{self, AuthResult, KeyboardInteractiveAuthResponse, Msg};
use russh::keys::{Algorithm, HashAlg, PrivateKeyWithHashAlg, PublicKeyOrCertificate};
use russh::{Channel, ChannelOpenFailure, Disconnect, MethodKind, Preferred};
use skippy_core::hosts::{HostAuth, HostConfig};
use skippy_core::{ToolError, ToolResult};
use tokio::sync::{Mutex, OwnedSemaphorePermit, Semaphore, watch};
use tokio_util::sync::CancellationToken;

use crate::known_hosts;

/// Keepalives a server may leave unanswered before the connection counts as dead.
const KEEPALIVE_MAX: usize = 3;

/// A configured remote host: its settings and its (lazily opened) connection.
///
/// Cheap to clone: clones share the connection, the session limit and the counters.
#[derive(Clone)]
pub struct HostHandle {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for HostHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HostHandle")
            .field("name", &self.inner.config.name)
            .finish_non_exhaustive()
    }
}

struct Inner {
    config: HostConfig,
    /// The connection, if one is open. The lock also serializes connecting, so that concurrent first
    /// calls share one connection instead of racing to open several.
    slot: Arc<Mutex<Option<Arc<Connection>>>>,
    sessions: Arc<Semaphore>,
    connects: AtomicU64,
    /// The ssh-agent socket; None means `$SSH_AUTH_SOCK` at connection time.
    agent_socket: Option<PathBuf>,
    activity: Activity,
}

/// The commands running on a host and the tasks stopping them, so that shutdown can stop the
/// former and wait for the latter: a remote command is only stopped by a kill sent over the
/// connection, so closing the connection (or the runtime) first would leave it running.
struct Activity {
    /// Fired at shutdown: every running command stops as if cancelled.
    shutdown: CancellationToken,
    /// Commands started and not yet ended or stopped, counted by their [`ActivityTicket`]s.
    outstanding: watch::Sender<usize>,
}

/// Counts one remote command as outstanding until dropped (when it ended, or when the task that
/// stops it finished).
pub(crate) struct ActivityTicket {
    outstanding: watch::Sender<usize>,
}

impl Drop for ActivityTicket {
    fn drop(&mut self) {
        self.outstanding
            .send_modify(|count| *count = count.saturating_sub(1));
    }
}

/// An authenticated connection.
pub(crate) struct Connection {
    handle: client::Handle<Client>,
    /// Channels currently open on this connection (for the idle timer).
    active: AtomicUsize,
    last_used: StdMutex<Instant>,
    /// The remote user's home directory, asked for once per connection.
    pub(crate) home: tokio::sync::OnceCell<String>,
    /// What the server presented while this connection was opened.
    server: Arc<StdMutex<ServerInfo>>,
}

/// What a server presented when Skippy connected to it (for `list_hosts`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ServerInfo {
    /// The server's SSH identification string, e.g. `SSH-2.0-OpenSSH_9.6p1 Ubuntu-3ubuntu13`.
    pub banner: Option<String>,
    /// The verified host key's SHA-256 fingerprint, `SHA256:<base64>` as `ssh-keygen -l` prints it.
    pub host_key_fingerprint: Option<String>,
}

impl Connection {
    fn touch(&self) {
        if let Ok(mut last) = self.last_used.lock() {
            *last = Instant::now();
        }
    }

    fn idle_since(&self) -> Instant {
        self.last_used
            .lock()
            .map(|last| *last)
            .unwrap_or_else(|_| Instant::now())
    }
}

/// A session channel on a pooled connection. Holds one of the host's `max_sessions` permits (unless
/// opened for cleanup) and closes the channel when dropped.
pub(crate) struct PooledChannel {
    channel: Option<Channel<Msg>>,
    connection: Arc<Connection>,
    _permit: Option<OwnedSemaphorePermit>,
}

impl PooledChannel {
    pub(crate) fn channel(&mut self) -> ToolResult<&mut Channel<Msg>> {
        self.channel
            .as_mut()
            .ok_or_else(|| ToolError::internal("pooled channel used after it was taken"))
    }

    pub(crate) fn connection(&self) -> &Arc<Connection> {
        &self.connection
    }

    /// Give the channel away (to turn it into a stream); it is no longer closed by this guard.
    pub(crate) fn take_channel(&mut self) -> ToolResult<Channel<Msg>> {
        self.channel
            .take()
            .ok_or_else(|| ToolError::internal("pooled channel taken twice"))
    }
}

impl Drop for PooledChannel {
    fn drop(&mut self) {
        self.connection.active.fetch_sub(1, Ordering::SeqCst);
        self.connection.touch();
        // russh does not close a dropped channel; an unclosed channel keeps counting against the
        // server's MaxSessions, so close it explicitly.
        if let Some(channel) = self.channel.take()
            && let Ok(runtime) = tokio::runtime::Handle::try_current()
        {
            runtime.spawn(async move {
                let _ = channel.close().await;
            });
        }
    }
}

impl HostHandle {
    /// A handle for `config`. Does not connect: the first call does.
    pub fn new(config: HostConfig) -> Self {
        Self::build(config, None)
    }

    /// Like [`HostHandle::new`], with the ssh-agent at `socket` instead of `$SSH_AUTH_SOCK` (for an
    /// agent started by the caller, such as a test's).
    pub fn with_agent_socket(config: HostConfig, socket: PathBuf) -> Self {
        Self::build(config, Some(socket))
    }

    fn build(config: HostConfig, agent_socket: Option<PathBuf>) -> Self {
        let sessions = Arc::new(Semaphore::new(config.max_sessions.max(1)));
        Self {
            inner: Arc::new(Inner {
                config,
                slot: Arc::new(Mutex::new(None)),
                sessions,
                connects: AtomicU64::new(0),
                agent_socket,
                activity: Activity {
                    shutdown: CancellationToken::new(),
                    outstanding: watch::Sender::new(0),
                },
            }),
        }
    }

    pub fn name(&self) -> &str {
        &self.inner.config.name
    }

    pub fn config(&self) -> &HostConfig {
        &self.inner.config
    }

    /// How many connections this handle has opened so far (1 while the first one lives).
    pub fn connections_opened(&self) -> u64 {
        self.inner.connects.load(Ordering::SeqCst)
    }

    /// True while an open connection is pooled.
    pub async fn is_connected(&self) -> bool {
        let slot = self.inner.slot.lock().await;
        slot.as_ref().is_some_and(|c| !c.handle.is_closed())
    }

    /// The banner and host key fingerprint of the pooled connection; None when none is open.
    pub async fn server_info(&self) -> Option<ServerInfo> {
        let slot = self.inner.slot.lock().await;
        let connection = slot.as_ref().filter(|c| !c.handle.is_closed())?;
        connection.server.lock().ok().map(|info| info.clone())
    }

    /// Open (or reuse) the connection: verifies the host key and authenticates. Use it to test a
    /// host's configuration.
    pub async fn connect(&self) -> ToolResult<()> {
        self.connection().await.map(|_| ())
    }

    /// Close the pooled connection now (channels in use keep it alive until they finish).
    pub async fn disconnect(&self) {
        let taken = self.inner.slot.lock().await.take();
        if let Some(connection) = taken {
            let _ = connection
                .handle
                .disconnect(Disconnect::ByApplication, "closed by Skippy", "en")
                .await;
        }
    }

    /// Stop every command running on this host (they end as if cancelled and kill their remote
    /// processes) and refuse new ones: the server is shutting down.
    pub fn begin_shutdown(&self) {
        self.inner.activity.shutdown.cancel();
    }

    /// Wait until no command runs on this host and every remote kill has finished; false when
    /// `deadline` came first.
    pub async fn settled(&self, deadline: tokio::time::Instant) -> bool {
        let mut outstanding = self.inner.activity.outstanding.subscribe();
        tokio::time::timeout_at(deadline, outstanding.wait_for(|count| *count == 0))
            .await
            .is_ok()
    }

    /// Fired by [`HostHandle::begin_shutdown`].
    pub(crate) fn shutdown_token(&self) -> &CancellationToken {
        &self.inner.activity.shutdown
    }

    /// Count a command as outstanding until the ticket is dropped.
    pub(crate) fn ticket(&self) -> ActivityTicket {
        let outstanding = self.inner.activity.outstanding.clone();
        outstanding.send_modify(|count| *count += 1);
        ActivityTicket { outstanding }
    }

    /// A session channel, waiting for one of the host's `max_sessions` permits.
    pub(crate) async fn channel(&self) -> ToolResult<PooledChannel> {
        let permit = self
            .inner
            .sessions
            .clone()
            .acquire_owned()
            .await
            .map_err(ToolError::internal)?;
        self.open_channel(Some(permit)).await
    }

    /// A session channel outside the `max_sessions` limit, for short cleanup commands (killing a
    /// timed-out remote process) that must not wait behind the calls they clean up after.
    pub(crate) async fn cleanup_channel(&self) -> ToolResult<PooledChannel> {
        self.open_channel(None).await
    }

    async fn open_channel(
        &self,
        permit: Option<OwnedSemaphorePermit>,
    ) -> ToolResult<PooledChannel> {
        let (connection, fresh) = self.connection().await?;
        let channel = match self.try_open(&connection).await {
            Ok(channel) => channel,
            Err(OpenError::Refused(error)) => return Err(error),
            Err(OpenError::Dead(detail)) if !fresh => {
                // The pooled connection died (sshd restarted, network dropped): reconnect once.
                tracing::info!(host = %self.name(), %detail, "pooled SSH connection is dead; reconnecting");
                self.discard(&connection).await;
                let (connection, _) = self.connection().await?;
                return match self.try_open(&connection).await {
                    Ok(channel) => Ok(self.pooled(channel, connection, permit)),
                    Err(OpenError::Refused(error)) => Err(error),
                    Err(OpenError::Dead(detail)) => Err(self.lost_error(&detail)),
                };
            }
            Err(OpenError::Dead(detail)) => return Err(self.lost_error(&detail)),
        };
        Ok(self.pooled(channel, connection, permit))
    }

    fn pooled(
        &self,
        channel: Channel<Msg>,
        connection: Arc<Connection>,
        permit: Option<OwnedSemaphorePermit>,
    ) -> PooledChannel {
        connection.active.fetch_add(1, Ordering::SeqCst);
        connection.touch();
        PooledChannel {
            channel: Some(channel),
            connection,
            _permit: permit,
        }
    }

    async fn try_open(&self, connection: &Connection) -> Result<Channel<Msg>, OpenError> {
        if connection.handle.is_closed() {
            return Err(OpenError::Dead("the connection is closed".into()));
        }
        // A connection that died silently (no FIN) would leave the open waiting for keepalives.
        let timeout = self.inner.config.connect_timeout;
        match tokio::time::timeout(timeout, connection.handle.channel_open_session()).await {
            Ok(Ok(channel)) => Ok(channel),
            Ok(Err(russh::Error::ChannelOpenFailure(reason))) => {
                Err(OpenError::Refused(self.refused_error(&reason)))
            }
            Ok(Err(error)) => Err(OpenError::Dead(error.to_string())),
            Err(_) => Err(OpenError::Dead(format!(
                "no answer to a channel request within {} ms",
                timeout.as_millis()
            ))),
        }
    }

    fn refused_error(&self, reason: &ChannelOpenFailure) -> ToolError {
        let config = &self.inner.config;
        ToolError::Unavailable(format!(
            "host {} refused a new SSH session ({reason:?}); its sshd may allow fewer sessions per connection \
             (MaxSessions) than max_sessions = {} in [hosts.{}]: lower max_sessions",
            config.name, config.max_sessions, config.name
        ))
    }

    fn lost_error(&self, detail: &str) -> ToolError {
        let config = &self.inner.config;
        ToolError::Unavailable(format!(
            "the SSH connection to host {} ({}:{}) was lost and a new one failed too ({detail}); check that the host is up",
            config.name, config.address, config.port
        ))
    }

    /// Drop `connection` from the slot if it is still the pooled one.
    async fn discard(&self, connection: &Arc<Connection>) {
        let mut slot = self.inner.slot.lock().await;
        if slot
            .as_ref()
            .is_some_and(|pooled| Arc::ptr_eq(pooled, connection))
        {
            *slot = None;
        }
    }

    /// The pooled connection, or a new one. The bool is true when it was just opened.
    pub(crate) async fn connection(&self) -> ToolResult<(Arc<Connection>, bool)> {
        let mut slot = self.inner.slot.lock().await;
        if let Some(connection) = slot.as_ref() {
            if !connection.handle.is_closed() {
                connection.touch();
                return Ok((connection.clone(), false));
            }
            tracing::info!(host = %self.name(), "pooled SSH connection was closed; reconnecting");
        }
        *slot = None;
        let connection = Arc::new(
            open_connection(&self.inner.config, self.inner.agent_socket.as_deref()).await?,
        );
        self.inner.connects.fetch_add(1, Ordering::SeqCst);
        *slot = Some(connection.clone());
        drop(slot);
        spawn_idle_watch(
            Arc::downgrade(&self.inner.slot),
            Arc::downgrade(&connection),
            self.inner.config.idle_close,
        );
        Ok((connection, true))
    }
}

enum OpenError {
    /// The server answered and refused: the connection is fine, do not reconnect.
    Refused(ToolError),
    /// The connection is unusable.
    Dead(String),
}

/// Close `connection` once it has had no channel for `idle`. Ends when the connection is gone.
fn spawn_idle_watch(
    slot: Weak<Mutex<Option<Arc<Connection>>>>,
    connection: Weak<Connection>,
    idle: Duration,
) {
    tokio::spawn(async move {
        loop {
            let deadline = match connection.upgrade() {
                Some(live) if !live.handle.is_closed() => live.idle_since() + idle,
                _ => return,
            };
            tokio::time::sleep_until(deadline.into()).await;
            let (Some(live), Some(slot)) = (connection.upgrade(), slot.upgrade()) else {
                return;
            };
            if live.active.load(Ordering::SeqCst) > 0 || live.idle_since().elapsed() < idle {
                continue;
            }
            let mut pooled = slot.lock().await;
            if pooled.as_ref().is_some_and(|p| Arc::ptr_eq(p, &live)) {
                *pooled = None;
            }
            drop(pooled);
            tracing::debug!("closing an idle SSH connection");
            let _ = live
                .handle
                .disconnect(Disconnect::ByApplication, "idle", "en")
                .await;
            return;
        }
    });
}

/// Why the server was not trusted, kept by the handler so that the caller gets the full message even
/// if the SSH library reports only a generic failure.
type Rejection = Arc<StdMutex<Option<ToolError>>>;

/// The russh client callbacks: host key verification.
struct Client {
    config: HostConfig,
    rejection: Rejection,
    server: Arc<StdMutex<ServerInfo>>,
}

/// Errors from inside the SSH session.
#[derive(Debug)]
enum SessionError {
    Ssh(russh::Error),
    HostKey,
}

impl From<russh::Error> for SessionError {
    fn from(error: russh::Error) -> Self {
        SessionError::Ssh(error)
    }
}

impl client::Handler for Client {
    type Error = SessionError;

    async fn check_server_key(
        &mut self,
        server_public_key: &PublicKeyOrCertificate,
    ) -> Result<bool, Self::Error> {
        let key = match server_public_key {
            PublicKeyOrCertificate::PublicKey { key, .. } => key.clone(),
            // Certificates are never requested; should a server send one anyway, its key is
            // verified like a plain key.
            PublicKeyOrCertificate::Certificate(certificate) => {
                russh::keys::PublicKey::new(certificate.public_key().clone(), "")
            }
        };
        let fingerprint = key.fingerprint(HashAlg::Sha256).to_string();
        let config = self.config.clone();
        let verdict = tokio::task::spawn_blocking(move || known_hosts::verify(&config, &key))
            .await
            .map_err(|error| ToolError::internal(format!("host key check panicked: {error}")))
            .and_then(|verdict| verdict);
        match verdict {
            Ok(_) => {
                if let Ok(mut info) = self.server.lock() {
                    info.host_key_fingerprint = Some(fingerprint);
                }
                Ok(true)
            }
            Err(error) => {
                tracing::warn!(host = %self.config.name, %error, "host key rejected");
                if let Ok(mut slot) = self.rejection.lock() {
                    *slot = Some(error);
                }
                Err(SessionError::HostKey)
            }
        }
    }

    async fn kex_done(
        &mut self,
        _shared_secret: Option<&[u8]>,
        _names: &russh::Names,
        session: &mut client::Session,
    ) -> Result<(), Self::Error> {
        let banner = String::from_utf8_lossy(session.remote_sshid())
            .trim()
            .to_string();
        if let Ok(mut info) = self.server.lock() {
            info.banner = Some(banner);
        }
        Ok(())
    }
}

/// The russh configuration for `config`: keepalive, and host key algorithms ordered so that the
/// server presents a key type that known_hosts already records (as OpenSSH does).
fn ssh_config(config: &HostConfig) -> client::Config {
    let mut preferred = Preferred::default();
    let recorded = known_hosts::recorded_algorithms(config);
    if !recorded.is_empty() {
        let same = |a: &Algorithm, b: &Algorithm| a == b || (is_rsa(a) && is_rsa(b));
        let mut keys: Vec<Algorithm> = preferred
            .key
            .iter()
            .filter(|a| recorded.iter().any(|r| same(a, r)))
            .cloned()
            .collect();
        keys.extend(
            preferred
                .key
                .iter()
                .filter(|a| !recorded.iter().any(|r| same(a, r)))
                .cloned(),
        );
        preferred.key = Cow::Owned(keys);
    }
    client::Config {
        keepalive_interval: config.keepalive,
        keepalive_max: KEEPALIVE_MAX,
        nodelay: true,
        preferred,
        ..client::Config::default()
    }
}

/// Connect, verify the host key and authenticate, all within `connect_timeout`.
async fn open_connection(
    config: &HostConfig,
    agent_socket: Option<&Path>,
) -> ToolResult<Connection> {
    let timeout = config.connect_timeout;
    match tokio::time::timeout(timeout, connect_and_authenticate(config, agent_socket)).await {
        Ok(result) => result,
        Err(_) => Err(ToolError::Unavailable(format!(
            "cannot connect to host {} ({}:{}): no SSH session within {} ms; check the address/port and the network, \
             or raise connect_timeout_ms",
            config.name,
            config.address,
            config.port,
            timeout.as_millis()
        ))),
    }
}

async fn connect_and_authenticate(
    config: &HostConfig,
    agent_socket: Option<&Path>,
) -> ToolResult<Connection> {
    let rejection: Rejection = Arc::new(StdMutex::new(None));
    let server = Arc::new(StdMutex::new(ServerInfo::default()));
    let client = Client {
        config: config.clone(),
        rejection: rejection.clone(),
        server: server.clone(),
    };
    let target = (config.address.as_str(), config.port);
    let mut handle = match client::connect(Arc::new(ssh_config(config)), target, client).await {
        Ok(handle) => handle,
        Err(error) => {
            if let Some(rejected) = rejection.lock().ok().and_then(|mut r| r.take()) {
                return Err(rejected);
            }
            return Err(connect_error(config, &error));
        }
    };
    authenticate(config, &mut handle, agent_socket).await?;
    tracing::info!(host = %config.name, address = %config.address, port = config.port, "SSH connection established");
    Ok(Connection {
        handle,
        active: AtomicUsize::new(0),
        last_used: StdMutex::new(Instant::now()),
        home: tokio::sync::OnceCell::new(),
        server,
    })
}

fn connect_error(config: &HostConfig, error: &SessionError) -> ToolError {
    let target = format!("host {} ({}:{})", config.name, config.address, config.port);
    let io_error = match error {
        SessionError::Ssh(russh::Error::IO(io)) => Some(io),
        _ => None,
    };
    if let Some(io) = io_error {
        use std::io::ErrorKind;
        let hint = match io.kind() {
            ErrorKind::ConnectionRefused => {
                "connection refused; check the address/port or that sshd runs".to_string()
            }
            ErrorKind::TimedOut => "connection timed out; check the address and firewall".into(),
            ErrorKind::HostUnreachable | ErrorKind::NetworkUnreachable => {
                format!("{io}; check the address and the network")
            }
            _ if io.to_string().contains("lookup") || io.to_string().contains("resolve") => {
                format!("{io}; check the host name")
            }
            _ => format!("{io}; check the address/port or that sshd runs"),
        };
        return ToolError::Unavailable(format!("cannot connect to {target}: {hint}"));
    }
    let detail = match error {
        SessionError::Ssh(error) => error.to_string(),
        SessionError::HostKey => "the host key was rejected".into(),
    };
    ToolError::Unavailable(format!(
        "cannot open an SSH session with {target}: {detail}; check that the port speaks SSH and that the server's algorithms are current"
    ))
}

/// Try each configured method in order until one succeeds.
async fn authenticate(
    config: &HostConfig,
    handle: &mut client::Handle<Client>,
    agent_socket: Option<&Path>,
) -> ToolResult<()> {
    let mut tried: Vec<String> = Vec::new();
    for method in &config.auth {
        let outcome = match method {
            HostAuth::Key { path, passphrase } => {
                authenticate_key(config, handle, path, passphrase.as_deref()).await
            }
            HostAuth::Password(password) => authenticate_password(config, handle, password).await,
            HostAuth::Agent => authenticate_agent(config, handle, agent_socket).await,
        };
        match outcome {
            Ok(()) => return Ok(()),
            Err(note) => tried.push(note),
        }
    }
    let tried = if tried.is_empty() {
        "no method is configured".to_string()
    } else {
        tried.join("; ")
    };
    Err(ToolError::PermissionDenied(format!(
        "authentication to host {} as user `{}` failed. Tried: {tried}. Check the user name and the credentials in [hosts.{}] \
         (identity_file, password_env, use_agent) and that the server accepts them",
        config.name, config.user, config.name
    )))
}

/// Outcome of one method: Err carries a note for the final message (never a secret).
type MethodOutcome = Result<(), String>;

fn auth_result(result: Result<AuthResult, russh::Error>, what: &str) -> MethodOutcome {
    match result {
        Ok(AuthResult::Success) => Ok(()),
        Ok(AuthResult::Failure { .. }) => Err(format!("{what}: rejected by the server")),
        Err(error) => Err(format!("{what}: {error}")),
    }
}

async fn authenticate_key(
    config: &HostConfig,
    handle: &mut client::Handle<Client>,
    path: &std::path::Path,
    passphrase: Option<&str>,
) -> MethodOutcome {
    let what = format!("key {}", path.display());
    let owned = path.to_path_buf();
    let passphrase_owned = passphrase.map(str::to_string);
    let loaded = tokio::task::spawn_blocking(move || {
        russh::keys::load_secret_key(&owned, passphrase_owned.as_deref())
    })
    .await
    .map_err(|error| format!("{what}: {error}"))?;
    let key = match loaded {
        Ok(key) => key,
        Err(russh::keys::Error::IO(error)) if error.kind() == std::io::ErrorKind::NotFound => {
            return Err(format!("{what}: the file does not exist"));
        }
        Err(russh::keys::Error::IO(error)) => {
            return Err(format!("{what}: cannot read it ({error})"));
        }
        Err(error) => {
            let hint = if passphrase.is_some() {
                "wrong passphrase or unsupported key format"
            } else {
                "encrypted key without identity_passphrase_env, or unsupported key format"
            };
            return Err(format!("{what}: cannot load it ({hint}: {error})"));
        }
    };
    let hash = rsa_hash(handle, &key.algorithm()).await;
    let key = PrivateKeyWithHashAlg::new(Arc::new(key), hash);
    auth_result(
        handle
            .authenticate_publickey(config.user.clone(), key)
            .await,
        &what,
    )
}

fn is_rsa(algorithm: &Algorithm) -> bool {
    matches!(algorithm, Algorithm::Rsa { .. })
}

/// The signature hash for an RSA key: what the server announced, else SHA-256 (OpenSSH 8.8 and
/// later refuse the SHA-1 `ssh-rsa` signatures that "no preference" would mean).
async fn rsa_hash(handle: &client::Handle<Client>, algorithm: &Algorithm) -> Option<HashAlg> {
    if !is_rsa(algorithm) {
        return None;
    }
    match handle.best_supported_rsa_hash().await {
        Ok(Some(hash)) => hash,
        _ => Some(HashAlg::Sha256),
    }
}

async fn authenticate_password(
    config: &HostConfig,
    handle: &mut client::Handle<Client>,
    password: &str,
) -> MethodOutcome {
    let remaining = match handle
        .authenticate_password(config.user.clone(), password)
        .await
    {
        Ok(AuthResult::Success) => return Ok(()),
        Ok(AuthResult::Failure {
            remaining_methods, ..
        }) => remaining_methods,
        Err(error) => return Err(format!("password: {error}")),
    };
    if !remaining.contains(&MethodKind::KeyboardInteractive) {
        return Err("password: rejected by the server".into());
    }
    // PAM servers often accept the password only through keyboard-interactive.
    let mut reply = handle
        .authenticate_keyboard_interactive_start(config.user.clone(), None)
        .await;
    for _ in 0..4 {
        match reply {
            Ok(KeyboardInteractiveAuthResponse::Success) => return Ok(()),
            Ok(KeyboardInteractiveAuthResponse::Failure { .. }) => break,
            Ok(KeyboardInteractiveAuthResponse::InfoRequest { prompts, .. }) => {
                let answers = prompts
                    .iter()
                    .map(|prompt| {
                        if prompt.echo {
                            String::new()
                        } else {
                            password.to_string()
                        }
                    })
                    .collect();
                reply = handle
                    .authenticate_keyboard_interactive_respond(answers)
                    .await;
            }
            Err(error) => return Err(format!("password (keyboard-interactive): {error}")),
        }
    }
    Err("password (also tried as keyboard-interactive): rejected by the server".into())
}

async fn authenticate_agent(
    config: &HostConfig,
    handle: &mut client::Handle<Client>,
    agent_socket: Option<&Path>,
) -> MethodOutcome {
    let socket = match agent_socket {
        Some(socket) => socket.to_path_buf(),
        None => match skippy_core::env::var("SSH_AUTH_SOCK").filter(|s| !s.is_empty()) {
            Some(socket) => PathBuf::from(socket),
            None => return Err("agent: SSH_AUTH_SOCK is not set (no ssh-agent)".into()),
        },
    };
    let mut agent = match russh::keys::agent::client::AgentClient::connect_uds(&socket).await {
        Ok(agent) => agent,
        Err(error) => {
            return Err(format!(
                "agent: cannot reach it at {} ({error})",
                socket.display()
            ));
        }
    };
    let identities = match agent.request_identities().await {
        Ok(identities) => identities,
        Err(error) => return Err(format!("agent: cannot list its keys ({error})")),
    };
    if identities.is_empty() {
        return Err("agent: it holds no keys (ssh-add)".into());
    }
    let count = identities.len();
    for identity in identities {
        let key = identity.public_key().into_owned();
        let hash = rsa_hash(handle, &key.algorithm()).await;
        match handle
            .authenticate_publickey_with(config.user.clone(), key, hash, &mut agent)
            .await
        {
            Ok(AuthResult::Success) => return Ok(()),
            Ok(AuthResult::Failure { .. }) => continue,
            Err(error) => {
                tracing::debug!(%error, "agent signing failed");
                continue;
            }
        }
    }
    Err(format!("agent: none of its {count} keys was accepted"))
}
