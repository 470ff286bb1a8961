//! skippy-logs
