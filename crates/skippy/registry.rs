//! THE list of tools. Adding a tool means adding one line here (and nowhere else); the order is the
//! order of `tools/list`. A test asserts the exact names, so every change here is reviewed.

use std::sync::Arc;

use skippy_remote::Hosts;

use crate::adapter::{Route, route};
use crate::tools::server_status::{ServerState, ServerStatus};

/// Every tool, in `tools/list` order. Host-aware tools share the one host pool.
pub fn routes(state: Arc<ServerState>, hosts: &Arc<Hosts>) -> Vec<Box<dyn Route>> {
    vec![
        // Files: confined to the file roots; writes only under write roots.
        route(skippy_files::ReadFile),
        route(skippy_files::WriteFile),
        route(skippy_files::EditFile),
        route(skippy_files::ListDirectory),
        route(skippy_files::SearchFiles),
        route(skippy_files::GetFileInfo),
        route(skippy_files::FindDuplicates),
        // System: read-only views of this machine or any configured host (`host`).
        route(skippy_system::GetSystemInfo {
            hosts: hosts.clone(),
        }),
        route(skippy_system::GetCpuInfo {
            hosts: hosts.clone(),
        }),
        route(skippy_system::GetMemoryInfo {
            hosts: hosts.clone(),
        }),
        route(skippy_system::GetDiskUsage {
            hosts: hosts.clone(),
        }),
        route(skippy_system::ListProcesses {
            hosts: hosts.clone(),
        }),
        route(skippy_system::CheckServiceStatus {
            hosts: hosts.clone(),
        }),
        // Logs: confined to the log allowlist of the local machine or of the host.
        route(skippy_logs::TailLog {
            hosts: hosts.clone(),
        }),
        route(skippy_logs::SearchLog {
            hosts: hosts.clone(),
        }),
        route(skippy_logs::SummarizeLog {
            hosts: hosts.clone(),
        }),
        // Remote: hosts over SSH (pooled, verified), commands under each host's exec policy, transfers.
        route(skippy_remote::ListHosts {
            hosts: hosts.clone(),
        }),
        route(skippy_remote::RunRemoteCommand {
            hosts: hosts.clone(),
        }),
        route(skippy_remote::RemoteStatus {
            hosts: hosts.clone(),
        }),
        route(skippy_remote::UploadFile {
            hosts: hosts.clone(),
        }),
        route(skippy_remote::DownloadFile {
            hosts: hosts.clone(),
        }),
        // Server: Skippy's own state.
        route(ServerStatus { state }),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    /// The exact tool list: a change here is an API change.
    const EXPECTED: &[&str] = &[
        "read_file",
        "write_file",
        "edit_file",
        "list_directory",
        "search_files",
        "get_file_info",
        "find_duplicates",
        "get_system_info",
        "get_cpu_info",
        "get_memory_info",
        "get_disk_usage",
        "list_processes",
        "check_service_status",
        "tail_log",
        "search_log",
        "summarize_log",
        "list_hosts",
        "run_remote_command",
        "remote_status",
        "upload_file",
        "download_file",
        "server_status",
    ];

    fn state() -> Arc<ServerState> {
        Arc::new(ServerState::new(Default::default(), Default::default()))
    }

    fn hosts() -> Arc<Hosts> {
        Arc::new(Hosts::from_host_configs(std::iter::empty()))
    }

    #[test]
    fn registry_lists_exactly_the_expected_tools_once_each() {
        let routes = routes(state(), &hosts());
        let names: Vec<&str> = routes.iter().map(|r| r.spec().name).collect();
        assert_eq!(names, EXPECTED);
        let unique: HashSet<&str> = names.iter().copied().collect();
        assert_eq!(
            unique.len(),
            names.len(),
            "duplicate tool names: rmcp would silently replace one"
        );
    }

    #[test]
    fn every_tool_has_object_schemas_and_consistent_annotations() {
        for route in routes(state(), &hosts()) {
            let spec = route.spec();
            assert_eq!(spec.input_schema["type"], "object", "{}", spec.name);
            assert_eq!(spec.output_schema["type"], "object", "{}", spec.name);
            assert!(!spec.description.is_empty(), "{}", spec.name);
            if spec.annotations.read_only {
                assert!(
                    !spec.annotations.destructive,
                    "{} is read-only but destructive",
                    spec.name
                );
            }
            let props = spec
                .input_schema
                .get("properties")
                .and_then(|p| p.as_object());
            for (field, schema) in props.into_iter().flatten() {
                assert!(
                    schema.get("description").is_some()
                        || schema.get("$ref").is_some()
                        || schema.get("allOf").is_some(),
                    "{}.{} has no description",
                    spec.name,
                    field
                );
            }
        }
    }
}
