//! Lab 8's cluster benchmark: committed writes per second of the three-node in-process openraft
//! cluster with 1, 4 and 16 concurrent clients, per engine (the mem engine and the files
//! engine on the real disk), beside the raw device's rate of small appends each followed by
//! `fdatasync` (a commit needs at least one flush on the leader and one on a follower).
//!
//! `cargo run --release -p grader --example lab8_cluster`; writes
//! `book/src/images/lab8-cluster.svg`. Indicative only: one run, on whatever else the machine
//! is doing.

#[path = "common.rs"]
mod common;

use std::io::Write as _;
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use lab8::raft::harness::runtime;
use lab8::raft::lab4::{Command, Op};
use lab8::raft::{Cluster, NodeId};
use lab8::{DiskDir, Engine, FilesEngine, FilesOptions, MemEngine};

const CLIENTS: [u64; 3] = [1, 4, 16];
/// Writes per configuration, shared among its clients.
const WRITES: u64 = 480;

fn engines(kind: &str, disks: &mut Vec<DiskDir>) -> Vec<(NodeId, Arc<dyn Engine>)> {
    (1..=3)
        .map(|id| {
            let engine: Arc<dyn Engine> = match kind {
                "mem" => Arc::new(MemEngine::new()),
                _ => {
                    let disk = DiskDir::temp().expect("a temporary directory");
                    let engine = FilesEngine::open(disk.vfs(), "node", FilesOptions::default()).expect("open files");
                    disks.push(disk);
                    Arc::new(engine)
                }
            };
            (id, engine)
        })
        .collect()
}

/// Committed writes per second of a fresh cluster on `kind` with `clients` concurrent clients.
fn run(kind: &str, clients: u64) -> f64 {
    let mut disks = Vec::new();
    runtime().block_on(async {
        let cluster = Cluster::start(engines(kind, &mut disks)).await.expect("the cluster starts");
        let leader = cluster.leader().await.expect("a leader");
        let raft = cluster.node(leader).expect("the leader runs").raft.clone();
        let per_client = WRITES / clients;
        let start = Instant::now();
        let mut tasks = Vec::new();
        for client in 0..clients {
            let raft = raft.clone();
            tasks.push(lab8::raft::tokio::spawn(async move {
                for i in 0..per_client {
                    let op = Op::Put { key: format!("c{client}-{}", i % 8), value: vec![7; 100] };
                    raft.client_write(Command::new(i, op)).await.expect("a committed write");
                }
            }));
        }
        for task in tasks {
            task.await.expect("a client task");
        }
        let rate = common::per_second(per_client * clients, start.elapsed());
        cluster.shutdown().await.expect("the cluster stops");
        rate
    })
}

/// Appends of 100 bytes, each followed by `fdatasync`, per second: the device's bound.
fn raw_fsync_rate(root: &Path) -> f64 {
    let path = root.join("raw");
    let mut file = std::fs::File::create(&path).expect("create the raw file");
    let count = 200;
    let start = Instant::now();
    for _ in 0..count {
        file.write_all(&[7; 100]).expect("append");
        file.sync_data().expect("fdatasync");
    }
    common::per_second(count, start.elapsed())
}

fn svg(rows: &[(String, Vec<f64>)]) -> String {
    let (width, height, left, bottom) = (560.0, 300.0, 60.0, 40.0);
    let max = rows.iter().flat_map(|(_, v)| v.iter().copied()).fold(1.0, f64::max) * 1.1;
    let colors = ["#4c78a8", "#f58518", "#54a24b"];
    let group = (width - left - 20.0) / CLIENTS.len() as f64;
    let bar = group / (rows.len() as f64 + 1.0);
    let mut out = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\" font-family=\"sans-serif\" font-size=\"12\">\n"
    );
    out += &format!("<text x=\"{left}\" y=\"16\">committed writes per second, three nodes</text>\n");
    let y = |v: f64| height - bottom - (v / max) * (height - bottom - 30.0);
    for (g, clients) in CLIENTS.iter().enumerate() {
        let x0 = left + g as f64 * group;
        out += &format!(
            "<text x=\"{}\" y=\"{}\">{clients} client{}</text>\n",
            x0 + bar / 2.0,
            height - 20.0,
            if *clients == 1 { "" } else { "s" }
        );
        for (r, (_, values)) in rows.iter().enumerate() {
            let v = values[g];
            let x = x0 + bar * (r as f64 + 0.5);
            out += &format!(
                "<rect x=\"{x:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{:.1}\" fill=\"{}\"/><text x=\"{x:.1}\" y=\"{:.1}\" font-size=\"12\">{v:.0}</text>\n",
                y(v),
                bar * 0.9,
                height - bottom - y(v),
                colors[r % colors.len()],
                y(v) - 3.0
            );
        }
    }
    for (r, (name, _)) in rows.iter().enumerate() {
        out += &format!(
            "<rect x=\"{}\" y=\"24\" width=\"10\" height=\"10\" fill=\"{}\"/><text x=\"{}\" y=\"33\">{name}</text>\n",
            left + 180.0 * r as f64,
            colors[r % colors.len()],
            left + 14.0 + 180.0 * r as f64
        );
    }
    out += &format!(
        "<line x1=\"{left}\" y1=\"{0}\" x2=\"{width}\" y2=\"{0}\" stroke=\"black\"/>\n</svg>\n",
        height - bottom
    );
    out
}

fn main() {
    let root = common::bench_root("lab8-cluster");
    println!("machine: {}", common::machine(&root));
    let raw = raw_fsync_rate(&root);
    println!("raw device: {raw:.0} appends+fdatasync per second");
    let mut rows = Vec::new();
    for kind in ["mem", "files (real disk)"] {
        let mut values = Vec::new();
        for clients in CLIENTS {
            let rate = run(kind, clients);
            println!(
                "{kind:>18} {clients:>2} clients: {rate:>8.0} committed writes/s ({:.2}x raw fdatasync)",
                rate / raw
            );
            values.push(rate);
        }
        rows.push((kind.to_string(), values));
    }
    let image = Path::new(env!("CARGO_MANIFEST_DIR")).join("../book/src/images/lab8-cluster.svg");
    std::fs::write(&image, svg(&rows)).expect("write the plot");
    println!("plot: {}", image.display());
    let _ = std::fs::remove_dir_all(&root);
}
