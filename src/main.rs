//! The `summit-slo` binary: everything happens in the library's `cli`
//! module, which maps outcomes to exit codes.

fn main() -> std::process::ExitCode {
    summit_slo::cli::main()
}
