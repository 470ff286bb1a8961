//! `skippy-bench`: measures the release `skippy` binary the way an MCP client sees it, over stdio,
//! and writes `docs/benchmarks.md`: cold start, `tools/list`, per-call latency, tail reads of a
//! 1 GiB log, a 20,000-file search beside ripgrep, system tools, memory, and `run_remote_command`
//! over SSH to a throwaway local sshd beside OpenSSH's client.
//!
//! It builds nothing: run `cargo build --release` first. A tool that is missing or fails is shown
//! as "n/a (error: ...)" in its row; the other rows are still measured.

// This is a report-printing CLI, not the MCP server: its stdout belongs to the person running it.
#![allow(clippy::print_stdout)]

mod client;
mod data;
mod report;
mod ssh;
mod stats;

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use serde_json::{Value, json};

use crate::client::{Launch, Server};
use crate::data::Tree;
use crate::report::{Machine, Row};
use crate::stats::{Samples, format_mib, format_ms};

const USAGE: &str = "\
Usage: cargo run --release -p skippy-bench -- [OPTIONS]

Measures the release skippy binary over stdio and writes a Markdown report.

Options:
  --quick            Fewer repetitions (a rough check); writes no report unless --out is given
  --ssh-only         Only the SSH measurements; writes no report unless --out is given
  --out PATH         Report path (default: docs/benchmarks.md in the workspace, full runs only)
  --bin PATH         The skippy binary (default: $CARGO_TARGET_DIR or target/, then release/skippy)
  --data-dir PATH    Where the generated data is cached (default: target/bench-data)
  -h, --help         This text";

/// Targets (2-core machine, release build).
const TARGET_COLD_START: Duration = Duration::from_millis(10);
const TARGET_TRIVIAL_CALL: Duration = Duration::from_micros(100);
const TARGET_TOOLS_LIST: Duration = Duration::from_millis(1);
const TARGET_BYTES_PER_TOOL: f64 = 900.0;
const TARGET_TAIL_READ: Duration = Duration::from_millis(2);
const TARGET_SEARCH_RATIO: f64 = 1.5;
const TARGET_IDLE_RSS_KIB: u64 = 12 * 1024;
const TARGET_PEAK_RSS_KIB: u64 = 64 * 1024;

struct Options {
    quick: bool,
    ssh_only: bool,
    out: Option<PathBuf>,
    bin: PathBuf,
    data_dir: PathBuf,
}

impl Options {
    /// `None` when help was asked for.
    fn parse(args: impl IntoIterator<Item = OsString>) -> Result<Option<Self>> {
        let root = workspace_root();
        let mut quick = false;
        let mut ssh_only = false;
        let mut out = None;
        let mut bin = None;
        let mut data_dir = None;
        let mut args = args.into_iter();
        while let Some(arg) = args.next() {
            let mut value = |name: &str| {
                args.next()
                    .map(PathBuf::from)
                    .with_context(|| format!("{name} needs a value\n\n{USAGE}"))
            };
            match arg.to_str() {
                Some("--quick") => quick = true,
                Some("--ssh-only") => ssh_only = true,
                Some("--out") => out = Some(value("--out")?),
                Some("--bin") => bin = Some(value("--bin")?),
                Some("--data-dir") => data_dir = Some(value("--data-dir")?),
                Some("-h" | "--help") => return Ok(None),
                _ => bail!("unknown argument {}\n\n{USAGE}", arg.to_string_lossy()),
            }
        }
        let target_dir =
            std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| root.join("target"), PathBuf::from);
        Ok(Some(Self {
            quick,
            ssh_only,
            out: out.or_else(|| (!quick && !ssh_only).then(|| root.join("docs/benchmarks.md"))),
            bin: bin.unwrap_or_else(|| target_dir.join("release/skippy")),
            data_dir: data_dir.unwrap_or_else(|| root.join("target/bench-data")),
        }))
    }
}

fn workspace_root() -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    root.canonicalize().unwrap_or(root)
}

/// How many times each measurement is repeated.
struct Repetitions {
    cold_start: usize,
    tools_list: usize,
    trivial: usize,
    log: usize,
    search: usize,
    system: usize,
}

impl Repetitions {
    fn new(quick: bool) -> Self {
        if quick {
            Self {
                cold_start: 5,
                tools_list: 50,
                trivial: 300,
                log: 10,
                search: 3,
                system: 5,
            }
        } else {
            Self {
                cold_start: 20,
                tools_list: 200,
                trivial: 2000,
                log: 50,
                search: 10,
                system: 20,
            }
        }
    }
}

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("skippy-bench: {error:#}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> Result<()> {
    let Some(options) = Options::parse(std::env::args_os().skip(1))? else {
        println!("{USAGE}");
        return Ok(());
    };
    if !options.bin.is_file() {
        bail!(
            "{} not found: run `cargo build --release` first (or pass --bin PATH)",
            options.bin.display()
        );
    }
    let bin = options.bin.canonicalize()?;
    fs::create_dir_all(&options.data_dir)
        .with_context(|| format!("creating {}", options.data_dir.display()))?;
    let data_dir = options.data_dir.canonicalize()?;
    let scratch = Scratch::create()?;
    let machine = Machine::describe(&bin);
    let (mut rows, mut notes) = if options.ssh_only {
        (Vec::new(), Vec::new())
    } else {
        local_benchmarks(&bin, &data_dir, &scratch, options.quick)?
    };
    // Its own scratch directory: the main session's audit log is counted above and stays apart.
    let (ssh_rows, ssh_notes) = ssh::run(
        &bin,
        &data_dir,
        &scratch.0.join("ssh"),
        &ssh::Counts::new(options.quick),
    );
    rows.extend(ssh_rows);
    notes.extend(ssh_notes);

    let markdown = report::markdown(&machine, options.quick, &rows, &notes);
    println!("\n{}", report::table(&rows));
    for note in notes.iter().filter(|note| note.starts_with("Warning")) {
        println!("{note}");
    }
    if let Some(out) = &options.out {
        if let Some(parent) = out.parent().filter(|p| !p.as_os_str().is_empty()) {
            fs::create_dir_all(parent)?;
        }
        fs::write(out, markdown).with_context(|| format!("writing {}", out.display()))?;
        println!("wrote {}", out.display());
    }
    Ok(())
}

/// Everything but SSH: cold start, then one long-lived session.
fn local_benchmarks(
    bin: &Path,
    data_dir: &Path,
    scratch: &Scratch,
    quick: bool,
) -> Result<(Vec<Row>, Vec<String>)> {
    let log = data::ensure_log(data_dir)?;
    let tree = data::ensure_tree(data_dir)?;
    // The data directory is the server's working directory, hence its file root and a log root.
    let launch = Launch {
        bin: bin.to_path_buf(),
        work_dir: data_dir.to_path_buf(),
        scratch: scratch.0.clone(),
        config: None,
    };
    let repetitions = Repetitions::new(quick);

    eprintln!("cold start ...");
    let mut rows = cold_start(&launch, repetitions.cold_start);
    let mut bench = Bench::start(launch, repetitions)?;
    bench.idle_memory();
    bench.tools_list();
    bench.trivial_calls();
    bench.search(&tree);
    bench.log_tail(&log);
    bench.system_tools();
    bench.final_memory();
    let (session_rows, notes) = bench.finish();
    rows.extend(session_rows);
    Ok((rows, notes))
}

/// The server's HOME and state directory, removed when the run ends, however it ends.
struct Scratch(PathBuf);

impl Scratch {
    fn create() -> Result<Self> {
        let path = std::env::temp_dir().join(format!("skippy-bench-{}", std::process::id()));
        if path.exists() {
            fs::remove_dir_all(&path)?;
        }
        fs::create_dir_all(&path).with_context(|| format!("creating {}", path.display()))?;
        Ok(Self(path))
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

/// Spawn → initialize response, over fresh processes (one unrecorded warm-up spawn first, so that
/// the binary is in the page cache).
fn cold_start(launch: &Launch, runs: usize) -> Vec<Row> {
    let metric = format!("Cold start: spawn → initialize response (median of {runs})");
    let target = format!("≤ {}", format_ms(TARGET_COLD_START));
    let mut times = Vec::with_capacity(runs);
    for _ in 0..=runs {
        match Server::start(launch).and_then(|(server, elapsed)| {
            server.stop()?;
            Ok(elapsed)
        }) {
            Ok(elapsed) => times.push(elapsed),
            Err(error) => return vec![Row::failed(metric, target, &error)],
        }
    }
    times.remove(0);
    let samples = Samples::new(times);
    vec![
        Row::checked(
            metric,
            format_ms(samples.median()),
            target,
            samples.median() <= TARGET_COLD_START,
        ),
        Row::info("Cold start p90", format_ms(samples.percentile(90.0))),
    ]
}

/// One long-lived server session and everything measured in it.
struct Bench {
    launch: Launch,
    server: Server,
    /// Tool name → input schema, from `tools/list`; `None` until listed.
    tools: Option<BTreeMap<String, Value>>,
    repetitions: Repetitions,
    rows: Vec<Row>,
    notes: Vec<String>,
}

impl Bench {
    fn start(launch: Launch, repetitions: Repetitions) -> Result<Self> {
        let (server, _) = Server::start(&launch).context("starting the server")?;
        Ok(Self {
            launch,
            server,
            tools: None,
            repetitions,
            rows: Vec::new(),
            notes: Vec::new(),
        })
    }

    fn idle_memory(&mut self) {
        // Let the runtime's threads settle after the handshake.
        thread::sleep(Duration::from_millis(200));
        let target = format!("≤ {}", format_mib(TARGET_IDLE_RSS_KIB));
        let metric = "Idle RSS after initialize (VmRSS)";
        self.rows.push(match self.server.status_kb("VmRSS") {
            Ok(kib) => Row::checked(metric, format_mib(kib), target, kib <= TARGET_IDLE_RSS_KIB),
            Err(error) => Row::failed(metric, target, &error),
        });
    }

    fn tools_list(&mut self) {
        eprintln!("tools/list ...");
        let runs = self.repetitions.tools_list;
        let metric = format!("tools/list (median of {runs} after the first)");
        let target = format!("≤ {}", format_ms(TARGET_TOOLS_LIST));
        let result = (|| {
            let first = self.server.request("tools/list", &json!({}))?;
            let mut times = Vec::with_capacity(runs);
            for _ in 0..runs {
                times.push(self.server.request("tools/list", &json!({}))?.elapsed);
            }
            Ok::<_, anyhow::Error>((first, Samples::new(times)))
        })();
        let (first, samples) = match result {
            Ok(measured) => measured,
            Err(error) => {
                self.rows.push(Row::failed(metric, target, &error));
                self.restart_if_dead("tools/list");
                return;
            }
        };
        let listed = first.message["result"]["tools"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        let tools: BTreeMap<String, Value> = listed
            .iter()
            .filter_map(|tool| {
                let name = tool["name"].as_str()?.to_string();
                Some((name, tool["inputSchema"].clone()))
            })
            .collect();
        let per_tool = first.bytes as f64 / tools.len().max(1) as f64;
        self.rows.push(Row::checked(
            metric,
            format_ms(samples.median()),
            target,
            samples.median() <= TARGET_TOOLS_LIST,
        ));
        self.rows.push(Row::info(
            "tools/list, first call",
            format_ms(first.elapsed),
        ));
        self.rows.push(Row::info(
            "tools/list response size",
            format!("{} bytes, {} tools", first.bytes, tools.len()),
        ));
        self.rows.push(Row::checked(
            "tools/list bytes per tool (average)",
            format!("{per_tool:.0} bytes"),
            format!("≤ {TARGET_BYTES_PER_TOOL:.0} bytes"),
            per_tool <= TARGET_BYTES_PER_TOOL,
        ));
        self.notes.push(format!(
            "Tools listed ({}): {}.",
            tools.len(),
            tools.keys().cloned().collect::<Vec<_>>().join(", ")
        ));
        self.tools = Some(tools);
    }

    fn trivial_calls(&mut self) {
        let runs = self.repetitions.trivial;
        eprintln!("trivial calls ({runs} each) ...");
        let target = format!("≤ {}", format_ms(TARGET_TRIVIAL_CALL));
        let metric = format!("server_status {{}} p50 ({runs} sequential calls)");
        match self.time_tool("server_status", &json!({}), 50, runs) {
            Ok((samples, _)) => {
                self.rows.push(Row::checked(
                    metric,
                    format_ms(samples.median()),
                    target,
                    samples.median() <= TARGET_TRIVIAL_CALL,
                ));
                self.rows.push(Row::info(
                    "server_status {} p99",
                    format_ms(samples.percentile(99.0)),
                ));
            }
            Err(error) => self.fail(metric, target, &error, "server_status"),
        }
        let metric = format!("get_memory_info {{}} p50 / p99 ({runs} calls)");
        match self.time_tool("get_memory_info", &json!({}), 50, runs) {
            Ok((samples, _)) => self.rows.push(Row::info(
                metric,
                format!(
                    "{} / {}",
                    format_ms(samples.median()),
                    format_ms(samples.percentile(99.0))
                ),
            )),
            Err(error) => self.fail(metric, "—", &error, "get_memory_info"),
        }
    }

    fn search(&mut self, tree: &Tree) {
        let runs = self.repetitions.search;
        eprintln!("search ({runs} runs each) ...");
        let root = tree.root.to_string_lossy().into_owned();
        if let Err(error) = warm_page_cache(&tree.root) {
            self.notes
                .push(format!("Warning: warming the page cache failed: {error:#}"));
        }
        let ripgrep = ripgrep_check(tree);
        match &ripgrep {
            Ok(note) => self.notes.push(note.clone()),
            Err(error) => self.notes.push(format!("ripgrep: {error:#}.")),
        }

        let arguments = self.search_arguments(&root);
        let metric = format!(
            "search_files regex over {} files, {:.0} MB (median of {runs})",
            tree.files,
            tree.bytes as f64 / 1e6
        );
        let target = format!("≤ {TARGET_SEARCH_RATIO}× rg");
        let result = (|| {
            // One call to warm up, and to check what it finds.
            let structured = self.call_structured("search_files", &arguments)?;
            let mut skippy = Vec::with_capacity(runs);
            let mut rg = Vec::with_capacity(runs);
            for _ in 0..runs {
                skippy.push(self.server.call_tool("search_files", &arguments)?.elapsed);
                if ripgrep.is_ok() {
                    rg.push(time_ripgrep(&tree.root)?);
                }
            }
            Ok::<_, anyhow::Error>((structured, Samples::new(skippy), Samples::new(rg)))
        })();
        match result {
            Ok((structured, skippy, rg)) => {
                self.notes.push(format!(
                    "search_files arguments: `{arguments}`; its result: {}. The tree holds {} matching lines in {} files (case-insensitive).",
                    describe_result(&structured),
                    tree.matching_lines,
                    tree.matching_files
                ));
                if !rg.is_empty() {
                    let ratio = skippy.median().as_secs_f64() / rg.median().as_secs_f64();
                    self.rows.push(Row::checked(
                        metric,
                        format!("{} ({ratio:.2}× rg)", format_ms(skippy.median())),
                        target,
                        ratio <= TARGET_SEARCH_RATIO,
                    ));
                    self.rows.push(Row::info(
                        format!("rg -n -i --no-heading, same tree (median of {runs})"),
                        format_ms(rg.median()),
                    ));
                } else {
                    self.rows
                        .push(Row::info(metric, format_ms(skippy.median())));
                }
            }
            Err(error) => self.fail(metric, target, &error, "search_files"),
        }
        if let Err(error) = &ripgrep {
            self.rows
                .push(Row::info("rg on the same tree", format!("n/a ({error:#})")));
        }

        let arguments =
            json!({"path": root, "name_glob": data::TREE_NAME_GLOB, "max_results": 10000});
        let metric = format!(
            "search_files name_glob `{}` only (median of {runs})",
            data::TREE_NAME_GLOB
        );
        match self.time_tool("search_files", &arguments, 1, runs) {
            Ok((samples, structured)) => {
                self.notes.push(format!(
                    "Name-only search: `{arguments}`; its result: {}; the tree holds {} such files.",
                    describe_result(&structured),
                    tree.markdown_files
                ));
                self.rows
                    .push(Row::info(metric, format_ms(samples.median())));
            }
            Err(error) => self.fail(metric, "—", &error, "search_files"),
        }

        let target = format!("≤ {}", format_mib(TARGET_PEAK_RSS_KIB));
        let metric = "Peak RSS after the search benchmark (VmHWM)";
        self.rows.push(match self.server.status_kb("VmHWM") {
            Ok(kib) => Row::checked(metric, format_mib(kib), target, kib <= TARGET_PEAK_RSS_KIB),
            Err(error) => Row::failed(metric, target, &error),
        });
    }

    /// The content search arguments, with case-insensitivity spelled as this build's schema does.
    fn search_arguments(&self, root: &str) -> Value {
        let mut arguments = json!({"path": root, "query": data::TREE_QUERY, "max_results": 10000});
        let properties = self
            .tools
            .as_ref()
            .and_then(|tools| tools.get("search_files"))
            .and_then(|schema| schema["properties"].as_object());
        if let Some(properties) = properties {
            if properties.contains_key("case_sensitive") {
                arguments["case_sensitive"] = json!(false);
            } else if properties.contains_key("ignore_case") {
                arguments["ignore_case"] = json!(true);
            }
        }
        arguments
    }

    fn log_tail(&mut self, log: &Path) {
        let runs = self.repetitions.log;
        eprintln!("log tail reads ({runs} each) ...");
        let path = log.to_string_lossy().into_owned();
        let target = format!("≤ {}", format_ms(TARGET_TAIL_READ));
        for (tool, arguments, label) in [
            (
                "read_file",
                json!({"path": path, "offset": -100}),
                "read_file offset -100",
            ),
            (
                "tail_log",
                json!({"path": path, "lines": 100}),
                "tail_log lines 100",
            ),
        ] {
            let metric = format!("{label} on a 1 GiB log (median of {runs})");
            match self.time_tool(tool, &arguments, 2, runs) {
                Ok((samples, structured)) => {
                    self.rows.push(Row::checked(
                        metric,
                        format_ms(samples.median()),
                        target.clone(),
                        samples.median() <= TARGET_TAIL_READ,
                    ));
                    self.notes.push(format!(
                        "{tool} `{arguments}` returned {}.",
                        describe_result(&structured)
                    ));
                }
                Err(error) => self.fail(metric, target.clone(), &error, tool),
            }
        }
    }

    fn system_tools(&mut self) {
        let runs = self.repetitions.system;
        eprintln!("system tools ({runs} each) ...");
        let mut cases = vec![
            (
                "get_system_info",
                json!({}),
                "get_system_info {}".to_string(),
            ),
            (
                "list_processes",
                json!({}),
                "list_processes {} (default sample_ms)".to_string(),
            ),
        ];
        match self.minimum_of("list_processes", "sample_ms") {
            Ok(minimum) => cases.push((
                "list_processes",
                json!({"sample_ms": minimum}),
                format!("list_processes {{sample_ms: {minimum}}} (the minimum)"),
            )),
            Err(error) => self.rows.push(Row::failed(
                "list_processes with the minimum sample_ms",
                "—",
                &error,
            )),
        }
        for (tool, arguments, label) in cases {
            let metric = format!("{label} (median of {runs})");
            match self.time_tool(tool, &arguments, 1, runs) {
                Ok((samples, _)) => self
                    .rows
                    .push(Row::info(metric, format_ms(samples.median()))),
                Err(error) => self.fail(metric, "—", &error, tool),
            }
        }
    }

    fn final_memory(&mut self) {
        let rss = self.server.status_kb("VmRSS");
        let peak = self.server.status_kb("VmHWM");
        match (rss, peak) {
            (Ok(rss), Ok(peak)) => self.rows.push(Row::info(
                "RSS / peak RSS at the end of the session",
                format!("{} / {}", format_mib(rss), format_mib(peak)),
            )),
            (Err(error), _) | (_, Err(error)) => {
                self.rows
                    .push(Row::failed("RSS at the end of the session", "—", &error))
            }
        }
    }

    fn finish(mut self) -> (Vec<Row>, Vec<String>) {
        let audit = self.launch.audit_log();
        if let Err(error) = self.server.stop() {
            self.notes.push(format!("Warning: {error:#}."));
        }
        let audit_lines = fs::read_to_string(&audit).map(|text| text.lines().count());
        self.notes.push(match audit_lines {
            Ok(lines) => format!(
                "The audit log was on (the default) and received {lines} lines during the session."
            ),
            Err(_) => format!(
                "Warning: no audit log at {}: it may have been off or elsewhere.",
                audit.display()
            ),
        });
        let mut notes = method_notes();
        notes.append(&mut self.notes);
        (self.rows, notes)
    }

    /// Times `runs` calls after `warmup` unrecorded ones; returns the last structured result.
    fn time_tool(
        &mut self,
        tool: &str,
        arguments: &Value,
        warmup: usize,
        runs: usize,
    ) -> Result<(Samples, Value)> {
        let mut structured = self.call_structured(tool, arguments)?;
        for _ in 1..warmup {
            self.server.call_tool(tool, arguments)?;
        }
        let mut times = Vec::with_capacity(runs);
        for index in 0..runs {
            let mut response = self.server.call_tool(tool, arguments)?;
            times.push(response.elapsed);
            if index + 1 == runs {
                structured = response.message["result"]["structuredContent"].take();
            }
        }
        Ok((Samples::new(times), structured))
    }

    /// One call, after checking the tool and its parameter names against `tools/list`.
    fn call_structured(&mut self, tool: &str, arguments: &Value) -> Result<Value> {
        self.check_arguments(tool, arguments)?;
        let mut response = self.server.call_tool(tool, arguments)?;
        Ok(response.message["result"]["structuredContent"].take())
    }

    fn check_arguments(&self, tool: &str, arguments: &Value) -> Result<()> {
        let Some(tools) = &self.tools else {
            return Ok(());
        };
        let Some(schema) = tools.get(tool) else {
            bail!("`{tool}` is not in tools/list of this build");
        };
        let empty = serde_json::Map::new();
        let properties = schema["properties"].as_object().unwrap_or(&empty);
        for key in arguments.as_object().unwrap_or(&empty).keys() {
            if !properties.contains_key(key) {
                let known: Vec<&str> = properties.keys().map(String::as_str).collect();
                bail!(
                    "`{tool}` has no `{key}` parameter (it has: {})",
                    known.join(", ")
                );
            }
        }
        Ok(())
    }

    /// The `minimum` of an integer parameter in the tool's input schema, or 0 when it states none.
    fn minimum_of(&self, tool: &str, parameter: &str) -> Result<u64> {
        let tools = self.tools.as_ref().context("tools/list failed")?;
        let schema = tools
            .get(tool)
            .with_context(|| format!("`{tool}` is not in tools/list of this build"))?;
        let property = schema["properties"]
            .get(parameter)
            .with_context(|| format!("`{tool}` has no `{parameter}` parameter"))?;
        if let Some(minimum) = property["minimum"].as_u64() {
            return Ok(minimum);
        }
        // Compacted schemas drop `minimum`; an unsigned Rust integer still rejects negatives.
        if property["type"] == "integer" {
            return Ok(0);
        }
        bail!("`{tool}.{parameter}` is not an integer in the schema")
    }

    /// Records a failed measurement; restarts the server if the failure killed it.
    fn fail(
        &mut self,
        metric: impl Into<String>,
        target: impl Into<String>,
        error: &anyhow::Error,
        what: &str,
    ) {
        self.rows.push(Row::failed(metric, target, error));
        self.restart_if_dead(what);
    }

    fn restart_if_dead(&mut self, what: &str) {
        if self.server.is_running() {
            return;
        }
        self.notes.push(format!(
            "Warning: the server exited during the {what} measurement and was restarted; later memory numbers are for the new process."
        ));
        match Server::start(&self.launch) {
            Ok((server, _)) => {
                self.server = server;
                self.tools_list_silently();
            }
            Err(error) => self
                .notes
                .push(format!("Warning: restarting the server failed: {error:#}.")),
        }
    }

    /// After a restart the new process must see `tools/list` too (clients always call it first).
    fn tools_list_silently(&mut self) {
        let _ = self.server.request("tools/list", &json!({}));
    }
}

/// A one-line description of a tool result for the notes: its fields, and array lengths.
fn describe_result(structured: &Value) -> String {
    let Some(object) = structured.as_object() else {
        return "no structured content".to_string();
    };
    let fields: Vec<String> = object
        .iter()
        .map(|(key, value)| match value {
            Value::Array(items) => format!("{key}: {} items", items.len()),
            Value::String(text) if text.len() > 40 => {
                format!("{key}: {} lines of text", text.lines().count())
            }
            Value::Object(_) => format!("{key}: {{…}}"),
            other => format!("{key}: {other}"),
        })
        .collect();
    fields.join(", ")
}

/// Reads every file once so that neither contestant pays for the disk.
fn warm_page_cache(root: &Path) -> Result<()> {
    for dir in fs::read_dir(root)? {
        for file in fs::read_dir(dir?.path())? {
            fs::read(file?.path())?;
        }
    }
    Ok(())
}

fn ripgrep_command(root: &Path) -> Command {
    let mut command = Command::new("rg");
    command
        .args(["-n", "-i", "--no-heading", data::TREE_QUERY])
        .arg(root)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    command
}

/// Runs rg once and checks that it finds what the generator planted.
fn ripgrep_check(tree: &Tree) -> Result<String> {
    let output = match ripgrep_command(&tree.root).output() {
        Ok(output) => output,
        Err(error) if error.kind() == io::ErrorKind::NotFound => bail!("rg not installed"),
        Err(error) => return Err(error).context("running rg"),
    };
    let lines = String::from_utf8_lossy(&output.stdout).lines().count();
    if lines != tree.matching_lines {
        bail!(
            "rg found {lines} lines, expected {}: the comparison would be unfair",
            tree.matching_lines
        );
    }
    Ok(format!(
        "rg found all {lines} planted lines. Its output is drained through a pipe, as the server's is read by the client (timed from spawn to exit)."
    ))
}

/// Spawn → exit of one rg run, its output drained through a pipe.
fn time_ripgrep(root: &Path) -> Result<Duration> {
    let started = Instant::now();
    let mut child = ripgrep_command(root).spawn().context("spawning rg")?;
    if let Some(mut stdout) = child.stdout.take() {
        io::copy(&mut stdout, &mut io::sink())?;
    }
    child.wait()?;
    Ok(started.elapsed())
}

fn method_notes() -> Vec<String> {
    vec![
        "Every number is a round trip seen by the client: from writing the request line (serialised beforehand) to reading the whole response line, through buffered pipes. Responses are parsed after the clock stops.".to_string(),
        "The server runs with a clean environment: HOME, XDG_STATE_HOME and XDG_CONFIG_HOME point to a scratch directory (no user configuration), the working directory is the data directory (its default file root and log root), and the audit log is on, as by default.".to_string(),
        "Cold start: each run spawns a fresh process and stops the clock at the initialize response; one unrecorded spawn comes first so that the binary is in the page cache.".to_string(),
        "Percentiles are nearest-rank over sequential calls on one long-lived session; each timed series follows one or more unrecorded warm-up calls.".to_string(),
        "The log is a deterministic 1 GiB syslog-style file (sshd, CRON, UFW, systemd, postfix, php-fpm lines of 60–2,000 bytes); the tree holds 200 directories of 100 files of 2–8 KB of text, with the query planted in about 1.5% of them. Both are generated once into the data directory and reused.".to_string(),
        "The search comparison warms the page cache first, then alternates search_files and rg runs; rg uses all cores, with the same regex and -i.".to_string(),
        "list_processes waits sample_ms (default 200 ms) between two CPU readings, so that window dominates its default latency; sample_ms 0 reports lifetime averages without waiting.".to_string(),
        "Memory comes from /proc/PID/status: VmRSS 200 ms after initialize, VmHWM (the high-water mark) right after the search benchmark. MiB = 1024 × 1024 bytes.".to_string(),
        "The benchmark and the server share the machine's cores, and a small VM's timings drift with other load and with idle-CPU wake-ups: on the 2-core VM these numbers come from, sub-millisecond latencies and search times varied by up to 2–3× between consecutive full runs. Compare several runs before concluding that a target is missed.".to_string(),
    ]
}
