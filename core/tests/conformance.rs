//! The store conformance suite against the native store, and the hub-log suite against the SQLite hub
//! log: SQLite files in a temporary directory.

use std::sync::Arc;

use hearth_core::conformance::{Backend, HubLogBackend};
use hearth_core::store::{HubLog, HubOptions, SqliteHubLog};
use hearth_core::{Env, Options, Store};

struct NativeFiles(tempfile::TempDir);

impl Backend for NativeFiles {
    fn open(&self, name: &str, env: Arc<dyn Env>, opts: Options) -> hearth_core::Result<Store> {
        Store::open_path(self.0.path().join(format!("{name}.sqlite")), env, opts)
    }
}

impl HubLogBackend for NativeFiles {
    fn open_log(&self, name: &str, env: Arc<dyn Env>) -> hearth_core::Result<Box<dyn HubLog>> {
        let path = self.0.path().join(format!("{name}.hub.sqlite"));
        Ok(Box::new(SqliteHubLog::open(path, env, HubOptions::default())?))
    }
}

fn backend() -> NativeFiles {
    NativeFiles(tempfile::tempdir().expect("temp dir"))
}

hearth_core::store_conformance_tests!(backend());

mod hub_log {
    use super::backend;
    hearth_core::hub_log_conformance_tests!(backend());
}
