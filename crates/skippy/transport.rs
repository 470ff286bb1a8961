//! The stdio transport: newline-delimited JSON-RPC over stdin/stdout.
//!
//! rmcp's built-in line transport silently ignores a line that is not JSON. Skippy answers it
//! instead, with a JSON-RPC parse error (-32700, `id: null`), and keeps serving; a JSON value that is
//! not a valid message gets -32600 with its `id` when one can be read. A line over
//! `server.max_request_bytes`, nested too deep, or holding too many items in one array or object is
//! refused with -32600 (and its `id`, read by a streaming scan) without ever being parsed, so a
//! message can never cost much more memory than the limit. Everything else is handed to rmcp
//! unchanged.

use std::sync::Arc;

use rmcp::RoleServer;
use rmcp::service::{RxJsonRpcMessage, TxJsonRpcMessage};
use rmcp::transport::Transport;
use serde_json::Value;
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::sync::Mutex;

use crate::json_shape::{ShapeLimits, ShapeScanner};

/// Keep at most this much line buffer between messages (one large message must not pin memory).
const KEPT_LINE_CAPACITY: usize = 1024 * 1024;

pub struct LineTransport<R, W> {
    reader: BufReader<R>,
    writer: Arc<Mutex<W>>,
    line: Vec<u8>,
    /// Set while skipping the rest of an over-long line.
    discarding: bool,
    max_line_bytes: usize,
    limits: ShapeLimits,
    shape: ShapeScanner,
}

impl<R, W> LineTransport<R, W>
where
    R: AsyncRead + Unpin + Send + 'static,
    W: AsyncWrite + Unpin + Send + 'static,
{
    /// `max_line_bytes` is `server.max_request_bytes`.
    pub fn new(reader: R, writer: W, max_line_bytes: usize) -> Self {
        Self {
            reader: BufReader::with_capacity(64 * 1024, reader),
            writer: Arc::new(Mutex::new(writer)),
            line: Vec::with_capacity(4096),
            discarding: false,
            max_line_bytes,
            limits: ShapeLimits::default(),
            shape: ShapeScanner::new(),
        }
    }
}

async fn write_raw<W: AsyncWrite + Unpin>(
    writer: &Mutex<W>,
    mut bytes: Vec<u8>,
) -> std::io::Result<()> {
    bytes.push(b'\n');
    let mut writer = writer.lock().await;
    writer.write_all(&bytes).await?;
    writer.flush().await
}

async fn reply_error<W: AsyncWrite + Unpin>(
    writer: &Mutex<W>,
    id: Value,
    code: i64,
    message: String,
) {
    let response = serde_json::json!({
        "jsonrpc": "2.0",
        "id": id,
        "error": {"code": code, "message": message},
    });
    if let Ok(bytes) = serde_json::to_vec(&response)
        && let Err(error) = write_raw(writer, bytes).await
    {
        tracing::warn!(%error, "could not write an error response");
    }
}

/// Handle one complete line; `Some` when it is a message for rmcp.
async fn handle_line<W: AsyncWrite + Unpin>(
    writer: &Mutex<W>,
    line: &[u8],
) -> Option<RxJsonRpcMessage<RoleServer>> {
    let line = line.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(line);
    match serde_json::from_slice::<RxJsonRpcMessage<RoleServer>>(line) {
        Ok(message) => Some(message),
        Err(error) if error.is_syntax() || error.is_eof() => {
            tracing::debug!(%error, "malformed JSON-RPC line");
            reply_error(
                writer,
                Value::Null,
                -32700,
                format!("Parse error: the line is not valid JSON ({error})"),
            )
            .await;
            None
        }
        Err(error) => {
            let value: Value = serde_json::from_slice(line).unwrap_or(Value::Null);
            let id = value.get("id").cloned();
            match id {
                // A notification rmcp does not know: ignored, as JSON-RPC requires.
                None if value.get("method").is_some() => None,
                id => {
                    reply_error(
                        writer,
                        id.unwrap_or(Value::Null),
                        -32600,
                        format!("Invalid Request: not a valid JSON-RPC 2.0 message ({error})"),
                    )
                    .await;
                    None
                }
            }
        }
    }
}

impl<R, W> Transport<RoleServer> for LineTransport<R, W>
where
    R: AsyncRead + Unpin + Send + 'static,
    W: AsyncWrite + Unpin + Send + 'static,
{
    type Error = std::io::Error;

    fn send(
        &mut self,
        item: TxJsonRpcMessage<RoleServer>,
    ) -> impl Future<Output = Result<(), Self::Error>> + Send + 'static {
        let writer = self.writer.clone();
        async move {
            let mut bytes = serde_json::to_vec(&item).map_err(std::io::Error::other)?;
            bytes.push(b'\n');
            let mut writer = writer.lock().await;
            writer.write_all(&bytes).await?;
            writer.flush().await
        }
    }

    async fn receive(&mut self) -> Option<RxJsonRpcMessage<RoleServer>> {
        loop {
            // fill_buf/consume keep unread bytes in the BufReader and read bytes in `self.line`, so a
            // read interrupted by the service loop's `select!` resumes without losing anything.
            let (taken, complete) = match self.reader.fill_buf().await {
                Ok([]) => return None,
                Ok(available) => {
                    let newline = memchr_newline(available);
                    let end = newline.map_or(available.len(), |i| i + 1);
                    self.shape.feed(&available[..end], self.limits);
                    if !self.discarding {
                        if self.line.len() + end > self.max_line_bytes
                            || self.shape.violation().is_some()
                        {
                            // Stop buffering now: the rest of the line is only scanned for its id.
                            self.discarding = true;
                            self.line.clear();
                        } else {
                            self.line.extend_from_slice(&available[..end]);
                        }
                    }
                    (end, newline.is_some())
                }
                Err(error) => {
                    tracing::error!(%error, "reading stdin failed");
                    return None;
                }
            };
            self.reader.consume(taken);
            if !complete {
                continue;
            }
            let shape = std::mem::take(&mut self.shape);
            if self.discarding {
                self.discarding = false;
                self.line.clear();
                self.line.shrink_to(KEPT_LINE_CAPACITY);
                let reason = match shape.violation() {
                    Some(reason) => format!("the message was refused unparsed: {reason}"),
                    None => format!(
                        "a message longer than {} bytes was discarded (server.max_request_bytes); send smaller arguments, e.g. write a large file in parts with mode append",
                        self.max_line_bytes
                    ),
                };
                tracing::warn!(%reason, "request refused");
                reply_error(
                    &self.writer,
                    shape.id().unwrap_or(Value::Null),
                    -32600,
                    format!("Invalid Request: {reason}"),
                )
                .await;
                continue;
            }
            let line = std::mem::take(&mut self.line);
            let message = match trim_line(&line) {
                [] => None,
                trimmed => handle_line(&self.writer, trimmed).await,
            };
            self.line = line;
            self.line.clear();
            self.line.shrink_to(KEPT_LINE_CAPACITY);
            if let Some(message) = message {
                return Some(message);
            }
        }
    }

    async fn close(&mut self) -> Result<(), Self::Error> {
        let mut writer = self.writer.lock().await;
        writer.flush().await
    }
}

fn memchr_newline(bytes: &[u8]) -> Option<usize> {
    bytes.iter().position(|&b| b == b'\n')
}

fn trim_line(line: &[u8]) -> &[u8] {
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    line.trim_ascii()
}
