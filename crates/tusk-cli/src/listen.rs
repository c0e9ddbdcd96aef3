//! `tusk listen CHANNEL...`: notifications as they arrive, one per line
//! (JSON lines with `--json`), through tusk-listen's listener: one
//! dedicated connection, reconnected with backoff when it dies, with a
//! `resync` line saying notifications may have been missed meanwhile.

use std::io::Write;

use clap::Args;
use serde::Serialize;
use std::future::Future;
use std::task::Poll;

use tusk_listen::{Event, Listener, Subscription};

use crate::error::{write_err, Error};
use crate::ConnArgs;

/// `tusk listen`.
#[derive(Debug, Clone, Args)]
pub struct ListenArgs {
    /// Channels to LISTEN to. A dotted name is a tusk-listen topic whose
    /// first segment is the channel (`orders.*` receives `orders.created`
    /// published with `tusk_listen::publish`); a plain name receives every
    /// `NOTIFY name, ..`.
    #[arg(required = true, value_name = "CHANNEL")]
    pub channels: Vec<String>,
    /// Print one JSON object per line: {"channel", "topic", "payload",
    /// "process_id"}, and {"event": "resync" | "dropped", ..} for gaps
    #[arg(long)]
    pub json: bool,
    /// Exit after this many notifications
    #[arg(long, value_name = "N")]
    pub count: Option<u64>,
    /// Where to connect.
    #[command(flatten)]
    pub conn: ConnArgs,
}

/// One line of `--json` output.
#[derive(Serialize)]
#[serde(untagged)]
enum Line<'a> {
    Notify {
        channel: &'a str,
        topic: &'a str,
        payload: &'a str,
        process_id: i32,
    },
    Gap {
        event: &'static str,
        #[serde(skip_serializing_if = "Option::is_none")]
        generation: Option<u64>,
        #[serde(skip_serializing_if = "Option::is_none")]
        count: Option<u64>,
    },
}

/// Listens until `--count` notifications were printed, or Ctrl-C.
pub(crate) async fn run(
    url: &str,
    args: &ListenArgs,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<(), Error> {
    let listener = Listener::connect(url).await?;
    let mut subscriptions = Vec::new();
    for channel in &args.channels {
        subscriptions.push(listener.listen(channel).await?);
    }
    writeln!(err, "tusk: listening on {}", args.channels.join(", ")).map_err(write_err)?;
    err.flush().map_err(write_err)?;
    let mut printed = 0u64;
    let mut last_resync = None;
    let interrupted = tokio::signal::ctrl_c();
    tokio::pin!(interrupted);
    'listening: while args.count.is_none_or(|n| printed < n) {
        let first = tokio::select! {
            e = next_any(&mut subscriptions) => e,
            _ = &mut interrupted => break,
        };
        let Some(first) = first else { break };
        // Each subscription's queue is in the server's order, but not
        // across queues: take what every queue holds, until a pass finds
        // none (a notification read before one taken is queued by then),
        // and print them in the order the listener read them.
        let mut batch = vec![first];
        loop {
            let before = batch.len();
            for sub in &mut subscriptions {
                while let Some(e) = sub.try_recv() {
                    batch.push(e);
                }
            }
            if batch.len() == before {
                break;
            }
        }
        batch.sort_by_key(|e| match e {
            Event::Notify(m) => (1, m.seq),
            _ => (0, 0),
        });
        for event in batch {
            if args.count.is_some_and(|n| printed >= n) {
                break 'listening;
            }
            if let Event::Resync { generation } = event {
                // Every subscription gets one: say it once.
                if last_resync == Some(generation) {
                    continue;
                }
                last_resync = Some(generation);
            }
            if print(&event, args.json, out)? {
                printed += 1;
            }
        }
        out.flush().map_err(write_err)?;
    }
    drop(subscriptions);
    listener.close().await;
    Ok(())
}

/// The next event of any subscription; `None` once all are closed.
async fn next_any(subscriptions: &mut [Subscription]) -> Option<Event> {
    std::future::poll_fn(|cx| {
        let mut open = false;
        for sub in subscriptions.iter_mut() {
            let next = std::pin::pin!(sub.recv());
            match next.poll(cx) {
                Poll::Ready(Some(e)) => return Poll::Ready(Some(e)),
                Poll::Ready(None) => {}
                Poll::Pending => open = true,
            }
        }
        if open {
            Poll::Pending
        } else {
            Poll::Ready(None)
        }
    })
    .await
}

/// Prints one event; true for a notification (what `--count` counts).
fn print(event: &Event, json: bool, out: &mut dyn Write) -> Result<bool, Error> {
    let (line, notify) = match event {
        Event::Notify(m) => (
            Line::Notify {
                channel: &m.channel,
                topic: &m.topic,
                payload: &m.payload,
                process_id: m.process_id,
            },
            true,
        ),
        Event::Resync { generation } => (
            Line::Gap {
                event: "resync",
                generation: Some(*generation),
                count: None,
            },
            false,
        ),
        Event::Dropped { count } => (
            Line::Gap {
                event: "dropped",
                generation: None,
                count: Some(*count),
            },
            false,
        ),
        _ => return Ok(false),
    };
    if json {
        let text = serde_json::to_string(&line)
            .map_err(|e| Error::Convert(format!("writing JSON: {e}")))?;
        writeln!(out, "{text}").map_err(write_err)?;
    } else {
        match line {
            Line::Notify {
                channel,
                topic,
                payload,
                process_id,
            } => {
                let name = if topic == channel { channel } else { topic };
                writeln!(out, "{name} (pid {process_id}): {payload}").map_err(write_err)?;
            }
            Line::Gap {
                generation: Some(g),
                ..
            } => writeln!(
                out,
                "-- reconnected (generation {g}): notifications sent meanwhile were missed"
            )
            .map_err(write_err)?,
            Line::Gap { count, .. } => writeln!(
                out,
                "-- {} notifications dropped (the output was too slow)",
                count.unwrap_or(0)
            )
            .map_err(write_err)?,
        }
    }
    Ok(notify)
}
