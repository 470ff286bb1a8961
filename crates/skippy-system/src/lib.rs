//! Skippy's system tools: read-only views of this machine (overview, CPU, memory, disks,
//! processes, systemd units). One tool per file; every tool is in [`Toolset::System`] and
//! read-only.
//!
//! [`Toolset::System`]: skippy_core::Toolset::System

use skippy_core::Tool;

mod common;

pub mod check_service_status;
pub mod get_cpu_info;
pub mod get_disk_usage;
pub mod get_memory_info;
pub mod get_system_info;
pub mod list_processes;

pub use check_service_status::CheckServiceStatus;
pub use get_cpu_info::GetCpuInfo;
pub use get_disk_usage::GetDiskUsage;
pub use get_memory_info::GetMemoryInfo;
pub use get_system_info::GetSystemInfo;
pub use list_processes::ListProcesses;

/// The wire names of this crate's tools, in registry order.
pub const TOOL_NAMES: &[&str] = &[
    GetSystemInfo::NAME,
    GetCpuInfo::NAME,
    GetMemoryInfo::NAME,
    GetDiskUsage::NAME,
    ListProcesses::NAME,
    CheckServiceStatus::NAME,
];

#[cfg(test)]
mod schema_size {
    //! `tools/list` is read by the model in every session, so its size is a cost. This guard
    //! measures each tool roughly as the adapter sends it (schemas without `$schema`, titles,
    //! `"default": null` or integer formats) and fails when a doc comment or field makes it grow.

    use super::*;
    use schemars::generate::SchemaSettings;
    use serde_json::Value;

    /// Average budget of these six tools, in bytes (name, title, description and both schemas).
    const AVERAGE_BUDGET: usize = 960;

    fn compact(value: &mut Value) {
        match value {
            Value::Object(object) => {
                object.remove("$schema");
                object.remove("title");
                if object.get("default") == Some(&Value::Null) {
                    object.remove("default");
                }
                if matches!(object.get("format"), Some(Value::String(format))
                    if format.starts_with("uint") || format.starts_with("int") || format == "double")
                {
                    object.remove("format");
                }
                object.values_mut().for_each(compact);
            }
            Value::Array(items) => items.iter_mut().for_each(compact),
            _ => {}
        }
    }

    fn size<T: Tool>() -> (&'static str, usize) {
        let mut input = serde_json::to_value(
            SchemaSettings::draft2020_12()
                .into_generator()
                .into_root_schema_for::<T::Params>(),
        )
        .unwrap();
        let mut output = serde_json::to_value(
            SchemaSettings::draft2020_12()
                .for_serialize()
                .into_generator()
                .into_root_schema_for::<T::Output>(),
        )
        .unwrap();
        compact(&mut input);
        compact(&mut output);
        let total = T::NAME.len()
            + T::TITLE.len()
            + T::DESCRIPTION.len()
            + input.to_string().len()
            + output.to_string().len();
        (T::NAME, total)
    }

    #[test]
    fn tools_list_stays_within_the_byte_budget() {
        let sizes = [
            size::<GetSystemInfo>(),
            size::<GetCpuInfo>(),
            size::<GetMemoryInfo>(),
            size::<GetDiskUsage>(),
            size::<ListProcesses>(),
            size::<CheckServiceStatus>(),
        ];
        let names: Vec<&str> = sizes.iter().map(|(name, _)| *name).collect();
        assert_eq!(names, TOOL_NAMES);
        let average = sizes.iter().map(|(_, size)| size).sum::<usize>() / sizes.len();
        assert!(
            average <= AVERAGE_BUDGET,
            "average {average} bytes: {sizes:?}"
        );
        for description in [
            GetSystemInfo::DESCRIPTION,
            GetCpuInfo::DESCRIPTION,
            GetMemoryInfo::DESCRIPTION,
            GetDiskUsage::DESCRIPTION,
            ListProcesses::DESCRIPTION,
            CheckServiceStatus::DESCRIPTION,
        ] {
            assert!(description.len() <= 120, "{description}");
        }
    }
}
