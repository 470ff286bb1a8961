//! skippy-files
