//! What the labs' benchmarks share: where they write, how they count, and the line that says
//! which machine the numbers came from.

use std::path::{Path, PathBuf};
use std::time::Duration;

/// A fresh directory for one benchmark under `BENCH_DIR` (default: the system's temporary
/// directory), named after the benchmark and the process.
pub fn bench_root(name: &str) -> PathBuf {
    let base = std::env::var_os("BENCH_DIR").map(PathBuf::from).unwrap_or_else(std::env::temp_dir);
    let root = base.join(format!("{name}-{}", std::process::id()));
    std::fs::create_dir_all(&root).expect("create the benchmark root");
    root
}

/// An empty directory `root/name`.
#[allow(dead_code)] // not every benchmark needs one
pub fn fresh_dir(root: &Path, name: &str) -> PathBuf {
    let dir = root.join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create the benchmark directory");
    dir
}

/// Operations per second.
#[allow(dead_code)] // not every benchmark counts operations
pub fn per_second(count: u64, elapsed: Duration) -> f64 {
    count as f64 / elapsed.as_secs_f64()
}

/// The CPU, the number of cores, and the filesystem `root` is on: the context a ratio needs.
pub fn machine(root: &Path) -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find(|l| l.starts_with("model name"))
                .map(|l| l.split(':').nth(1).unwrap_or("").trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let mounts = std::fs::read_to_string("/proc/mounts").unwrap_or_default();
    let root = std::fs::canonicalize(root).unwrap_or_else(|_| root.to_path_buf());
    let fs_type = mounts
        .lines()
        .filter_map(|line| {
            let mut parts = line.split_whitespace();
            let (_, mount, kind) = (parts.next()?, parts.next()?, parts.next()?);
            root.starts_with(mount).then(|| (mount.len(), kind.to_string()))
        })
        .max()
        .map_or_else(|| "unknown".into(), |(_, kind)| kind);
    format!("{cpu}, {cores} cores, {fs_type} at {}", root.display())
}
