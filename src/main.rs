//! The jkgate binary.
#![forbid(unsafe_code)]

fn main() -> std::process::ExitCode {
    jkgate::cli::main()
}
