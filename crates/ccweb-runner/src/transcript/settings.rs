//! What a conversation ran with last: the permission mode of its last
//! prompt and the model it was switched to. A terminal session resumes with
//! them; the TUI's Shift+Tab and `/model` leave no trace but the file.

use std::io;
use std::path::Path;

use serde_json::Value;

use super::lines::Piece;
use super::{parse_line, read_lines, FileLine, Parsed, MAX_LINE_BYTES};
use crate::user_files::UserFiles;

/// The settings a conversation ended with, as far as its file tells.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct LastSettings {
    /// `None`: never switched; `Some(None)`: switched back to the default;
    /// `Some(Some(m))`: switched to `m` (the `/model` argument, or the model
    /// of the first reply after a switch made in the model picker).
    pub model: Option<Option<String>>,
    /// The permission mode of the last prompt (or the one at the start).
    pub permission_mode: Option<String>,
}

/// Where a `/model` command stands while the records are read.
enum Switch {
    None,
    /// Typed with this argument ('' from the picker); awaiting its output.
    Asked(String),
    /// Done in the picker: the next reply names the model.
    AwaitingReply,
}

/// Reads `path` (below the Claude home `base`, opened by `files`; no
/// symlinks, regular files only) for [`LastSettings`]. Unreadable lines are skipped.
///
/// Blocking; run it on a blocking thread.
pub fn last_settings(files: &UserFiles, base: &Path, path: &Path) -> io::Result<LastSettings> {
    let mut state = (LastSettings::default(), Switch::None);
    read_lines(files, base, path, (u64::MAX, MAX_LINE_BYTES), |line| {
        let (FileLine::Whole(Piece::Line { bytes, .. }) | FileLine::Tail(bytes)) = line else {
            return;
        };
        if let Parsed::Record(record) = parse_line(&bytes) {
            read_record(&record, &mut state);
        }
    })?;
    Ok(state.0)
}

/// The text of a user record: a string, or its first text block.
fn user_text(record: &Value) -> Option<&str> {
    let content = record.get("message")?.get("content")?;
    content.as_str().or_else(|| {
        content
            .as_array()?
            .iter()
            .find_map(|b| b.get("text").and_then(Value::as_str))
    })
}

fn read_record(record: &Value, (settings, switch): &mut (LastSettings, Switch)) {
    if record.get("isSidechain").and_then(Value::as_bool) == Some(true) {
        return;
    }
    let str_of = |key: &str| record.get(key).and_then(Value::as_str);
    match str_of("type") {
        Some("permission-mode") => {
            if let Some(mode) = str_of("permissionMode") {
                settings.permission_mode = Some(mode.to_owned());
            }
        }
        Some("user") => {
            if let Some(mode) = str_of("permissionMode") {
                settings.permission_mode = Some(mode.to_owned());
            }
            let Some(text) = user_text(record) else {
                return;
            };
            if super::events::between(text, "command-name").map(str::trim) == Some("/model") {
                let args = super::events::between(text, "command-args").unwrap_or("");
                *switch = Switch::Asked(args.trim().to_owned());
            } else if let Some(out) = super::events::between(text, "local-command-stdout") {
                if let Switch::Asked(args) = std::mem::replace(switch, Switch::None) {
                    // Only a switch the CLI confirmed counts.
                    if out.trim_start().starts_with("Set model to") {
                        match args.as_str() {
                            "" => *switch = Switch::AwaitingReply,
                            "default" => settings.model = Some(None),
                            name => settings.model = Some(Some(name.to_owned())),
                        }
                    }
                }
            }
        }
        Some("assistant") if matches!(switch, Switch::AwaitingReply) => {
            let model = record
                .get("message")
                .and_then(|m| m.get("model"))
                .and_then(Value::as_str);
            if let Some(model) = model.filter(|m| *m != "<synthetic>") {
                settings.model = Some(Some(model.to_owned()));
                *switch = Switch::None;
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use serde_json::json;
    use std::io::Write;

    fn settings_of(records: &[Value]) -> LastSettings {
        let mut file = tempfile::NamedTempFile::new().unwrap();
        for r in records {
            writeln!(file, "{r}").unwrap();
        }
        writeln!(file, "not json").unwrap();
        last_settings(
            &UserFiles::Direct,
            file.path().parent().unwrap(),
            file.path(),
        )
        .unwrap()
    }
    fn user(text: &str, mode: Option<&str>) -> Value {
        let mut r = json!({"type": "user", "message": {"role": "user", "content": text}});
        if let Some(mode) = mode {
            r["permissionMode"] = json!(mode);
        }
        r
    }
    fn model_command(args: &str) -> Value {
        user(&format!("<command-name>/model</command-name>\n <command-message>model</command-message>\n <command-args>{args}</command-args>"), None)
    }
    fn stdout(text: &str) -> Value {
        user(
            &format!("<local-command-stdout>{text}</local-command-stdout>"),
            None,
        )
    }
    fn reply(model: &str) -> Value {
        json!({"type": "assistant", "message": {"model": model, "content": []}})
    }

    #[test]
    fn nothing_switched_leaves_the_model_alone_and_reads_the_start_mode() {
        let s = settings_of(&[
            json!({"type": "permission-mode", "permissionMode": "plan"}),
            reply("claude-opus-4-8"),
        ]);
        assert_eq!(
            s,
            LastSettings {
                model: None,
                permission_mode: Some("plan".into())
            }
        );
    }

    #[test]
    fn the_last_prompts_mode_and_a_confirmed_model_switch_count() {
        let s = settings_of(&[
            json!({"type": "permission-mode", "permissionMode": "default"}),
            model_command("sonnet"),
            stdout("Set model to \u{1b}[1mSonnet 5\u{1b}[22m and saved as your default"),
            user("first", Some("default")),
            user("second", Some("acceptEdits")),
            // A subagent's records are not the session's.
            json!({"type": "user", "isSidechain": true, "permissionMode": "plan", "message": {"content": "x"}}),
        ]);
        assert_eq!(
            s,
            LastSettings {
                model: Some(Some("sonnet".into())),
                permission_mode: Some("acceptEdits".into())
            }
        );
    }

    #[test]
    fn a_refused_switch_does_not_count_and_the_picker_takes_the_next_reply() {
        let refused = settings_of(&[
            model_command("nonsense"),
            stdout("Model 'nonsense' not found"),
        ]);
        assert_eq!(refused.model, None);
        let picked = settings_of(&[
            model_command(""),
            stdout("Set model to Haiku"),
            reply("<synthetic>"),
            reply("claude-haiku-4-5"),
            reply("claude-opus-4-8"),
        ]);
        assert_eq!(picked.model, Some(Some("claude-haiku-4-5".into())));
        let reset = settings_of(&[
            model_command("sonnet"),
            stdout("Set model to Sonnet"),
            model_command("default"),
            stdout("Set model to Default"),
        ]);
        assert_eq!(reset.model, Some(None));
    }
}
