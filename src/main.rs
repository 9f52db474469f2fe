//! The `imsform` binary: build the runtime, run the command line, turn the outcome into an exit
//! code. Nothing else lives here.

use std::process::ExitCode;

fn main() -> ExitCode {
    imsform::cli::main()
}
