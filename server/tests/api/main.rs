//! Every endpoint and every error status of the hub, over real HTTP, with the bodies checked. One module
//! per group of routes, as in `server/src/routes/` (plus pairing and auth), all in one test binary.
#![allow(clippy::unwrap_used)]

#[path = "../common/mod.rs"]
mod common;

mod admin;
mod auth;
mod compact;
mod events;
mod hub;
mod pair;
mod security;
mod sync;
mod web;
