//! # hearth-core
//!
//! The engine every Hearth node runs: the hub, the command line and the browser (compiled to WASM).
//!
//! * A device keeps the whole space in one SQLite database ([`Store`]).
//! * Every change is an [`Op`] stamped with a hybrid logical clock ([`hlc`]) and its origin device.
//! * **One apply path** ([`apply`]) merges ops into materialized tables. Any order and any number of
//!   repeats of the same ops give the same state: fields are last-writer-wins registers ordered by op id,
//!   links are an observed-remove set.
//! * Ops this build does not understand are stored, not applied, and replayed after an upgrade.
//! * The read side ([`query`]) derives the project tree, counts, agenda, search and a canonical
//!   [`export`](query::export) that is byte-identical on converged replicas.
//!
//! core does no I/O beyond its SQLite connection: time and randomness come in through [`Env`], and the
//! network is the caller's.
//!
//! Where things are: [`id`] (ids, a leaf), [`hlc`], [`op`], [`apply`] (the only writer of state),
//! [`store`] (the `Store`; its op log in `store/log.rs`; the hub's side of a space, [`HubLog`], in
//! `store/hub.rs`), [`migrate`] (one runner for every SQLite file), [`edit`] (the verbs the CLI and the
//! browser share), [`query`], [`sync`] (the sans-IO engine and the protocol's encoding, described in the
//! repository's `PROTOCOL.md`), [`wire`].
//!
//! ```
//! use std::sync::Arc;
//! use hearth_core::{NewOp, Options, Store, SystemEnv, query};
//!
//! let env = Arc::new(SystemEnv);
//! let mut laptop = Store::open_in_memory(env.clone(), Options::default()).unwrap();
//! let mut phone = Store::open_in_memory(env, Options::default()).unwrap();
//!
//! // The laptop makes a project with a task in it.
//! let (home, task) = (laptop.new_node_id(), laptop.new_node_id());
//! let mut ops = laptop.commit(vec![
//!     NewOp::create(&home, "project", [("title".into(), "Home".into())].into_iter().collect()),
//!     NewOp::create(&task, "task", [("title".into(), "Fix the tap".into())].into_iter().collect()),
//!     NewOp::link_add(&task, &home, "parent"),
//! ]).unwrap();
//!
//! // The phone receives them in a different order, one of them twice: same state.
//! ops.reverse();
//! ops.push(ops[0].clone());
//! phone.apply(&ops).unwrap();
//! assert_eq!(laptop.export().unwrap(), phone.export().unwrap());
//!
//! let tree = query::tree(phone.conn()).unwrap();
//! assert_eq!((tree[0].title.as_str(), tree[0].open), ("Home", 1));
//! ```

pub mod apply;
#[cfg(feature = "bench")]
pub mod bench;
pub mod conflicts;
#[cfg(feature = "conformance")]
pub mod conformance;
pub mod dates;
pub mod edit;
pub mod error;
pub mod evolve;
pub mod hlc;
pub mod id;
pub mod migrate;
pub mod op;
pub mod query;
pub mod snapshot;
pub mod store;
pub mod sync;
pub mod wire;

pub use apply::{Apply, Kinds};
pub use edit::{Edited, NewTask};
pub use error::{Error, Result};
#[cfg(not(target_arch = "wasm32"))]
pub use hlc::SystemEnv;
pub use hlc::{Clock, DeviceId, Env, ManualEnv, Timestamp};
pub use op::{Body, NewOp, Op, OpId, SeqOp, kinds};
pub use store::{AppendOutcome, ApplyReport, HubLog, LogRead, Options, Role, SqliteHubLog, Store};
