//! `load soak-proxy`: a TCP proxy in front of PostgreSQL that cuts on a
//! signal. SIGUSR1 drops every open connection and, for `--cut-seconds`,
//! holds new ones without an answer (`blackhole`, as a lost network does)
//! or resets them (`refuse`); SIGUSR2 ends a cut early. The server's
//! `DATABASE_URL` points here, so the cut is a real outage to it.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use tokio::net::{TcpListener, TcpStream};
use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::watch;

/// What a cut does to new connections.
#[derive(Clone, Copy, clap::ValueEnum)]
pub enum Mode {
    /// Accept them and never answer, until the cut ends.
    Blackhole,
    /// Close them at once.
    Refuse,
}

/// Options of the proxy.
#[derive(clap::Args)]
pub struct Args {
    /// Where to listen.
    #[arg(long)]
    listen: SocketAddr,
    /// PostgreSQL.
    #[arg(long, default_value = "127.0.0.1:5432")]
    upstream: SocketAddr,
    /// Seconds a cut lasts (0: until SIGUSR2).
    #[arg(long, default_value_t = 60)]
    cut_seconds: u64,
    /// What a cut does to new connections.
    #[arg(long, value_enum, default_value = "blackhole")]
    mode: Mode,
    /// Connections held at once, at most; past it new ones are closed.
    #[arg(long, default_value_t = 256)]
    max_connections: usize,
}

fn stamp() -> String {
    shared::protocol::wire_time(crate::now_ms())
}

/// Waits until `cut` reads `wanted`.
async fn until(cut: &mut watch::Receiver<bool>, wanted: bool) {
    let _ = cut.wait_for(|c| *c == wanted).await;
}

async fn forward(mut client: TcpStream, upstream: SocketAddr, mut cut: watch::Receiver<bool>) {
    let connect = tokio::time::timeout(Duration::from_secs(5), TcpStream::connect(upstream));
    let Ok(Ok(mut server)) = connect.await else {
        return;
    };
    let _ = client.set_nodelay(true);
    let _ = server.set_nodelay(true);
    tokio::select! {
        _ = tokio::io::copy_bidirectional(&mut client, &mut server) => {}
        () = until(&mut cut, true) => {}
    }
}

/// Runs the proxy until SIGTERM or SIGINT.
pub async fn run(args: Args) -> anyhow::Result<()> {
    let listener = TcpListener::bind(args.listen).await?;
    let (cut_tx, cut_rx) = watch::channel(false);
    let cut_tx = Arc::new(cut_tx);
    let open = Arc::new(AtomicUsize::new(0));
    let mut usr1 = signal(SignalKind::user_defined1())?;
    let mut usr2 = signal(SignalKind::user_defined2())?;
    let mut term = signal(SignalKind::terminate())?;
    let mut int = signal(SignalKind::interrupt())?;
    // The number of the newest cut: a timer ends only its own cut.
    let cuts = Arc::new(std::sync::atomic::AtomicU64::new(0));
    println!(
        "soak-proxy listening on {} -> {}",
        args.listen, args.upstream
    );
    loop {
        tokio::select! {
            _ = term.recv() => return Ok(()),
            _ = int.recv() => return Ok(()),
            _ = usr1.recv() => {
                let this = cuts.fetch_add(1, Ordering::SeqCst) + 1;
                let _ = cut_tx.send(true);
                eprintln!("{} soak-proxy: cut {this} begins", stamp());
                if args.cut_seconds > 0 {
                    let (cut_tx, cuts, seconds) = (cut_tx.clone(), cuts.clone(), args.cut_seconds);
                    tokio::spawn(async move {
                        tokio::time::sleep(Duration::from_secs(seconds)).await;
                        if cuts.load(Ordering::SeqCst) == this
                            && cut_tx.send_if_modified(|c| std::mem::replace(c, false))
                        {
                            eprintln!("{} soak-proxy: cut {this} ends", stamp());
                        }
                    });
                }
            }
            _ = usr2.recv() => {
                if cut_tx.send_if_modified(|c| std::mem::replace(c, false)) {
                    eprintln!("{} soak-proxy: cut ended by SIGUSR2", stamp());
                }
            }
            accepted = listener.accept() => {
                let Ok((client, _)) = accepted else { continue };
                if open.load(Ordering::SeqCst) >= args.max_connections {
                    continue;
                }
                let cutting = *cut_rx.borrow();
                let (mut cut, open, upstream, mode) = (cut_rx.clone(), open.clone(), args.upstream, args.mode);
                open.fetch_add(1, Ordering::SeqCst);
                tokio::spawn(async move {
                    match (cutting, mode) {
                        (false, _) => forward(client, upstream, cut).await,
                        (true, Mode::Blackhole) => {
                            until(&mut cut, false).await;
                            drop(client);
                        }
                        (true, Mode::Refuse) => drop(client),
                    }
                    open.fetch_sub(1, Ordering::SeqCst);
                });
            }
        }
    }
}
