//! Pairing and syncing: `init` (a local store, or paired with a hub by a one-time code), `sync`, and
//! `sync --watch` (a round whenever the hub announces a change); one [`sync_round`] drives the core's
//! sans-IO engine ([`hearth_core::sync`]) over [`super::http`], and its report is printed.

use std::io::IsTerminal;
use std::time::Duration;

use anyhow::bail;
use hearth_core::Store;
use hearth_core::sync::{Request, Step, Sync, SyncConfig, SyncReport};
use hearth_core::wire::{APP_VERSION, PairRequest};

use super::cli::{InitArgs, SyncArgs};
use super::{home, http, print_json};

fn host_name() -> String {
    std::env::var("HOSTNAME")
        .ok()
        .or_else(|| {
            std::fs::read_to_string("/etc/hostname")
                .ok()
                .map(|s| s.trim().to_owned())
        })
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "cli".into())
}

pub(super) fn init(args: InitArgs) -> anyhow::Result<()> {
    let dir = args.home.dir();
    let existed = home::store_path(&dir).exists();
    let mut s = home::open(&dir, true)?;
    if args.keep_history {
        s.kv_set(home::keys::KEEP_HISTORY, "1")?;
    }
    match (&args.hub, &args.code) {
        (Some(hub), Some(code)) => {
            if let Some((url, space, _)) = home::paired(&s)? {
                bail!(
                    "this store is already paired with space {space:?} at {url}; use another --home to pair again"
                );
            }
            let name = args.name.clone().unwrap_or_else(host_name);
            let paired = http::pair(
                hub,
                &PairRequest {
                    code: code.trim().to_owned(),
                    name: name.clone(),
                    app_version: APP_VERSION.into(),
                    schema_version: hearth_core::migrate::LATEST,
                    device: Some(s.device()),
                },
            )?;
            anyhow::ensure!(
                paired.device == s.device(),
                "the hub assigned another device id; update Hearth"
            );
            s.kv_set(home::keys::HUB, hub.trim_end_matches('/'))?;
            s.kv_set(home::keys::SPACE, &paired.space)?;
            s.kv_set(home::keys::TOKEN, &paired.token)?;
            s.kv_set(home::keys::NAME, &name)?;
            println!(
                "Paired {} as {name:?} with space {:?} at {hub}.",
                dir.display(),
                paired.space
            );
            let hub = http::Hub::new(hub, &paired.space, &paired.token)?;
            let report = sync_round(&mut s, &hub, SyncConfig::default())?;
            print_report(&report, false)
        }
        _ => {
            if existed {
                println!(
                    "A store already exists in {} (device {}).",
                    dir.display(),
                    s.device()
                );
            } else {
                println!(
                    "Created a local store in {} (device {}).",
                    dir.display(),
                    s.device()
                );
                println!("Pair it later with `hearth init --hub URL --code CODE`.");
            }
            Ok(())
        }
    }
}

fn sync_round(store: &mut Store, hub: &http::Hub, cfg: SyncConfig) -> anyhow::Result<SyncReport> {
    sync_round_telling(store, hub, cfg, |_| Ok(()))
}

/// A round that calls `stored` once, with the report so far, when what it pulled is stored and only
/// the ack is left to send (the ack tells the hub; it changes nothing here). `sync --watch` shows the
/// round then.
fn sync_round_telling(
    store: &mut Store,
    hub: &http::Hub,
    cfg: SyncConfig,
    mut stored: impl FnMut(&SyncReport) -> anyhow::Result<()>,
) -> anyhow::Result<SyncReport> {
    let now = || {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as u64)
    };
    // Asked moments ago (`sync --watch`): go straight to the push.
    let known = hub.known_info();
    let mut sync = Sync::knowing(
        cfg,
        store,
        known.as_ref().map(|(min, kinds)| (*min, kinds.as_ref())),
    );
    let bar = indicatif::ProgressBar::hidden();
    if std::io::stderr().is_terminal() {
        bar.set_draw_target(indicatif::ProgressDrawTarget::stderr());
        bar.set_style(
            indicatif::ProgressStyle::with_template("{msg} [{bar:30}] {pos}/{len} ops")
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        bar.set_message("syncing");
    }
    let start_cursor = store.cursor()?;
    let report = loop {
        let step = match sync.poll(store, now())? {
            Step::Send(req) => {
                if matches!(req, Request::Ack { .. }) {
                    let so_far = sync.report_now(store)?;
                    bar.suspend(|| stored(&so_far))?;
                }
                let reply = hub.send(&req);
                sync.handle(store, reply, now())?
            }
            other => Some(other),
        };
        let r = sync.report();
        if r.head > start_cursor {
            bar.set_length(r.head - start_cursor);
            bar.set_position((r.pulled + r.echoed) as u64);
        }
        match step {
            Some(Step::Sleep(ms)) => std::thread::sleep(Duration::from_millis(ms)),
            Some(Step::Done(report)) => break report,
            Some(Step::Send(_)) | None => {}
        }
    };
    bar.finish_and_clear();
    if report.problem.is_some() {
        hub.forget();
    }
    Ok(report)
}

fn print_report(r: &SyncReport, json: bool) -> anyhow::Result<()> {
    if json {
        print_json(r)?;
    } else {
        let mut line = format!("Sync: pushed {}, pulled {}", r.pushed, r.pulled);
        if r.restamped > 0 {
            line.push_str(&format!(
                ", re-stamped {} (this device's clock was off)",
                r.restamped
            ));
        }
        // The hub's head is known only once it answered.
        if r.head >= r.cursor && (r.problem.is_none() || r.head > 0) {
            line.push_str(&format!("; at seq {} of {}", r.cursor, r.head));
        }
        line.push_str(&format!("; {} unsent.", r.unsent));
        if r.epoch_changed {
            println!(
                "Sync: the space's data changed form (a whole-space migration): {} unsent change(s) carried \
                 over, {} set aside.",
                r.translated,
                r.quarantined.len()
            );
        }
        for (op, reason) in &r.quarantined {
            if r.epoch_changed && reason.starts_with(hearth_core::evolve::UNTRANSLATABLE) {
                println!("Sync: set aside change {op}: {reason}. See `hearth quarantine`.");
            } else {
                println!(
                    "Sync: set aside change {op}: the hub refuses it ({reason}). The rest synced; see `hearth quarantine`."
                );
            }
        }
        if let Some(rec) = &r.recovered {
            println!("Sync: {rec}.");
        }
        println!("{line}");
        if let Some(u) = &r.update_required {
            println!("Update required: {u}. Your changes are kept and will sync after the update.");
        }
        if r.held > 0 {
            println!(
                "Waiting for the hub: {} change(s) ({}) are of a kind the hub does not take yet; it runs \
                 an older release. They are kept here and sync once the hub is updated.",
                r.held,
                r.held_kinds.join(", ")
            );
        }
    }
    match &r.problem {
        Some(p) => bail!("{p}"),
        None => Ok(()),
    }
}

/// After a sync: learn the names of devices that made open conflicts (so the list can say "phone"
/// rather than an id), and point at `hearth conflicts` when there are any.
fn note_conflicts(s: &Store, url: &str, space: &str, token: &str, json: bool) -> anyhow::Result<()> {
    let open = hearth_core::conflicts::open(s.conn())?;
    if open
        .iter()
        .any(|c| c.device_name.is_none() || c.kept_device_name.is_none())
    {
        match http::peers(url, space, token, Duration::from_secs(3)) {
            Ok(view) => hearth_core::conflicts::remember_names(s, &view.peers)?,
            Err(e) => tracing::debug!(error = %e, "device names not refreshed"),
        }
    }
    if !open.is_empty() && !json {
        println!(
            "{} field(s) were changed on two devices at once: `hearth conflicts` shows both values.",
            open.len()
        );
    }
    Ok(())
}

pub(super) fn sync(args: SyncArgs) -> anyhow::Result<()> {
    let mut s = args.home.open()?;
    let Some((url, space, token)) = home::paired(&s)? else {
        bail!("this store is not paired with a hub; run `hearth init --hub URL --code CODE`");
    };
    let hub = http::Hub::new(&url, &space, &token)?;
    if !args.watch {
        let report = sync_round(&mut s, &hub, SyncConfig::default())?;
        print_report(&report, args.json.json)?;
        return note_conflicts(&s, &url, &space, &token, args.json.json);
    }
    // Watch: a round now, then one whenever the hub announces a head beyond our cursor (a round that
    // skips asking for the hub's info when it did in the last 30 s, and takes ops the event carries
    // instead of pulling them); reconnect with backoff when the stream drops; never give up (Ctrl-C
    // stops).
    let cfg = SyncConfig {
        max_retries: None,
        ..SyncConfig::default()
    };
    let json = args.json.json;
    // Each round is shown as soon as what it pulled is stored, before its ack; again at its end only
    // if that was not the case (nothing to ack) or it ended with a problem.
    let watch_round = |s: &mut Store| -> anyhow::Result<()> {
        let mut shown = false;
        let report = sync_round_telling(s, &hub, cfg.clone(), |r| {
            shown = true;
            print_report(r, json)
        })?;
        if !shown || report.problem.is_some() {
            print_report(&report, json)?;
        }
        Ok(())
    };
    let mut backoff = Duration::from_millis(500);
    loop {
        watch_round(&mut s)?;
        match hub.events() {
            Ok(events) => {
                backoff = Duration::from_millis(500);
                for event in events {
                    let event = event?;
                    if event.head > s.cursor()? || s.outbox_len()? > 0 {
                        // Ops the event carries are applied without a pull.
                        hub.hold(event);
                        watch_round(&mut s)?;
                    }
                }
                eprintln!("The live connection closed; reconnecting.");
            }
            Err(e) => {
                eprintln!(
                    "Live updates unavailable ({e}); retrying in {} s.",
                    backoff.as_secs_f32()
                );
                std::thread::sleep(backoff);
                backoff = (backoff * 2).min(Duration::from_secs(30));
            }
        }
    }
}
