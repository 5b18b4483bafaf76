//! The `hearth` command.

fn main() -> anyhow::Result<()> {
    anyhow::bail!("the hub is not built yet")
}
