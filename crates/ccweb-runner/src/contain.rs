//! Process containment: every process a session starts stays findable, so
//! stopping the session ends all of them, including grandchildren that
//! called `setsid` and left the process group.
//!
//! Backends, in the order [`Containment::init`] tries them:
//! 1. **cgroup v2**: one cgroup per server data dir under the server's own
//!    cgroup (`<own>/ccweb-<hash of data dir>`), one child cgroup per
//!    session. The child joins it *before* it execs the program (a `/bin/sh`
//!    trampoline writes its own pid to `cgroup.procs`, then `exec`s), so
//!    nothing it forks can escape. Killing writes `cgroup.kill` (Linux ≥
//!    5.14), else freezes, SIGKILLs every member and thaws.
//! 2. **process tree**: the descendants of the session leader, found by
//!    walking `/proc/*/stat` parent links; each found process is stopped
//!    (SIGSTOP, so it cannot fork more) and the walk repeated until it finds
//!    nothing new, then all are killed. A grandchild whose parent already
//!    exited is adopted by ccweb (a child subreaper) and is killed at
//!    shutdown, not with its session.
//!
//! Either way ccweb is a child subreaper, so orphans it kills become its
//! children; [`reap_orphans`] collects them (no `<defunct>` left).
//!
//! A scope also carries the session's resource limits
//! ([`crate::session_limits`]): more cgroups the child joins before it execs.

use nix::sys::signal::{kill, killpg, Signal};
use nix::sys::wait::{waitpid, WaitPidFlag};
use nix::unistd::Pid;
use std::collections::HashSet;
use std::ffi::OsString;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::time::{Duration, Instant};

use crate::session_limits::{self, Limiter, SessionLimits};

/// How long a kill waits for a cgroup or process tree to empty.
const KILL_WAIT: Duration = Duration::from_secs(5);
/// Between two looks at a cgroup or process tree that is emptying.
const POLL_INTERVAL: Duration = Duration::from_millis(10);
/// Between two sweeps of the orphan reaper thread.
const REAP_INTERVAL: Duration = Duration::from_millis(200);
/// Name of the trampoline in `ps` output (its `$0`).
const TRAMPOLINE_NAME: &str = "ccweb-contain";

/// Processes the runner started itself (each reaped by its own waiter);
/// the orphan reaper leaves them alone.
static DIRECT_CHILDREN: Mutex<Vec<i32>> = Mutex::new(Vec::new());
/// Session cgroups created so far in this process (for unique names).
static NEXT_SCOPE: AtomicU64 = AtomicU64::new(0);
/// Whether the subreaper attribute and the reaper thread are set up.
static REAPER: OnceLock<()> = OnceLock::new();

/// Where sessions' processes are kept, and how they are limited. Cheap to clone.
#[derive(Debug, Clone, Default)]
pub struct Containment {
    inner: Arc<Backend>,
    limiter: Arc<Limiter>,
}

#[derive(Debug, Default)]
enum Backend {
    /// Walk `/proc` from the session leader.
    #[default]
    ProcessTree,
    /// Session cgroups are created inside this (cgroup v2) directory.
    CgroupV2 { dir: PathBuf },
}

impl Containment {
    /// Picks the best backend that works here for the server whose data
    /// dir is `instance`, kills what a previous run with the same data dir
    /// left in its cgroups (after `kill -9` of the server), finds a cgroup
    /// controller for each of `limits`, and makes this process a child
    /// subreaper with a thread that reaps adopted orphans.
    pub fn init(instance: &Path, limits: SessionLimits) -> Containment {
        start_reaper();
        let tag = instance_tag(instance);
        let (inner, v2_dir) = match cgroup_v2_dir(&tag) {
            Ok(dir) => {
                kill_leftovers(&dir);
                tracing::info!(cgroup = %dir.display(), "process containment: cgroup v2");
                (Backend::CgroupV2 { dir: dir.clone() }, Some(dir))
            }
            Err(e) => {
                tracing::info!(reason = %e, "process containment: process tree (no writable cgroup v2)");
                (Backend::ProcessTree, None)
            }
        };
        let limiter = Limiter::init(limits, v2_dir.as_deref(), &tag);
        if let Some(dir) = &v2_dir {
            // Made again by the first session; no empty cgroup stays behind.
            let _ = std::fs::remove_dir(dir);
        }
        Containment {
            inner: Arc::new(inner),
            limiter: Arc::new(limiter),
        }
    }

    /// The process-tree backend without limits (no set-up; tests use it to
    /// check the fallback).
    pub fn process_tree() -> Containment {
        Containment {
            inner: Arc::new(Backend::ProcessTree),
            limiter: Arc::default(),
        }
    }

    /// One line per configured session limit: how it is enforced here
    /// (`session_max_processes = 2048: cgroup v2 pids.max`), or that it is
    /// `NOT enforced`, and why.
    pub fn limits_report(&self) -> &[String] {
        self.limiter.report()
    }

    /// `"cgroup-v2"` or `"process-tree"`.
    pub fn kind(&self) -> &'static str {
        match *self.inner {
            Backend::ProcessTree => "process-tree",
            Backend::CgroupV2 { .. } => "cgroup-v2",
        }
    }

    /// A new, empty scope for one session, its limits set.
    pub(crate) fn scope(&self) -> io::Result<Scope> {
        let n = NEXT_SCOPE.fetch_add(1, Ordering::Relaxed);
        let name = format!("session-{}-{n}", std::process::id());
        let cgroup = match &*self.inner {
            Backend::ProcessTree => None,
            Backend::CgroupV2 { dir } => {
                let path = dir.join(&name);
                // The per-server cgroup goes when its last session does (see
                // `Drop`); one that vanishes between the two steps is made again.
                let mut tries = 0;
                loop {
                    let made = std::fs::create_dir_all(dir)
                        .and_then(|()| self.limiter.enable_v2(dir))
                        .and_then(|()| std::fs::create_dir(&path));
                    match made {
                        Ok(()) => break,
                        Err(e) if e.kind() == io::ErrorKind::NotFound && tries < 3 => tries += 1,
                        Err(e) => return Err(e),
                    }
                }
                Some(path)
            }
        };
        // From here on, dropping the scope removes what was made.
        let mut scope = Scope {
            cgroup,
            limit_cgroups: Vec::new(),
            leader: None,
            remote: None,
        };
        if let Some(cgroup) = &scope.cgroup {
            self.limiter.apply_v2(cgroup)?;
        }
        self.limiter.make_v1(&name, &mut scope.limit_cgroups)?;
        Ok(scope)
    }
}

/// The processes of one session. Dropping it kills whatever is left and
/// removes its cgroup.
#[derive(Debug)]
pub(crate) struct Scope {
    /// The session's cgroup v2, which containment kills.
    cgroup: Option<PathBuf>,
    /// Cgroups in v1 hierarchies that only limit (`session_limits`).
    limit_cgroups: Vec<PathBuf>,
    leader: Option<Pid>,
    /// A session the launcher started (`isolation = "unix"`): it holds the
    /// real scope; signals go through it, and dropping this ends the session.
    remote: Option<crate::launch::Channel>,
}

impl Scope {
    /// A scope holding nothing (dropping it does nothing).
    pub(crate) fn empty() -> Scope {
        Scope {
            cgroup: None,
            limit_cgroups: Vec::new(),
            leader: None,
            remote: None,
        }
    }

    /// The scope of a session the launcher started and contains.
    pub(crate) fn remote(channel: crate::launch::Channel) -> Scope {
        Scope {
            cgroup: None,
            limit_cgroups: Vec::new(),
            leader: None,
            remote: Some(channel),
        }
    }

    /// The `cgroup.procs` file of every cgroup the session's processes
    /// belong in (the launcher's child joins them before it executes).
    pub(crate) fn procs_files(&self) -> Vec<PathBuf> {
        self.joined().map(|c| c.join("cgroup.procs")).collect()
    }

    /// Every cgroup the session's processes belong in.
    fn joined(&self) -> impl Iterator<Item = &PathBuf> {
        self.cgroup.iter().chain(&self.limit_cgroups)
    }

    /// The command that runs `program args` inside the scope: for
    /// cgroups, a `/bin/sh` trampoline that moves itself into each (`$1`
    /// says how many), then `exec`s.
    pub(crate) fn command(
        &self,
        program: PathBuf,
        args: Vec<OsString>,
    ) -> (PathBuf, Vec<OsString>) {
        let procs: Vec<OsString> = self
            .joined()
            .map(|c| c.join("cgroup.procs").into())
            .collect();
        if procs.is_empty() {
            return (program, args);
        }
        let mut all: Vec<OsString> = vec![
            "-c".into(),
            r#"n=$1; shift; while [ "$n" -gt 0 ]; do echo $$ > "$1" || exit 126; shift; n=$((n - 1)); done; exec "$@""#.into(),
            TRAMPOLINE_NAME.into(),
            procs.len().to_string().into(),
        ];
        all.extend(procs);
        all.push(program.into());
        all.extend(args);
        ("/bin/sh".into(), all)
    }

    /// Records the spawned leader and (again, from the server side) puts it
    /// in the cgroups, so the scope holds it even if the trampoline has not
    /// run yet. Fails when a cgroup refuses it: the caller then kills it.
    pub(crate) fn adopt(&mut self, pid: Pid) -> io::Result<()> {
        self.leader = Some(pid);
        for cgroup in self.joined() {
            std::fs::write(cgroup.join("cgroup.procs"), pid.as_raw().to_string())?;
        }
        Ok(())
    }

    /// Sends `signal` to the leader's process group and to every other
    /// process of the scope (those that left the group too).
    pub(crate) fn signal(&self, signal: Signal) {
        if let Some(remote) = &self.remote {
            remote.signal(signal);
            return;
        }
        // Members first: once the leader is gone, the process tree cannot
        // tell its orphans apart any more.
        let members = self.members();
        if let Some(leader) = self.leader {
            if let Err(e) = killpg(leader, signal) {
                tracing::trace!(%leader, ?signal, error = %e, "killpg");
            }
        }
        for pid in members {
            let _ = kill(pid, signal);
        }
    }

    /// SIGKILLs every process of the scope without waiting for them to go.
    pub(crate) fn kill_now(&self) {
        if let Some(remote) = &self.remote {
            remote.signal(Signal::SIGKILL);
            return;
        }
        match (&self.cgroup, self.leader) {
            (Some(cgroup), _) => {
                if std::fs::write(cgroup.join("cgroup.kill"), "1").is_err() {
                    self.signal(Signal::SIGKILL);
                }
            }
            (None, Some(leader)) => {
                // Stopped, the leader keeps its descendants attached (and
                // findable) while they are stopped and killed.
                let _ = killpg(leader, Signal::SIGSTOP);
                kill_tree(Some(leader));
                let _ = killpg(leader, Signal::SIGKILL);
                let _ = killpg(leader, Signal::SIGCONT);
            }
            (None, None) => {}
        }
    }

    /// Kills every process of the scope and waits (bounded) until none is
    /// left; then reaps the orphans among them. Blocks: call it off the runtime.
    pub(crate) fn kill_all(&self) {
        if let Some(remote) = &self.remote {
            // The launcher kills the rest when the channel closes (drop).
            remote.signal(Signal::SIGKILL);
            return;
        }
        match &self.cgroup {
            Some(cgroup) => kill_cgroup(cgroup),
            None => self.kill_now(),
        }
        reap_orphans();
    }

    /// How many of the scope's processes the kernel's OOM killer ended
    /// (the session's memory limit): `oom_kill` in cgroup v2's
    /// `memory.events` or v1's `memory.oom_control`.
    pub(crate) fn oom_kills(&self) -> u64 {
        let v2 = self.cgroup.iter().map(|c| c.join("memory.events"));
        let v1 = self
            .limit_cgroups
            .iter()
            .map(|c| c.join("memory.oom_control"));
        v2.chain(v1)
            .filter_map(|file| std::fs::read_to_string(file).ok())
            .filter_map(|text| {
                text.lines()
                    .find_map(|l| l.strip_prefix("oom_kill "))
                    .and_then(|n| n.trim().parse::<u64>().ok())
            })
            .sum()
    }

    /// The processes of the scope now (not the leader's group members that
    /// are found by `killpg` anyway, in the process-tree case).
    fn members(&self) -> Vec<Pid> {
        match (&self.cgroup, self.leader) {
            (Some(cgroup), _) => cgroup_procs(cgroup),
            (None, Some(leader)) => descendants(leader),
            (None, None) => Vec::new(),
        }
    }
}

impl Drop for Scope {
    fn drop(&mut self) {
        if self.remote.is_some()
            || (self.cgroup.is_none() && self.leader.is_none() && self.limit_cgroups.is_empty())
        {
            // A remote scope: dropping its channel ends it in the launcher.
            return;
        }
        self.kill_all();
        if let Some(cgroup) = &self.cgroup {
            if let Err(e) = std::fs::remove_dir(cgroup) {
                tracing::warn!(cgroup = %cgroup.display(), error = %e, "could not remove a session cgroup");
            }
        }
        for cgroup in &self.limit_cgroups {
            session_limits::remove_v1(cgroup);
        }
        // Fails (busy) while other sessions run; leaves nothing behind
        // otherwise (the next session makes it again, limits enabled).
        if let Some(parent) = self.cgroup.as_ref().and_then(|c| c.parent()) {
            let _ = std::fs::remove_dir(parent);
        }
    }
}

/// Ends a session's scope off the runtime (it blocks until the scope is
/// empty); returns how many of its processes the OOM killer ended.
pub(crate) async fn close(scope: Scope) -> u64 {
    let closed = tokio::task::spawn_blocking(move || {
        let oom_kills = scope.oom_kills();
        drop(scope);
        oom_kills
    })
    .await;
    closed.unwrap_or_else(|e| {
        tracing::warn!(error = %e, "killing the rest of a session failed");
        0
    })
}

/// Locks the list of direct children; hold it across a spawn so the orphan
/// reaper cannot take a fresh child's exit status before it is listed.
pub(crate) fn direct_children() -> MutexGuard<'static, Vec<i32>> {
    DIRECT_CHILDREN.lock().unwrap_or_else(|e| e.into_inner())
}

/// Forgets a direct child once its own waiter has reaped it.
pub(crate) fn forget_child(pid: Pid) {
    direct_children().retain(|p| *p != pid.as_raw());
}

/// Reaps zombie children of this process that the runner did not start
/// itself: orphans adopted as a subreaper. Never touches a direct child
/// (its waiter needs the exit status).
pub fn reap_orphans() {
    let me = std::process::id() as i32;
    let children = direct_children();
    let direct: HashSet<i32> = children.iter().copied().collect();
    for (pid, ppid, state) in processes() {
        if ppid == me && state == 'Z' && !direct.contains(&pid) {
            let _ = waitpid(Pid::from_raw(pid), Some(WaitPidFlag::WNOHANG));
        }
    }
}

/// Makes this process a child subreaper (orphans of its descendants become
/// its children instead of init's, so they stay findable) and starts the
/// thread that reaps them. Once per process.
fn start_reaper() {
    REAPER.get_or_init(|| {
        if let Err(e) = nix::sys::prctl::set_child_subreaper(true) {
            tracing::warn!(error = %e, "cannot become a child subreaper; orphans go to init");
            return;
        }
        let started = std::thread::Builder::new()
            .name("orphan-reaper".into())
            .spawn(|| loop {
                std::thread::sleep(REAP_INTERVAL);
                reap_orphans();
            });
        if let Err(e) = started {
            tracing::warn!(error = %e, "cannot start the orphan reaper thread");
        }
    });
}

/// Kills every adopted orphan (not a direct child): at shutdown, what the
/// process-tree backend could not tie to a session.
pub fn kill_adopted_orphans() {
    let me = std::process::id() as i32;
    let direct: HashSet<i32> = direct_children().iter().copied().collect();
    let orphans: Vec<Pid> = processes()
        .into_iter()
        .filter(|(pid, ppid, _)| *ppid == me && !direct.contains(pid))
        .map(|(pid, _, _)| Pid::from_raw(pid))
        .collect();
    for pid in orphans {
        let _ = kill(pid, Signal::SIGKILL);
        kill_tree(Some(pid));
    }
    reap_orphans();
}

/// The name of this server's directory of session cgroups:
/// `ccweb-<hash of the data dir>`.
fn instance_tag(instance: &Path) -> String {
    let instance = std::fs::canonicalize(instance).unwrap_or_else(|_| instance.to_path_buf());
    format!("ccweb-{:016x}", fnv1a(instance.as_os_str()))
}

/// The cgroup v2 directory for this server's sessions, created if needed:
/// `<mount><own cgroup>/<tag>`.
fn cgroup_v2_dir(tag: &str) -> io::Result<PathBuf> {
    let dir = own_cgroup_dir(Hierarchy::Unified)?.join(tag);
    match std::fs::create_dir(&dir) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
        Err(e) => return Err(e),
    }
    // Prove that processes can be moved in, and killed: a session cgroup
    // that cannot hold its child would be no containment at all.
    if !dir.join("cgroup.kill").exists() && !dir.join("cgroup.freeze").exists() {
        return Err(io::Error::other("neither cgroup.kill nor cgroup.freeze"));
    }
    let probe = dir.join(format!("probe-{}", std::process::id()));
    let _ = std::fs::remove_dir(&probe);
    std::fs::create_dir(&probe)?;
    let moved = std::process::Command::new("/bin/sh")
        .arg("-c")
        .arg(r#"echo $$ > "$1""#)
        .arg("ccweb-probe")
        .arg(probe.join("cgroup.procs"))
        .status();
    let _ = std::fs::remove_dir(&probe);
    match moved {
        Ok(s) if s.success() => Ok(dir),
        Ok(s) => Err(io::Error::other(format!(
            "cannot move a process into {} ({s})",
            probe.display()
        ))),
        Err(e) => Err(e),
    }
}

/// A cgroup hierarchy.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Hierarchy<'a> {
    /// cgroup v2's (`/sys/fs/cgroup`, or `/sys/fs/cgroup/unified` on hybrid hosts).
    Unified,
    /// The cgroup v1 hierarchy this controller is bound to (hybrid hosts).
    V1(&'a str),
}

/// This process's cgroup directory in `hierarchy`: where the hierarchy is
/// mounted, joined with the process's cgroup in it (less the part of the
/// path the mount does not show: a subtree mounted on its own).
pub(crate) fn own_cgroup_dir(hierarchy: Hierarchy<'_>) -> io::Result<PathBuf> {
    let mounts = std::fs::read_to_string("/proc/self/mountinfo")?;
    // Fields: id parent dev root mountpoint options ... - fstype source super-options.
    let (root, mount) = mounts
        .lines()
        .find_map(|line| {
            let (left, right) = line.split_once(" - ")?;
            let mut right = right.split_whitespace();
            let fstype = right.next()?;
            let is_it = match hierarchy {
                Hierarchy::Unified => fstype == "cgroup2",
                Hierarchy::V1(name) => {
                    fstype == "cgroup"
                        && right
                            .nth(1)
                            .is_some_and(|opts| opts.split(',').any(|o| o == name))
                }
            };
            if !is_it {
                return None;
            }
            let mut left = left.split_whitespace().skip(3);
            Some((left.next()?.to_owned(), PathBuf::from(left.next()?)))
        })
        .ok_or_else(|| match hierarchy {
            Hierarchy::Unified => io::Error::other("no cgroup2 file system is mounted"),
            Hierarchy::V1(name) => {
                io::Error::other(format!("no cgroup v1 hierarchy has the {name} controller"))
            }
        })?;
    // Lines: id:controllers:path; cgroup v2's is `0::path`.
    let own = std::fs::read_to_string("/proc/self/cgroup")?
        .lines()
        .find_map(|line| {
            let mut parts = line.splitn(3, ':');
            let id = parts.next()?;
            let controllers = parts.next()?;
            let path = parts.next()?;
            let is_it = match hierarchy {
                Hierarchy::Unified => id == "0" && controllers.is_empty(),
                Hierarchy::V1(name) => controllers.split(',').any(|c| c == name),
            };
            is_it.then(|| path.to_owned())
        })
        .ok_or_else(|| match hierarchy {
            Hierarchy::Unified => io::Error::other("not in a cgroup v2 hierarchy"),
            Hierarchy::V1(name) => io::Error::other(format!("this process is in no {name} cgroup")),
        })?;
    let rel = own.strip_prefix(root.trim_end_matches('/')).unwrap_or(&own);
    Ok(mount.join(rel.trim_start_matches('/')))
}

/// Kills and removes the session cgroups a previous run left behind (the
/// server was killed before it could stop them).
fn kill_leftovers(dir: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if !path.is_dir() {
            continue;
        }
        let left = cgroup_procs(&path).len();
        if left > 0 {
            tracing::warn!(cgroup = %path.display(), processes = left, "killing processes a previous run left behind");
        }
        kill_cgroup(&path);
        let _ = std::fs::remove_dir(&path);
    }
}

/// Kills everything in a cgroup and waits (bounded) until it is empty.
fn kill_cgroup(cgroup: &Path) {
    if std::fs::write(cgroup.join("cgroup.kill"), "1").is_err() {
        // Before Linux 5.14: freeze so nothing forks meanwhile, kill, thaw
        // (a frozen process dies when thawed).
        let _ = std::fs::write(cgroup.join("cgroup.freeze"), "1");
        for pid in cgroup_procs(cgroup) {
            let _ = kill(pid, Signal::SIGKILL);
        }
        let _ = std::fs::write(cgroup.join("cgroup.freeze"), "0");
    }
    let deadline = Instant::now() + KILL_WAIT;
    while !cgroup_procs(cgroup).is_empty() && Instant::now() < deadline {
        std::thread::sleep(POLL_INTERVAL);
    }
}

/// The processes in a cgroup (v1 or v2).
pub(crate) fn cgroup_procs(cgroup: &Path) -> Vec<Pid> {
    std::fs::read_to_string(cgroup.join("cgroup.procs"))
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.trim().parse().ok())
        .map(Pid::from_raw)
        .collect()
}

/// Stops (SIGSTOP) the leader's descendants until a walk finds no new
/// one, then kills them all; repeats until none is left (bounded).
fn kill_tree(leader: Option<Pid>) {
    let Some(leader) = leader else { return };
    let deadline = Instant::now() + KILL_WAIT;
    loop {
        let mut seen: HashSet<Pid> = HashSet::new();
        loop {
            let found: Vec<Pid> = descendants(leader)
                .into_iter()
                .filter(|p| !seen.contains(p))
                .collect();
            if found.is_empty() {
                break;
            }
            for pid in found {
                let _ = kill(pid, Signal::SIGSTOP);
                seen.insert(pid);
            }
        }
        if seen.is_empty() || Instant::now() > deadline {
            return;
        }
        for pid in &seen {
            let _ = kill(*pid, Signal::SIGKILL);
        }
        std::thread::sleep(POLL_INTERVAL);
    }
}

/// Live (non-zombie) descendants of `root`, from `/proc` parent links.
fn descendants(root: Pid) -> Vec<Pid> {
    let procs = processes();
    let mut out = Vec::new();
    let mut frontier = vec![root.as_raw()];
    while let Some(parent) = frontier.pop() {
        for &(pid, ppid, state) in &procs {
            if ppid == parent && pid != parent {
                frontier.push(pid);
                if state != 'Z' {
                    out.push(Pid::from_raw(pid));
                }
            }
        }
    }
    out
}

/// `(pid, ppid, state)` of every process.
fn processes() -> Vec<(i32, i32, char)> {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    dir.flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
        .filter_map(|pid| {
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
            // The name may contain spaces and parentheses: split after the last ')'.
            let (_, rest) = stat.rsplit_once(") ")?;
            let mut fields = rest.split_whitespace();
            let state = fields.next()?.chars().next()?;
            let ppid = fields.next()?.parse().ok()?;
            Some((pid, ppid, state))
        })
        .collect()
}

/// A stable 64-bit FNV-1a hash (for the per-data-dir cgroup name; not security).
fn fnv1a(s: &std::ffi::OsStr) -> u64 {
    use std::os::unix::ffi::OsStrExt;
    s.as_bytes().iter().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn oom_kills_are_counted_from_v2_and_v1_memory_files() {
        let tmp = tempfile::tempdir().unwrap();
        let (v2, v1) = (tmp.path().join("v2"), tmp.path().join("v1"));
        std::fs::create_dir_all(&v2).unwrap();
        std::fs::create_dir_all(&v1).unwrap();
        let scope = Scope {
            cgroup: Some(v2.clone()),
            limit_cgroups: vec![v1.clone()],
            leader: None,
            remote: None,
        };
        assert_eq!(scope.oom_kills(), 0, "no memory controller: none");
        std::fs::write(
            v2.join("memory.events"),
            "low 0\nhigh 0\nmax 4\noom 2\noom_kill 2\noom_group_kill 0\n",
        )
        .unwrap();
        std::fs::write(
            v1.join("memory.oom_control"),
            "oom_kill_disable 0\nunder_oom 0\noom_kill 1\n",
        )
        .unwrap();
        assert_eq!(scope.oom_kills(), 3);
        // Not a real cgroup: dropping it would wait for it to empty.
        std::mem::forget(scope);
    }

    #[test]
    fn the_data_dir_hash_is_stable() {
        assert_eq!(fnv1a("".as_ref()), 0xcbf2_9ce4_8422_2325);
        assert_ne!(fnv1a("/a".as_ref()), fnv1a("/b".as_ref()));
    }
}
