//! The launcher's protocol, end to end in one process: the launcher serves
//! one end of a socket pair on a thread, the test talks to it through the
//! server's client. Needs root (it creates a Unix account `ccwt…`).
#![allow(clippy::unwrap_used)]

use ccweb_runner::launch::{run_launcher, AccountPolicy, Launcher, LauncherPolicy};
use nix::fcntl::OFlag;
use nix::sys::stat::Mode;
use std::collections::BTreeMap;
use std::io::Read;
use std::os::fd::OwnedFd;
use std::path::Path;

fn policy(tag: &str) -> LauncherPolicy {
    LauncherPolicy {
        accounts: AccountPolicy {
            pattern: format!("{tag}-{{user}}"),
            map: BTreeMap::from([
                ("boss".into(), "root".into()),
                ("own".into(), "daemon".into()),
            ]),
            create: true,
            user_roots: Vec::new(),
            server_uid: 4_000_000,
            uid_min: 1000,
        },
        instance: std::env::temp_dir().join(format!("{tag}-instance")),
        max_processes: 0,
        max_memory_bytes: 0,
    }
}

/// Three pipes: the child's ends, and ours (stdin's write end dropped).
fn pipes() -> (Vec<OwnedFd>, OwnedFd) {
    let (in_r, _in_w) = nix::unistd::pipe2(OFlag::O_CLOEXEC).unwrap();
    let (out_r, out_w) = nix::unistd::pipe2(OFlag::O_CLOEXEC).unwrap();
    let err_w = out_w.try_clone().unwrap();
    (vec![in_r, out_w, err_w], out_r)
}

#[tokio::test]
async fn the_launcher_runs_only_allowed_accounts_and_drops_every_privilege() {
    if !nix::unistd::geteuid().is_root() {
        fake_anthropic::skip_or_fail("the launcher test needs root");
        return;
    }
    let tag = format!("ccwt{}l", std::process::id() % 100_000);
    let account = format!("{tag}-u");
    let (ours, theirs) = ccweb_runner::launch::socket_pair().unwrap();
    let served = policy(&tag);
    std::thread::spawn(move || run_launcher(theirs, served));
    // A malformed request is refused alone: the launcher goes on serving.
    nix::sys::socket::send(
        std::os::fd::AsRawFd::as_raw_fd(&ours),
        b"not json",
        nix::sys::socket::MsgFlags::empty(),
    )
    .unwrap();
    let launcher = Launcher::new(ours);

    // Root, system accounts and bad names are refused.
    let err = launcher.prepare("boss").unwrap_err();
    assert!(err.contains("refused"), "{err}");
    let err = launcher.prepare("own").unwrap_err();
    assert!(err.contains("uid below 1000"), "{err}");
    let err = launcher.prepare("a.b").unwrap_err();
    assert!(err.contains("not allowed"), "{err}");
    // Spawning as a user never prepared: no such account.
    let (stdio, _) = pipes();
    let err = launcher
        .spawn(
            "u",
            "/bin/true".into(),
            vec![],
            vec![],
            "/tmp".into(),
            stdio,
        )
        .unwrap_err();
    assert!(err.contains("no Unix account"), "{err}");

    let prepared = launcher.prepare("u").unwrap();
    let cleanup = scopeguard(&account);
    assert_eq!(prepared.name, account);
    assert!(prepared.uid >= 1000);
    let home = std::fs::metadata(&prepared.home).unwrap();
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    assert_eq!(
        (home.uid(), home.permissions().mode() & 0o777),
        (prepared.uid, 0o700)
    );

    // A relative program, or the wrong descriptors: refused.
    let (stdio, _) = pipes();
    let err = launcher
        .spawn("u", "sh".into(), vec![], vec![], "/tmp".into(), stdio)
        .unwrap_err();
    assert!(err.contains("absolute"), "{err}");
    let (mut stdio, _) = pipes();
    stdio.pop();
    let err = launcher
        .spawn("u", "/bin/sh".into(), vec![], vec![], "/tmp".into(), stdio)
        .unwrap_err();
    assert!(err.contains("descriptors"), "{err}");

    // The child: the account's uid and gid, no other group, no way back to
    // root, the given environment only, in the given directory.
    let (stdio, out) = pipes();
    let script = "id -u; id -g; id -G; pwd; echo \"$ONLY\"; env | wc -l; \
                  grep -E '^(CapEff|NoNewPrivs)' /proc/self/status";
    let child = launcher
        .spawn(
            "u",
            "/bin/sh".into(),
            vec!["-c".into(), script.into()],
            vec![("ONLY".into(), "given".into())],
            "/tmp".into(),
            stdio,
        )
        .unwrap();
    let mut text = String::new();
    std::fs::File::from(out).read_to_string(&mut text).unwrap();
    assert_eq!(child.exited.await.unwrap(), 0, "{text}");
    let (uid, gid) = (prepared.uid, prepared.gid);
    assert!(
        text.starts_with(&format!("{uid}\n{gid}\n{gid}\n/tmp\ngiven\n")),
        "{text}"
    );
    assert!(text.contains("CapEff:\t0000000000000000"), "{text}");

    // Files are opened as the account, with the server's own opener: its
    // own regular files below the base only, never through a symlink.
    let home = &prepared.home;
    let mine = home.join("mine.jsonl");
    std::fs::write(&mine, "{}\n").unwrap();
    std::os::unix::fs::chown(&mine, Some(uid), Some(gid)).unwrap();
    let mut text = String::new();
    launcher
        .open_beneath_as("u", home, &mine)
        .unwrap()
        .read_to_string(&mut text)
        .unwrap();
    assert_eq!(text, "{}\n");
    let err = launcher
        .open_beneath_as("u", Path::new("/etc"), Path::new("/etc/shadow"))
        .unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::PermissionDenied, "{err}");
    let err = launcher
        .open_beneath_as("u", home, Path::new("/etc/passwd"))
        .unwrap_err();
    assert_eq!(
        err.kind(),
        std::io::ErrorKind::InvalidInput,
        "outside the base: {err}"
    );
    let fifo = home.join("fifo");
    nix::unistd::mkfifo(&fifo, Mode::from_bits_truncate(0o600)).unwrap();
    std::os::unix::fs::chown(&fifo, Some(uid), Some(gid)).unwrap();
    let err = launcher.open_beneath_as("u", home, &fifo).unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput, "{err}");
    let link = home.join("link");
    std::os::unix::fs::symlink(&mine, &link).unwrap();
    let err = launcher.open_beneath_as("u", home, &link).unwrap_err();
    assert!(
        ccweb_runner::untrusted::is_symlink_refusal(&err),
        "no final symlink followed: {err}"
    );
    let linked_dir = home.join("linked");
    std::os::unix::fs::symlink(home, &linked_dir).unwrap();
    let err = launcher
        .open_beneath_as("u", home, &linked_dir.join("mine.jsonl"))
        .unwrap_err();
    assert!(
        ccweb_runner::untrusted::is_symlink_refusal(&err),
        "no symlinked directory on the way: {err}"
    );

    // Directories are resolved as the account: into its own 0700 home,
    // not into another's.
    let deep = prepared.home.join("work/project");
    std::fs::create_dir_all(&deep).unwrap();
    for d in [prepared.home.join("work"), deep.clone()] {
        std::os::unix::fs::chown(&d, Some(uid), Some(gid)).unwrap();
    }
    let resolved = launcher
        .resolve_as("u", &prepared.home.join("work/../work/project"))
        .unwrap();
    assert_eq!(resolved, deep);
    // Subdirectories are listed as the account too.
    let listed = launcher
        .list_subdirs_as("u", &prepared.home.join("work"), false)
        .unwrap();
    assert_eq!(listed.dirs.len(), 1, "{listed:?}");
    assert_eq!(listed.dirs[0].path, deep);
    // A listing bigger than one message comes in parts, whole.
    let many = prepared.home.join("many");
    for i in 0..400 {
        std::fs::create_dir_all(many.join(format!("{i:03}-{}", "x".repeat(200)))).unwrap();
    }
    let listed = launcher.list_subdirs_as("u", &many, false).unwrap();
    assert_eq!(listed.dirs.len(), 400);
    assert!(!listed.truncated);
    assert!(listed.dirs[399].name.starts_with("399-"));
    // Root could see into a 0700 directory of root's; the account cannot.
    let private = std::env::temp_dir().join(format!("{tag}-private"));
    std::fs::create_dir_all(private.join("sub")).unwrap();
    std::fs::set_permissions(&private, std::fs::Permissions::from_mode(0o700)).unwrap();
    let listing = launcher.list_subdirs_as("u", &private, false).unwrap_err();
    assert_eq!(
        listing.kind(),
        std::io::ErrorKind::PermissionDenied,
        "{listing}"
    );
    let listing = launcher
        .list_conversations_as("u", &private, &private.join("sub"))
        .unwrap();
    assert!(
        listing.is_empty(),
        "nothing listed where the account cannot look"
    );
    let err = launcher.resolve_as("u", &private.join("sub")).unwrap_err();
    std::fs::remove_dir_all(&private).unwrap();
    assert!(err.contains("Permission denied"), "{err}");
    assert!(launcher
        .resolve_as("u", &mine)
        .unwrap_err()
        .contains("not a directory"));
    // A working directory must be the canonical path of a directory the
    // account may enter.
    let (stdio, _) = pipes();
    let err = launcher
        .spawn(
            "u",
            "/bin/true".into(),
            vec![],
            vec![],
            prepared.home.join("work/../work"),
            stdio,
        )
        .unwrap_err();
    assert!(err.contains("working directory"), "{err}");
    let (stdio, _) = pipes();
    let err = launcher
        .spawn(
            "u",
            "/bin/true".into(),
            vec![],
            vec![],
            "/root".into(),
            stdio,
        )
        .unwrap_err();
    assert!(err.contains("Permission denied"), "{err}");

    // Signals go through the channel; the launcher reports the end.
    let (stdio, _out) = pipes();
    let child = launcher
        .spawn(
            "u",
            "/bin/sleep".into(),
            vec!["600".into()],
            vec![],
            "/tmp".into(),
            stdio,
        )
        .unwrap();
    child.channel.signal(nix::sys::signal::Signal::SIGTERM);
    assert_eq!(child.exited.await.unwrap(), 128 + 15);
    drop(cleanup);
}

/// Removes the account (and its home) when dropped.
fn scopeguard(account: &str) -> impl Drop {
    struct Remove(String);
    impl Drop for Remove {
        fn drop(&mut self) {
            let _ = std::process::Command::new("userdel")
                .args(["--remove", &self.0])
                .output();
        }
    }
    Remove(account.to_owned())
}
