//! Where the student's code runs: an unprivileged user, resource limits, no survivors.
//!
//! Two modes, chosen by who runs the grader:
//!
//! - **isolated** (the grader runs as root, as in a Gradescope or CI container): each test
//!   process runs as an unprivileged user of its own (one uid per worker, never a real
//!   account), with no supplementary groups, in a private temporary directory (`HOME` and
//!   `TMPDIR`) that is removed afterwards. That user can write neither the course, nor
//!   `CARGO_HOME`, nor the generated workspace, nor any build directory: they belong to root.
//!   After each test every process of that uid is killed (`kill(-1)` as that user), so
//!   `setsid` and double-forked children die too, and `RLIMIT_NPROC` bounds a fork bomb.
//! - **same user** (a developer's machine): the tests run as the grader's own user. Each grade
//!   still builds in its own target directory and cargo runs from `/` (so no planted
//!   `.cargo/config.toml` is read), leftover processes are found as orphans re-parented to the
//!   grader (`PR_SET_CHILD_SUBREAPER`) and killed, and the limits below hold; but a test that
//!   breaks through the source policy could write what the grader's user can write. Grade
//!   untrusted code in isolated mode.
//!
//! In isolated mode where the grader may create namespaces (see [`namespaces_available`]),
//! each test also runs without network and with private, empty `/tmp`, `/var/tmp` and
//! `/dev/shm`, so it cannot leave a file where anything else will read it.
//!
//! In both modes: `RLIMIT_AS` (memory), `RLIMIT_FSIZE`, `RLIMIT_NOFILE`, `RLIMIT_CORE` = 0, a
//! process group per child (killed whole on timeout), and SIGINT/SIGTERM to the grader kill
//! every child group before it exits, which also frees cargo's lock.

use std::collections::BTreeSet;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::Command;
use std::sync::Mutex;
use std::sync::atomic::{AtomicI32, Ordering};

/// The first uid used for test processes in isolated mode (each test leases one after it).
pub const FIRST_SANDBOX_UID: u32 = 61_000;

/// Limits on every test process.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Address space, bytes.
    pub memory_bytes: u64,
    /// Largest file a test may write, bytes.
    pub file_bytes: u64,
    /// Processes and threads of the sandbox user (isolated mode only: the limit is per user).
    pub processes: u64,
    pub open_files: u64,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits { memory_bytes: 8 << 30, file_bytes: 1 << 30, processes: 1024, open_files: 4096 }
    }
}

/// How test processes are confined.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// As root: each test runs as a uid of its own ([`UidLease`]).
    Isolated,
    /// As the grader's own user.
    SameUser,
}

impl Mode {
    /// Isolated when the grader runs as root.
    pub fn detect() -> Mode {
        // SAFETY: geteuid has no preconditions and cannot fail.
        if unsafe { libc::geteuid() } == 0 { Mode::Isolated } else { Mode::SameUser }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Isolated => "isolated (tests run as an unprivileged user)",
            Mode::SameUser => "same user (best effort: run the grader as root in a container to isolate)",
        }
    }
}

/// Confinement of one test process.
#[derive(Clone, Debug)]
pub struct Confinement {
    pub limits: Limits,
    /// The user and group to run as (isolated mode).
    pub uid: Option<u32>,
    /// Descriptors to hand down as 3, 4, … (the harness's secret and result files).
    pub inherited_fds: Vec<i32>,
    /// Run in new mount and network namespaces: no network, and private, empty `/tmp`,
    /// `/var/tmp` and `/dev/shm` (the only places an unprivileged user can write outside its
    /// own directory). Only where [`namespaces_available`] says so.
    pub namespaces: bool,
    /// Paths that must stay visible (the build and the scratch directory): a private `/tmp` is
    /// not mounted over one of them.
    pub keep_visible: Vec<std::path::PathBuf>,
}

/// Whether this process may create mount and network namespaces (root with `CAP_SYS_ADMIN`:
/// a privileged container, a CI runner, a virtual machine; not a default Docker container).
/// Probed once by starting `true` in them.
pub fn namespaces_available() -> bool {
    static AVAILABLE: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *AVAILABLE.get_or_init(|| {
        if Mode::detect() != Mode::Isolated {
            return false;
        }
        let mut command = Command::new("true");
        confine(
            &mut command,
            &Confinement {
                limits: Limits::default(),
                uid: None,
                inherited_fds: Vec::new(),
                namespaces: true,
                keep_visible: Vec::new(),
            },
        );
        command.status().is_ok_and(|status| status.success())
    })
}

/// Applies `confinement` to `command` (in the child, between fork and exec).
pub fn confine(command: &mut Command, confinement: &Confinement) {
    let confinement = confinement.clone();
    let private: Vec<std::ffi::CString> = ["/tmp", "/var/tmp", "/dev/shm"]
        .into_iter()
        .filter(|dir| Path::new(dir).is_dir() && !confinement.keep_visible.iter().any(|keep| keep.starts_with(dir)))
        .filter_map(|dir| std::ffi::CString::new(dir).ok())
        .collect();
    // SAFETY: the closure runs in the child between fork and exec and calls only
    // async-signal-safe functions (fcntl, dup2, close, setrlimit, setgroups, setgid, setuid),
    // on values computed before the fork, with no allocation.
    unsafe {
        command.pre_exec(move || {
            // First move every descriptor to hand down above the target numbers, so that a
            // source that is already 3 or 4 is not overwritten before it is copied.
            let mut moved = [0i32; 8];
            for (index, &fd) in confinement.inherited_fds.iter().enumerate().take(moved.len()) {
                let high = libc::fcntl(fd, libc::F_DUPFD_CLOEXEC, 100);
                if high < 0 {
                    return Err(std::io::Error::last_os_error());
                }
                moved[index] = high;
            }
            let count = confinement.inherited_fds.len().min(moved.len());
            for (index, &high) in moved.iter().enumerate().take(count) {
                let target = 3 + index as i32;
                if libc::dup2(high, target) < 0 {
                    return Err(std::io::Error::last_os_error());
                }
            }
            let limits = confinement.limits;
            let set = |resource, value: u64| {
                let limit = libc::rlimit { rlim_cur: value as libc::rlim_t, rlim_max: value as libc::rlim_t };
                libc::setrlimit(resource, &limit);
            };
            set(libc::RLIMIT_AS, limits.memory_bytes);
            set(libc::RLIMIT_FSIZE, limits.file_bytes);
            set(libc::RLIMIT_NOFILE, limits.open_files);
            set(libc::RLIMIT_CORE, 0);
            if confinement.namespaces {
                if libc::unshare(libc::CLONE_NEWNS | libc::CLONE_NEWNET) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                let none = c"none".as_ptr();
                let root = c"/".as_ptr();
                if libc::mount(none, root, std::ptr::null(), libc::MS_REC | libc::MS_PRIVATE, std::ptr::null()) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                for target in &private {
                    let options = c"size=256m,mode=1777".as_ptr();
                    let flags = libc::MS_NOSUID | libc::MS_NODEV;
                    if libc::mount(c"tmpfs".as_ptr(), target.as_ptr(), c"tmpfs".as_ptr(), flags, options.cast()) != 0 {
                        return Err(std::io::Error::last_os_error());
                    }
                }
            }
            if let Some(uid) = confinement.uid {
                set(libc::RLIMIT_NPROC, limits.processes);
                if libc::setgroups(0, std::ptr::null()) != 0
                    || libc::setgid(uid as libc::gid_t) != 0
                    || libc::setuid(uid as libc::uid_t) != 0
                {
                    return Err(std::io::Error::last_os_error());
                }
            }
            Ok(())
        });
    }
}

/// A uid that only one test process at a time runs as, in this grader and in any other on
/// the machine (a lock file under `/run/grader-uids` holds it), so that killing every process
/// of that uid after the test cannot touch another test.
#[derive(Debug)]
pub struct UidLease {
    pub uid: u32,
    _lock: std::fs::File,
}

static LEASED: Mutex<BTreeSet<u32>> = Mutex::new(BTreeSet::new());

impl UidLease {
    /// Leases the first free uid from [`FIRST_SANDBOX_UID`].
    pub fn take() -> std::io::Result<UidLease> {
        let dir = Path::new("/run/grader-uids");
        std::fs::create_dir_all(dir)?;
        let mut leased = LEASED.lock().unwrap_or_else(|poison| poison.into_inner());
        for uid in FIRST_SANDBOX_UID..FIRST_SANDBOX_UID + 4096 {
            if leased.contains(&uid) {
                continue;
            }
            let lock = std::fs::File::create(dir.join(uid.to_string()))?;
            if lock.try_lock().is_ok() {
                leased.insert(uid);
                return Ok(UidLease { uid, _lock: lock });
            }
        }
        Err(std::io::Error::other("no free sandbox uid"))
    }
}

impl Drop for UidLease {
    fn drop(&mut self) {
        LEASED.lock().unwrap_or_else(|poison| poison.into_inner()).remove(&self.uid);
    }
}

/// Whether another user can reach `path`: every existing directory on the way has the
/// execute bit for others. The sandbox uid must reach the test executables; a course checked
/// out under a private home directory cannot be graded in isolated mode.
pub fn reachable_by_others(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    path.ancestors()
        .filter_map(|dir| std::fs::metadata(dir).ok())
        .filter(|meta| meta.is_dir())
        .all(|meta| meta.permissions().mode() & 0o001 != 0)
}

/// Gives `path` (a directory or file the grader made for one test) to `uid`.
pub fn hand_over(path: &Path, uid: u32) -> std::io::Result<()> {
    std::os::unix::fs::chown(path, Some(uid), Some(uid))
}

/// Gives an open file to `uid` (the harness reopens it through `/proc/self/fd`).
pub fn hand_over_file(file: &std::fs::File, uid: u32) -> std::io::Result<()> {
    std::os::unix::fs::fchown(file, Some(uid), Some(uid))
}

/// Kills every process of `uid` (isolated mode): a helper shell becomes that user and sends
/// SIGKILL to every process it may signal (`kill -9 -1`), which is exactly that user's.
pub fn kill_user(uid: u32) {
    let mut command = Command::new("/bin/sh");
    command.args(["-c", "kill -9 -1"]).stdout(std::process::Stdio::null()).stderr(std::process::Stdio::null());
    confine(
        &mut command,
        &Confinement {
            limits: Limits::default(),
            uid: Some(uid),
            inherited_fds: Vec::new(),
            namespaces: false,
            keep_visible: Vec::new(),
        },
    );
    let _ = command.status();
}

/// Process groups of children alive now (for the signal handler), and their pids (so that
/// [`reap_orphans`] never takes one of them).
static GROUPS: [AtomicI32; 64] = [const { AtomicI32::new(0) }; 64];
static CHILDREN: Mutex<BTreeSet<i32>> = Mutex::new(BTreeSet::new());

/// Spawns `command` (which must have `process_group(0)`) and records its group until
/// [`forget_child`].
pub fn spawn_tracked(command: &mut Command) -> std::io::Result<std::process::Child> {
    let mut children = CHILDREN.lock().unwrap_or_else(|poison| poison.into_inner());
    let child = command.spawn()?;
    let pid = child.id() as i32;
    children.insert(pid);
    // With more than 64 children at once the handler misses the rest; the grader runs a few.
    let _ = GROUPS.iter().any(|slot| slot.compare_exchange(0, pid, Ordering::SeqCst, Ordering::SeqCst).is_ok());
    Ok(child)
}

/// The child `pid` has been waited for.
pub fn forget_child(pid: u32) {
    let pid = pid as i32;
    CHILDREN.lock().unwrap_or_else(|poison| poison.into_inner()).remove(&pid);
    for slot in &GROUPS {
        let _ = slot.compare_exchange(pid, 0, Ordering::SeqCst, Ordering::SeqCst);
    }
}

/// Makes the grader the reaper of its descendants' orphans (a `setsid` child of a test whose
/// parent exited is re-parented here rather than to init), and installs the SIGINT/SIGTERM
/// handler. Called once by the command line.
pub fn install() {
    REAPER.store(true, Ordering::SeqCst);
    // SAFETY: prctl(PR_SET_CHILD_SUBREAPER) only changes how orphans are re-parented; signal()
    // installs a handler that calls only async-signal-safe functions (kill, _exit).
    unsafe {
        libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
        libc::signal(libc::SIGINT, on_signal as *const () as libc::sighandler_t);
        libc::signal(libc::SIGTERM, on_signal as *const () as libc::sighandler_t);
    }
}

extern "C" fn on_signal(signal: libc::c_int) {
    for slot in &GROUPS {
        let group = slot.load(Ordering::SeqCst);
        if group > 0 {
            // SAFETY: kill is async-signal-safe.
            unsafe {
                libc::kill(-group, libc::SIGKILL);
            }
        }
    }
    // SAFETY: _exit is async-signal-safe and ends the process without running destructors.
    unsafe { libc::_exit(128 + signal) }
}

/// Whether [`install`] made this process a subreaper (only the command line does: a library
/// user, such as a test harness, has children of its own that are none of the grader's).
static REAPER: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Kills and reaps every orphan re-parented to the grader (children it did not start itself):
/// what a test left running after its own process ended. Does nothing unless [`install`] ran.
pub fn reap_orphans() {
    if !REAPER.load(Ordering::SeqCst) {
        return;
    }
    let children = CHILDREN.lock().unwrap_or_else(|poison| poison.into_inner());
    let me = std::process::id() as i32;
    let Ok(entries) = std::fs::read_dir("/proc") else { return };
    for entry in entries.flatten() {
        let Some(pid) = entry.file_name().to_str().and_then(|name| name.parse::<i32>().ok()) else { continue };
        if children.contains(&pid) {
            continue;
        }
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else { continue };
        // The fields after the command name (which may hold spaces) start after its `)`.
        let Some(after) = stat.rfind(')').map(|at| &stat[at + 1..]) else { continue };
        let parent = after.split_whitespace().nth(1).and_then(|field| field.parse::<i32>().ok());
        if parent == Some(me) {
            // SAFETY: kill and waitpid on a pid whose parent is this process: it is our child
            // (an adopted orphan), so waiting for it cannot take another thread's child.
            unsafe {
                libc::kill(pid, libc::SIGKILL);
                libc::waitpid(pid, std::ptr::null_mut(), 0);
            }
        }
    }
}

/// A fresh secret: 32 hex digits from the kernel's random source.
pub fn secret() -> std::io::Result<Vec<u8>> {
    use std::io::Read;
    let mut raw = [0u8; 16];
    std::fs::File::open("/dev/urandom")?.read_exact(&mut raw)?;
    Ok(raw.iter().map(|byte| format!("{byte:02x}")).collect::<String>().into_bytes())
}
