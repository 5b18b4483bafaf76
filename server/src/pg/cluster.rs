//! A throwaway PostgreSQL server for tests and benchmarks: `initdb` into a fresh directory under
//! `/tmp`, listening on a unix socket in that directory only (no TCP port), without fsync. Run as
//! root, the server runs as the `postgres` user (PostgreSQL refuses to run as root).
//!
//! [`shared`] gives every test of a run one server: the one named by `HEARTH_TEST_PG` (a connection
//! string of a server `cargo xtask test` started), or else one started on first use and stopped when
//! the process that started it exits. Each test then takes a database of its own
//! ([`Server::new_database`]).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;

use anyhow::{Context as _, bail};

use super::Database;

/// The environment variable naming an already running server for the tests.
pub const ENV: &str = "HEARTH_TEST_PG";

/// A running PostgreSQL server that tests may create databases on.
#[derive(Debug)]
pub struct Server {
    /// Connection string of its `postgres` database (`host=… port=… user=postgres dbname=postgres`).
    admin: String,
}

impl Server {
    /// A connection string of database `name` on this server.
    pub fn url(&self, name: &str) -> String {
        format!(
            "{} dbname={name}",
            self.admin.trim_end_matches(" dbname=postgres")
        )
    }

    /// Create a fresh, empty database and return its connection string.
    pub fn new_database(&self) -> anyhow::Result<String> {
        let name = format!("t_{:016x}", rand::random::<u64>());
        let mut admin = Database::parse(&self.admin)?
            .connect()
            .with_context(|| format!("connect to {}", self.admin))?;
        admin.batch_execute(&format!("CREATE DATABASE {name}"))?;
        Ok(self.url(&name))
    }
}

/// The PostgreSQL server binaries (`initdb`, `pg_ctl`, `postgres`): the newest under
/// `/usr/lib/postgresql/<version>/bin` (Debian keeps them off PATH), else `pg_config --bindir`.
pub fn bin_dir() -> Option<PathBuf> {
    let mut found: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let v: u32 = e.file_name().to_str()?.parse().ok()?;
            let bin = e.path().join("bin");
            bin.join("initdb").exists().then_some((v, bin))
        })
        .collect();
    found.sort();
    if let Some((_, bin)) = found.pop() {
        return Some(bin);
    }
    let out = Command::new("pg_config").arg("--bindir").output().ok()?;
    let bin = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
    bin.join("initdb").exists().then_some(bin)
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

/// A command that runs as the server's owner (`postgres` when we are root).
fn as_owner(program: &Path, root: bool) -> Command {
    if root {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--"]).arg(program);
        c
    } else {
        Command::new(program)
    }
}

/// A server this process started; stopped (and its directory removed) when dropped.
#[derive(Debug)]
pub struct TempCluster {
    dir: PathBuf,
    bin: PathBuf,
    root: bool,
    server: Server,
}

impl TempCluster {
    /// Initialize and start a server in a new directory under `/tmp` (about a second), without fsync
    /// (for tests: a crash of the machine is not what they test).
    pub fn start() -> anyhow::Result<Self> {
        Self::launch(false)
    }

    /// The same, with fsync on, as a deployment runs it (for benchmarks of durable commits).
    pub fn start_durable() -> anyhow::Result<Self> {
        Self::launch(true)
    }

    fn launch(durable: bool) -> anyhow::Result<Self> {
        let bin = bin_dir().context(
            "PostgreSQL's server binaries are not installed (Debian: apt-get install postgresql; \
             `cargo xtask setup` installs it)",
        )?;
        let root = is_root();
        // Short: the socket path must stay under 107 bytes.
        let dir = PathBuf::from(format!("/tmp/hpg-{:08x}", rand::random::<u32>()));
        std::fs::create_dir(&dir).with_context(|| format!("create {}", dir.display()))?;
        if root {
            let ok = Command::new("chown")
                .arg("postgres:")
                .arg(&dir)
                .status()
                .is_ok_and(|s| s.success());
            if !ok {
                bail!("cannot give {} to the postgres user", dir.display());
            }
        }
        let data = dir.join("data");
        let out = as_owner(&bin.join("initdb"), root)
            .arg("-D")
            .arg(&data)
            .args([
                "-U",
                "postgres",
                "-A",
                "trust",
                "-E",
                "UTF8",
                "--locale=C.UTF-8",
                "--no-sync",
            ])
            .stdin(Stdio::null())
            .output()
            .context("run initdb")?;
        if !out.status.success() {
            bail!("initdb failed: {}", String::from_utf8_lossy(&out.stderr));
        }
        let opts = format!(
            "-c listen_addresses='' -k {} -p 5432 -c fsync={} -c max_connections=300",
            dir.display(),
            if durable { "on" } else { "off" }
        );
        let out = as_owner(&bin.join("pg_ctl"), root)
            .arg("-D")
            .arg(&data)
            .arg("-l")
            .arg(dir.join("pg.log"))
            .args(["-w", "-o", &opts, "start"])
            .stdin(Stdio::null())
            .output()
            .context("run pg_ctl start")?;
        if !out.status.success() {
            let log = std::fs::read_to_string(dir.join("pg.log")).unwrap_or_default();
            bail!(
                "PostgreSQL did not start: {}{log}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        Ok(TempCluster {
            server: Server {
                admin: format!("host={} port=5432 user=postgres dbname=postgres", dir.display()),
            },
            dir,
            bin,
            root,
        })
    }

    /// The running server.
    pub fn server(&self) -> &Server {
        &self.server
    }

    /// Stop the server when process `pid` exits (for a server kept for a whole test process).
    fn stop_with(&self, pid: u32) -> anyhow::Result<()> {
        let script = format!(
            "while kill -0 {pid} 2>/dev/null; do sleep 0.5; done; {} {} -D {} -m immediate stop >/dev/null 2>&1; rm -rf {}",
            if self.root { "runuser -u postgres --" } else { "" },
            self.bin.join("pg_ctl").display(),
            self.dir.join("data").display(),
            self.dir.display()
        );
        Command::new("sh")
            .args(["-c", &script])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .context("start the server's watchdog")?;
        Ok(())
    }
}

impl Drop for TempCluster {
    fn drop(&mut self) {
        let _ = as_owner(&self.bin.join("pg_ctl"), self.root)
            .arg("-D")
            .arg(self.dir.join("data"))
            .args(["-m", "immediate", "stop"])
            .stdin(Stdio::null())
            .output();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// The test run's server (see the module docs).
pub fn shared() -> anyhow::Result<&'static Server> {
    static SHARED: OnceLock<Result<Server, String>> = OnceLock::new();
    let got = SHARED.get_or_init(|| match std::env::var(ENV) {
        Ok(admin) if !admin.is_empty() => Ok(Server { admin }),
        _ => (|| {
            let cluster = TempCluster::start()?;
            cluster.stop_with(std::process::id())?;
            let server = Server {
                admin: cluster.server.admin.clone(),
            };
            // The watchdog stops it when this process exits.
            std::mem::forget(cluster);
            Ok::<_, anyhow::Error>(server)
        })()
        .map_err(|e| format!("{e:#}")),
    });
    got.as_ref().map_err(|e| anyhow::anyhow!("{e}"))
}
