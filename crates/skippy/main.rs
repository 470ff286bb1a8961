//! `skippy`: the command line. `skippy` / `skippy serve` runs the MCP server on stdio; `tools`,
//! `call` and `doctor` use the same registry and adapter without an MCP client.

mod adapter;
mod cli;
mod json_shape;
mod logging;
mod registry;
mod schema;
mod scrub;
mod server;
mod stats;
mod terminal;
mod transport;
mod tools {
    pub mod server_status;
}

use std::io::Write;
use std::process::ExitCode;

fn main() -> ExitCode {
    // Before anything else (threads, config, logging): secrets must not stay in this process's
    // environment, where the commands it runs could read them.
    if let Err(reason) = scrub::ensure_scrubbed() {
        let _ = writeln!(
            std::io::stderr(),
            "skippy: cannot start with a scrubbed environment: {reason}"
        );
        return ExitCode::from(2);
    }
    cli::main()
}
