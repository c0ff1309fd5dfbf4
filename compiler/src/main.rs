fn main() -> std::process::ExitCode {
    hac::cli::main()
}
