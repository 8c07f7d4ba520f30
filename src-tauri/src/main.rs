//! The `perch` desktop binary: everything is in the library so tests can drive it.
#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

fn main() {
    perch_app::run();
}
