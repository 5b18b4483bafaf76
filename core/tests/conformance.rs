//! The store conformance suite against the native store: SQLite files in a temporary directory.

use std::sync::Arc;

use hearth_core::conformance::Backend;
use hearth_core::{Env, Options, Store};

struct NativeFiles(tempfile::TempDir);

impl Backend for NativeFiles {
    fn open(&self, name: &str, env: Arc<dyn Env>, opts: Options) -> hearth_core::Result<Store> {
        Store::open_path(self.0.path().join(format!("{name}.sqlite")), env, opts)
    }
}

fn backend() -> NativeFiles {
    NativeFiles(tempfile::tempdir().expect("temp dir"))
}

hearth_core::store_conformance_tests!(backend());
