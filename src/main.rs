//! The jkgate binary.
#![forbid(unsafe_code)]

/// See the `mimalloc` feature in Cargo.toml: malloc and free were a fifth of the work per
/// request under glibc's allocator.
#[cfg(feature = "mimalloc")]
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    jkgate::cli::main()
}
