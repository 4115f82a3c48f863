//! The `ccweb` binary: command-line parsing, configuration, logging,
//! signals and exit codes (0 ok, 1 failure, 2 bad usage or configuration).

mod cli;
mod doctor;
mod export;
mod migrate_homes;
mod settings;
mod unix_mode;

use anyhow::Context;
use clap::Parser;
use std::io::Write;
use std::process::ExitCode;

use cli::{Cli, Command, TokenCommand, UserCommand};
use settings::SettingsError;

/// Closes every descriptor above stderr that ccweb was started with.
///
/// Whatever started ccweb may leave descriptors open without
/// close-on-exec (a shell's or build tool's pipes, `/dev/null`); they
/// would reach every program ccweb starts for its users. Everything ccweb
/// opens itself is close-on-exec. Runs first, while ccweb has one thread
/// and has opened nothing (the directory listing's own descriptor is gone
/// by the time the others are closed).
fn close_inherited_fds() {
    let Ok(dir) = std::fs::read_dir("/proc/self/fd") else {
        return;
    };
    let fds: Vec<i32> = dir
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse().ok())
        .filter(|fd| *fd > 2)
        .collect();
    for fd in fds {
        // EBADF for the listing's own (already closed) descriptor.
        let _ = nix::unistd::close(fd);
    }
}

fn main() -> ExitCode {
    close_inherited_fds();
    let cli = Cli::parse();
    if let Command::Launcher { policy } = &cli.command {
        return unix_mode::launcher(&cli.global, policy.as_deref());
    }
    // isolation = "unix": the launcher starts and root is given up before
    // the runtime starts its threads.
    let unix_config = match &cli.command {
        Command::Serve(flags) => match unix_mode::before_serve(&cli.global, flags) {
            Ok(config) => config,
            Err(e) => {
                eprintln!("ccweb: {e}");
                return ExitCode::from(2);
            }
        },
        _ => None,
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("ccweb: cannot start the async runtime: {e}");
            return ExitCode::from(1);
        }
    };
    match runtime.block_on(run(cli, unix_config)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            let usage = e.chain().any(|c| {
                c.downcast_ref::<SettingsError>().is_some()
                    || matches!(
                        c.downcast_ref::<ccweb_store::StoreError>(),
                        Some(
                            ccweb_store::StoreError::InvalidInput(_)
                                | ccweb_store::StoreError::SharedIdentity
                        )
                    )
            });
            eprintln!("ccweb: {e:#}");
            ExitCode::from(if usage { 2 } else { 1 })
        }
    }
}

async fn run(cli: Cli, unix_config: Option<ccweb_server::Config>) -> anyhow::Result<()> {
    match cli.command {
        Command::Serve(flags) => serve(&cli.global, flags, unix_config).await,
        Command::Launcher { .. } => Ok(()),
        Command::User(cmd) => {
            let store = open_store(&cli.global).await?;
            let result = user(&store, cmd).await;
            store.close().await;
            result
        }
        Command::Export {
            session_id,
            format,
            output,
        } => {
            let config = settings::load(&cli.global, &cli::ServeFlags::default())?;
            export::run(&config, &session_id, &format, output.as_deref()).await
        }
        Command::Doctor(flags) => doctor::run(&cli.global, &flags).await,
        Command::MigrateHomes { dry_run, from } => {
            let config = settings::load(&cli.global, &cli::ServeFlags::default())?;
            let from = from
                .or_else(|| {
                    ccweb_server::sessions::claude_home(&ccweb_server::sessions::child_env(&config))
                })
                .ok_or_else(|| SettingsError("no shared Claude home: pass --from DIR".into()))?;
            let store = settings::open_store(&config).await?;
            let mut out = std::io::stdout();
            let result = migrate_homes::run(&config, &store, &from, dry_run, &mut out).await;
            store.close().await;
            match result? {
                0 => Ok(()),
                n => Err(anyhow::anyhow!(
                    "{n} conversation(s) could not be moved; see above"
                )),
            }
        }
        Command::Token(TokenCommand::Create {
            user,
            name,
            expires,
            scope,
        }) => {
            let store = open_store(&cli.global).await?;
            let result = async {
                // Arguments first: bad usage is exit 2, whatever the database says.
                let expires_at = expires
                    .as_deref()
                    .map(|s| {
                        settings::parse_duration(s).map(|d| time::OffsetDateTime::now_utc() + d)
                    })
                    .transpose()?;
                let u = store
                    .user_by_name(&user)
                    .await?
                    .with_context(|| format!("no user named {user:?}"))?;
                let (token, secret) = store
                    .create_api_token(u.id, &name, scope, expires_at)
                    .await?;
                cli_audit(
                    &store,
                    "cli.token.create",
                    &u.name,
                    serde_json::json!({"token_id": token.id, "name": token.name, "scope": token.scope}),
                )
                .await;
                writeln!(std::io::stdout(), "{secret}")?;
                Ok(())
            }
            .await;
            store.close().await;
            result
        }
    }
}

async fn user(store: &ccweb_store::Store, cmd: UserCommand) -> anyhow::Result<()> {
    let mut out = std::io::stdout();
    match cmd {
        UserCommand::Add {
            name,
            admin,
            password_stdin,
        } => {
            let password = if password_stdin {
                let mut line = String::new();
                std::io::stdin()
                    .read_line(&mut line)
                    .context("reading the password from stdin")?;
                Some(line.trim_end_matches(['\r', '\n']).to_owned())
            } else {
                None
            };
            let u = store.create_user(&name, password.as_deref(), admin).await?;
            cli_audit(
                store,
                "cli.user.add",
                &u.name,
                serde_json::json!({"is_admin": u.is_admin, "password": u.has_password}),
            )
            .await;
            writeln!(
                out,
                "created user {}{}",
                u.name,
                if u.is_admin { " (admin)" } else { "" }
            )?;
        }
        UserCommand::List => {
            writeln!(
                out,
                "{:<24} {:<6} {:<9} {:<8} created",
                "name", "admin", "disabled", "password"
            )?;
            for u in store.list_users().await? {
                let created = u
                    .created_at
                    .format(&time::format_description::well_known::Rfc3339)?;
                writeln!(
                    out,
                    "{:<24} {:<6} {:<9} {:<8} {created}",
                    u.name, u.is_admin, u.disabled, u.has_password
                )?;
            }
        }
        UserCommand::Disable { name } => {
            let u = store
                .set_user_disabled(&name, true)
                .await
                .map_err(|e| match e {
                    ccweb_store::StoreError::NotFound => anyhow::anyhow!("no user named {name:?}"),
                    other => other.into(),
                })?;
            cli_audit(store, "cli.user.disable", &u.name, serde_json::Value::Null).await;
            writeln!(out, "disabled user {}", u.name)?;
        }
    }
    Ok(())
}

/// Records a command-line change in the audit log (no user, no address:
/// whoever can run the command owns the data directory).
async fn cli_audit(
    store: &ccweb_store::Store,
    action: &str,
    target: &str,
    detail: serde_json::Value,
) {
    let entry = ccweb_store::NewAuditEntry {
        action: action.to_owned(),
        outcome: "success".to_owned(),
        target: Some(target.to_owned()),
        detail,
        ..Default::default()
    };
    if let Err(e) = store.append_audit(&entry).await {
        tracing::warn!(error = %e, "could not write the audit log");
    }
}

async fn open_store(global: &cli::Global) -> anyhow::Result<ccweb_store::Store> {
    let config = settings::load(global, &cli::ServeFlags::default())?;
    settings::open_store(&config).await
}

/// `loaded`: the configuration `isolation = "unix"` read before dropping root.
async fn serve(
    global: &cli::Global,
    flags: cli::ServeFlags,
    loaded: Option<ccweb_server::Config>,
) -> anyhow::Result<()> {
    let config = match loaded {
        Some(config) => config,
        None => settings::load(global, &flags)?,
    };
    // Fail closed: a configured sandbox that cannot work stops the start.
    ccweb_server::isolation::check(&config).map_err(|e| SettingsError(e.to_string()))?;
    settings::init_tracing(config.log_format);
    let store = settings::open_store(&config).await?;
    let enabled = store.count_enabled_users().await?;
    ccweb_server::isolation::check_shared_identity(&config, enabled)
        .map_err(|e| SettingsError(e.to_string()))?;
    if ccweb_server::health::find_program(&config.claude_bin).is_none() {
        tracing::warn!(claude_bin = %config.claude_bin.display(), "the Claude Code CLI was not found; sessions will fail to start");
    }
    let server = ccweb_server::Server::bind(config, store).await?;
    let addr = server.local_addr()?;
    tracing::info!(%addr, "listening");
    if let Some(url) = server.login_url() {
        // Printed on stdout, never logged: the URL carries a login secret,
        // and the log stream (stderr, a journal) is read by more than the
        // operator — e.g. a session's process through `/proc/<pid>/fd/2`.
        let mut out = std::io::stdout().lock();
        let _ = writeln!(
            out,
            "\n  ccweb is running. Open this one-time login link:\n\n    {url}\n"
        );
        let _ = out.flush();
    }
    server.run(settings::shutdown_signal()).await?;
    // What the process-tree containment could not tie to a session (a
    // daemon whose parent had already exited) ends with the server.
    ccweb_server::isolation::kill_adopted_orphans();
    Ok(())
}
