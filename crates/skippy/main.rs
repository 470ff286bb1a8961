//! `skippy`: the command line. `skippy` / `skippy serve` runs the MCP server on stdio; `tools`,
//! `call` and `doctor` use the same registry and adapter without an MCP client.

mod adapter;
mod cli;
mod registry;
mod schema;
mod server;
mod stats;
mod transport;
mod tools {
    pub mod server_status;
}

use std::process::ExitCode;

fn main() -> ExitCode {
    cli::main()
}
