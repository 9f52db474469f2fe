//! The `imsform` binary: parse the arguments, build the runtime, run, and turn the outcome into
//! an exit code. Nothing else lives here.

use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = match imsform::cli::parse(std::env::args_os()) {
        Ok(cli) => cli,
        Err(code) => return code,
    };
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("Error: cannot start the async runtime: {error}");
            return ExitCode::from(1);
        }
    };
    imsform::cli::exit_code(runtime.block_on(imsform::cli::run(cli)))
}
