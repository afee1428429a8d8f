//! The jkgate binary.
#![forbid(unsafe_code)]

/// The `mimalloc` feature (off by default; Cargo.toml says why): fewer instructions per
/// request, more memory held.
#[cfg(feature = "mimalloc")]
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    jkgate::cli::main()
}
