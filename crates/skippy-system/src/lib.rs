//! skippy-system
