//! Per-session resource limits: the most tasks (processes and threads) and
//! the most memory all processes of one session may use together, so that a
//! fork bomb or a memory hog started by an agent stops inside its session,
//! and the server and the other sessions go on.
//!
//! A limit is a cgroup controller's file in a cgroup of the session's own:
//! - **cgroup v2** (`pids.max`, `memory.max`): in the session cgroup that
//!   containment makes ([`crate::contain`]), once the controller is enabled
//!   for this server's session cgroups (`cgroup.subtree_control`). A cgroup
//!   that holds processes itself cannot pass controllers on (the "no
//!   internal processes" rule), so when the server's own cgroup has the
//!   controller but the server lives in it (a systemd service with
//!   `Delegate=`), the server first moves itself into a leaf,
//!   `ccweb-server`, as delegated services are expected to, but only if it
//!   is the cgroup's one process.
//! - **cgroup v1** (`pids.max`, `memory.limit_in_bytes`): on hybrid hosts,
//!   where the controller is bound to a v1 hierarchy of its own, in a session
//!   cgroup made there next to the v2 one (or alone, when containment walks
//!   the process tree); the child joins it the same way, before it execs.
//!
//! A limit that nothing here can enforce is reported at start, not
//! silently dropped.

use std::io;
use std::path::{Path, PathBuf};

use nix::sys::signal::{kill, Signal};

use crate::contain::{cgroup_procs, own_cgroup_dir, Hierarchy};

/// Limits on all processes of one session together; 0 is no limit.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SessionLimits {
    /// Processes and threads (`pids.max`).
    pub max_processes: u64,
    /// Memory in bytes (`memory.max`; v1 `memory.limit_in_bytes`).
    pub max_memory_bytes: u64,
}

/// A cgroup controller that enforces one of the limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Controller {
    Pids,
    Memory,
}

impl Controller {
    fn name(self) -> &'static str {
        match self {
            Controller::Pids => "pids",
            Controller::Memory => "memory",
        }
    }

    /// The configuration key that sets it (for reports).
    fn key(self) -> &'static str {
        match self {
            Controller::Pids => "session_max_processes",
            Controller::Memory => "session_max_memory_bytes",
        }
    }

    fn v2_file(self) -> &'static str {
        match self {
            Controller::Pids => "pids.max",
            Controller::Memory => "memory.max",
        }
    }

    fn v1_file(self) -> &'static str {
        match self {
            Controller::Pids => "pids.max",
            Controller::Memory => "memory.limit_in_bytes",
        }
    }

    fn limit(self, limits: &SessionLimits) -> u64 {
        match self {
            Controller::Pids => limits.max_processes,
            Controller::Memory => limits.max_memory_bytes,
        }
    }
}

/// One limit set in a v1 hierarchy.
#[derive(Debug)]
struct V1Limit {
    /// This server's directory in the hierarchy; session cgroups go inside.
    dir: PathBuf,
    file: &'static str,
    value: String,
}

/// How this server enforces each configured limit. Made once at start.
#[derive(Debug, Default)]
pub(crate) struct Limiter {
    /// v2 controllers enabled for the session cgroups, and the files
    /// written into each session's cgroup, with their values.
    v2: Vec<(Controller, String)>,
    /// Limits set in v1 hierarchies.
    v1: Vec<V1Limit>,
    /// How each configured limit is enforced, or that it is not and why.
    report: Vec<String>,
}

impl Limiter {
    /// Finds a controller for every limit that is set. `v2_dir`: this
    /// server's v2 directory of session cgroups, if containment has one;
    /// `tag`: the per-server directory name used in v1 hierarchies.
    pub(crate) fn init(limits: SessionLimits, v2_dir: Option<&Path>, tag: &str) -> Limiter {
        let mut limiter = Limiter::default();
        let mut report = Vec::new();
        for c in [Controller::Pids, Controller::Memory] {
            let value = c.limit(&limits);
            if value == 0 {
                continue;
            }
            let v2 = match v2_dir {
                Some(dir) => enable_controller_v2(dir, c),
                None => Err(io::Error::other("no cgroup v2 containment")),
            };
            let v1 = match &v2 {
                Ok(()) => None,
                Err(_) => Some(v1_dir(c, tag).and_then(|dir| {
                    let probed = probe_v1(&dir, c.v1_file(), &value.to_string());
                    // Made again by the first session; no empty cgroup stays behind.
                    let _ = std::fs::remove_dir(&dir);
                    probed.map(|()| dir)
                })),
            };
            match (v2, v1) {
                (Ok(()), _) => {
                    limiter.v2.push((c, value.to_string()));
                    report.push(format!("{} = {value}: cgroup v2 {}", c.key(), c.v2_file()));
                }
                (_, Some(Ok(dir))) => {
                    report.push(format!(
                        "{} = {value}: cgroup v1 {}",
                        c.key(),
                        dir.join(c.v1_file()).display()
                    ));
                    limiter.v1.push(V1Limit {
                        dir,
                        file: c.v1_file(),
                        value: value.to_string(),
                    });
                }
                (Err(v2), v1) => {
                    let v1 = v1.and_then(Result::err).map(|e| e.to_string());
                    let why = match v1 {
                        Some(v1) => format!("cgroup v2: {v2}; cgroup v1: {v1}"),
                        None => format!("cgroup v2: {v2}"),
                    };
                    tracing::warn!(
                        limit = c.key(),
                        value,
                        reason = %why,
                        "a session limit is NOT enforced: no usable {} cgroup controller",
                        c.name()
                    );
                    report.push(format!("{} = {value}: NOT enforced ({why})", c.key()));
                }
            }
        }
        for line in &report {
            tracing::info!("session limit: {line}");
        }
        limiter.report = report;
        limiter
    }

    /// One line per configured limit: how it is enforced, or that it is
    /// not and why.
    pub(crate) fn report(&self) -> &[String] {
        &self.report
    }

    /// Enables the v2 controllers for the session cgroups in `dir` (made
    /// again after its last session went).
    pub(crate) fn enable_v2(&self, dir: &Path) -> io::Result<()> {
        for (c, _) in &self.v2 {
            std::fs::write(dir.join("cgroup.subtree_control"), format!("+{}", c.name()))?;
        }
        Ok(())
    }

    /// Sets the v2 limits in a new session cgroup.
    pub(crate) fn apply_v2(&self, cgroup: &Path) -> io::Result<()> {
        for (c, value) in &self.v2 {
            let file = c.v2_file();
            std::fs::write(cgroup.join(file), value)
                .map_err(|e| io::Error::new(e.kind(), format!("{file}: {e}")))?;
        }
        Ok(())
    }

    /// Makes the v1 session cgroups named `name`, each with its limit set,
    /// pushing each onto `made` as soon as it exists (the caller removes
    /// them again if a later one fails).
    pub(crate) fn make_v1(&self, name: &str, made: &mut Vec<PathBuf>) -> io::Result<()> {
        for limit in &self.v1 {
            std::fs::create_dir_all(&limit.dir)?;
            let cgroup = limit.dir.join(name);
            std::fs::create_dir(&cgroup)?;
            made.push(cgroup.clone());
            std::fs::write(cgroup.join(limit.file), &limit.value)
                .map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", limit.file)))?;
        }
        Ok(())
    }
}

/// Removes a v1 session cgroup once its processes are gone (they were
/// killed with the session; this waits, bounded, for them to leave), and
/// this server's directory with it if it was the last.
pub(crate) fn remove_v1(cgroup: &Path) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while std::fs::remove_dir(cgroup).is_err() {
        if !cgroup.exists() {
            return;
        }
        if std::time::Instant::now() > deadline {
            tracing::warn!(cgroup = %cgroup.display(), "could not remove a session's limit cgroup");
            return;
        }
        for pid in cgroup_procs(cgroup) {
            let _ = kill(pid, Signal::SIGKILL);
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    if let Some(dir) = cgroup.parent() {
        // Busy while other sessions run.
        let _ = std::fs::remove_dir(dir);
    }
}

/// Enables controller `c` for the session cgroups in `dir` (cgroup v2).
fn enable_controller_v2(dir: &Path, c: Controller) -> io::Result<()> {
    let name = c.name();
    let enable =
        |cgroup: &Path| std::fs::write(cgroup.join("cgroup.subtree_control"), format!("+{name}"));
    if !lists(&dir.join("cgroup.controllers"), name) {
        let own = dir
            .parent()
            .ok_or_else(|| io::Error::other("the session cgroups' directory has no parent"))?;
        if !lists(&own.join("cgroup.controllers"), name) {
            return Err(io::Error::other(format!(
                "the {name} controller is not available in the server's cgroup {} (on systemd: Delegate=yes)",
                own.display()
            )));
        }
        if enable(own).is_err() {
            move_to_leaf(own)?;
            enable(own).map_err(|e| {
                io::Error::new(
                    e.kind(),
                    format!("cannot enable {name} in {}: {e}", own.display()),
                )
            })?;
        }
    }
    enable(dir).map_err(|e| {
        io::Error::new(
            e.kind(),
            format!("cannot enable {name} in {}: {e}", dir.display()),
        )
    })
}

/// Whether a space-separated controller list file names `name`.
fn lists(file: &Path, name: &str) -> bool {
    std::fs::read_to_string(file).is_ok_and(|s| s.split_whitespace().any(|w| w == name))
}

/// Moves this server from `own` into the leaf `own/ccweb-server`, so that
/// `own` may pass controllers on. Only when the server is `own`'s only
/// process: others would keep it busy anyway, and are not ours to move.
fn move_to_leaf(own: &Path) -> io::Result<()> {
    let me = std::process::id();
    let others = cgroup_procs(own)
        .into_iter()
        .filter(|p| p.as_raw().unsigned_abs() != me)
        .count();
    if others > 0 {
        return Err(io::Error::other(format!(
            "the server's cgroup {} holds {others} other processes, so it cannot pass controllers on",
            own.display()
        )));
    }
    let leaf = own.join("ccweb-server");
    match std::fs::create_dir(&leaf) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
        Err(e) => return Err(e),
    }
    std::fs::write(leaf.join("cgroup.procs"), me.to_string())?;
    tracing::info!(cgroup = %leaf.display(), "moved the server into a leaf cgroup, so its sessions' cgroups can have limits");
    Ok(())
}

/// This server's directory in the v1 hierarchy of controller `c`:
/// `<mount><own cgroup>/<tag>`, created, with what a killed earlier run
/// left in it removed.
fn v1_dir(c: Controller, tag: &str) -> io::Result<PathBuf> {
    let dir = own_cgroup_dir(Hierarchy::V1(c.name()))?.join(tag);
    std::fs::create_dir_all(&dir)?;
    for entry in std::fs::read_dir(&dir)?.flatten() {
        if entry.path().is_dir() {
            remove_v1_leftover(&entry.path());
        }
    }
    Ok(dir)
}

/// A session cgroup a killed earlier run left behind: its processes were
/// killed by containment (or are killed here), then it goes.
fn remove_v1_leftover(cgroup: &Path) {
    for pid in cgroup_procs(cgroup) {
        let _ = kill(pid, Signal::SIGKILL);
    }
    let _ = std::fs::remove_dir(cgroup);
}

/// Proves a limit can be set in `dir`: a probe cgroup with the value written.
fn probe_v1(dir: &Path, file: &str, value: &str) -> io::Result<()> {
    let probe = dir.join(format!("probe-{}", std::process::id()));
    let _ = std::fs::remove_dir(&probe);
    std::fs::create_dir(&probe)?;
    let written = std::fs::write(probe.join(file), value);
    let _ = std::fs::remove_dir(&probe);
    written.map_err(|e| io::Error::new(e.kind(), format!("cannot write {file}: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A stand-in for cgroup v2 directories: `own` (the server's cgroup)
    /// with `dir` (its session cgroups' directory) inside. Plain files take
    /// any write, so only the decisions are tested here; the kernel's side
    /// is tested through a real server (the lifecycle tests).
    fn fake(own_controllers: &str, dir_controllers: &str) -> (tempfile::TempDir, PathBuf, PathBuf) {
        let tmp = tempfile::tempdir().unwrap();
        let own = tmp.path().join("own");
        let dir = own.join("ccweb-x");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(own.join("cgroup.controllers"), own_controllers).unwrap();
        std::fs::write(dir.join("cgroup.controllers"), dir_controllers).unwrap();
        (tmp, own, dir)
    }

    fn read(path: PathBuf) -> String {
        std::fs::read_to_string(path).unwrap_or_default()
    }

    #[test]
    fn a_controller_the_directory_has_is_enabled_for_the_sessions() {
        let (_tmp, own, dir) = fake("cpu memory pids", "memory pids");
        enable_controller_v2(&dir, Controller::Pids).unwrap();
        assert_eq!(read(dir.join("cgroup.subtree_control")), "+pids");
        assert_eq!(
            read(own.join("cgroup.subtree_control")),
            "",
            "the server's cgroup is left alone"
        );
    }

    #[test]
    fn a_controller_only_the_servers_cgroup_has_is_passed_down_first() {
        let (_tmp, own, dir) = fake("cpu memory pids", "cpu");
        enable_controller_v2(&dir, Controller::Memory).unwrap();
        assert_eq!(read(own.join("cgroup.subtree_control")), "+memory");
        assert_eq!(read(dir.join("cgroup.subtree_control")), "+memory");
    }

    #[test]
    fn a_controller_the_servers_cgroup_lacks_is_reported_with_where_to_delegate_it() {
        let (_tmp, _own, dir) = fake("cpu", "");
        let e = enable_controller_v2(&dir, Controller::Pids).unwrap_err();
        assert!(
            e.to_string().contains("pids controller is not available"),
            "{e}"
        );
        assert!(e.to_string().contains("Delegate=yes"), "{e}");
    }

    #[test]
    fn the_server_leaves_its_cgroup_only_when_it_is_alone_there() {
        // The server's cgroup refuses to pass controllers on (a directory
        // where the file would be stands in for EBUSY).
        let (_tmp, own, dir) = fake("pids", "");
        std::fs::create_dir(own.join("cgroup.subtree_control")).unwrap();
        std::fs::write(
            own.join("cgroup.procs"),
            format!("{}\n1\n", std::process::id()),
        )
        .unwrap();
        let e = enable_controller_v2(&dir, Controller::Pids).unwrap_err();
        assert!(e.to_string().contains("holds 1 other processes"), "{e}");
        assert!(!own.join("ccweb-server").exists(), "nothing moved");

        std::fs::write(
            own.join("cgroup.procs"),
            format!("{}\n", std::process::id()),
        )
        .unwrap();
        let e = enable_controller_v2(&dir, Controller::Pids).unwrap_err();
        assert_eq!(
            read(own.join("ccweb-server/cgroup.procs")),
            std::process::id().to_string(),
            "moved into the leaf first"
        );
        assert!(e.to_string().contains("cannot enable pids in"), "{e}");
    }

    #[test]
    fn only_limits_that_are_set_are_looked_for() {
        let limiter = Limiter::init(SessionLimits::default(), None, "ccweb-none");
        assert!(limiter.v2.is_empty() && limiter.v1.is_empty());
    }
}
