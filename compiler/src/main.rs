// The evaluator allocates and frees many small values (thunks, environments, set
// entries); mimalloc does that markedly faster than the system allocator
// (docs/performance.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    hac::cli::main()
}
