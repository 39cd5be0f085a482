pub fn run(_: SimulateArgs) -> anyhow::Result<std::process::ExitCode> { anyhow::bail!("later") }
#[derive(Debug, clap::Args)] pub struct SimulateArgs {}
