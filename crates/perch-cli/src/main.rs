//! The `perch-cli` binary: everything is in the library ([`perch_cli::main`]).

fn main() -> std::process::ExitCode {
    perch_cli::main()
}
