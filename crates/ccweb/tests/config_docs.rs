//! docs/configuration.md cannot drift from the code: every `Config` key is
//! documented with its default, nothing documented is unknown, the
//! environment-variable rule is stated, and every command-line flag is
//! mentioned. The failure lists exactly what to fix.
#![allow(clippy::unwrap_used)]

use serde_json::Value;
use std::collections::BTreeMap;
use std::path::PathBuf;

fn doc_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../docs/configuration.md")
}

/// Keys whose default the binary (not `Config::default`) decides, or that
/// derive from other keys, with the documented default.
const DERIVED_DEFAULTS: &[(&str, &str)] = &[
    ("data_dir", "`$XDG_DATA_HOME/ccweb`"),
    ("allowed_roots", "`[<start directory>]`"),
    (
        "oidc_redirect_url",
        "`public_url` + `/api/auth/oidc/callback`",
    ),
];

/// The rows of every `| key | default | meaning |` table: key → default cell.
fn documented(doc: &str) -> (BTreeMap<String, String>, Vec<String>) {
    let mut keys = BTreeMap::new();
    let mut duplicates = Vec::new();
    let mut in_table = false;
    for line in doc.lines() {
        let cells: Vec<&str> = line
            .trim()
            .trim_matches('|')
            .split(" | ")
            .map(str::trim)
            .collect();
        if cells.len() >= 2 && cells[0] == "key" && cells[1] == "default" {
            in_table = true;
            continue;
        }
        if !line.trim_start().starts_with('|') {
            in_table = false;
            continue;
        }
        if !in_table || cells[0].starts_with("---") {
            continue;
        }
        let key = cells[0].trim_matches('`').to_owned();
        let default = cells.get(1).copied().unwrap_or("").to_owned();
        if keys.insert(key.clone(), default).is_some() {
            duplicates.push(key);
        }
    }
    (keys, duplicates)
}

/// A default written the TOML-ish way the docs do, reduced to bare words:
/// quotes, brackets and commas go, `none` stands for unset, a trailing
/// `(explanation)` is ignored.
fn normalise_doc(cell: &str) -> String {
    let cell = match cell.find(" (") {
        Some(i) if cell.ends_with(')') => &cell[..i],
        _ => cell,
    };
    words(&cell.replace('`', ""))
}

fn normalise_code(value: &Value) -> String {
    match value {
        Value::Null => "none".into(),
        Value::String(s) => words(s),
        Value::Array(items) => items
            .iter()
            .map(normalise_code)
            .collect::<Vec<_>>()
            .join(" "),
        Value::Object(map) if map.is_empty() => "{}".into(),
        other => words(&other.to_string()),
    }
}

fn words(s: &str) -> String {
    s.replace(['"', '[', ']', ','], " ")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

#[test]
fn every_config_key_is_documented_with_its_default_and_nothing_else_is() {
    let doc = std::fs::read_to_string(doc_path()).unwrap();
    let Value::Object(defaults) = serde_json::to_value(ccweb_server::Config::default()).unwrap()
    else {
        panic!("Config serialises as a table");
    };
    let (documented, duplicates) = documented(&doc);
    let mut problems = Vec::new();
    for key in &duplicates {
        problems.push(format!("`{key}` is documented twice"));
    }
    for (key, value) in &defaults {
        let Some(cell) = documented.get(key) else {
            problems.push(format!(
                "`{key}` is missing from the tables (default `{}`)",
                normalise_code(value)
            ));
            continue;
        };
        let (want, got) = match DERIVED_DEFAULTS.iter().find(|(k, _)| k == key) {
            Some((_, doc_default)) => ((*doc_default).to_owned(), cell.clone()),
            None => (normalise_code(value), normalise_doc(cell)),
        };
        if want != got {
            problems.push(format!(
                "`{key}`: the docs say the default is {cell:?}, the code says {want:?}"
            ));
        }
    }
    for key in documented.keys() {
        if !defaults.contains_key(key) {
            problems.push(format!(
                "`{key}` is documented but is not a Config key (remove it or fix its name)"
            ));
        }
    }
    // The environment variable of every key follows one rule; the doc states it.
    if !doc.contains("`CCWEB_<KEY>` (the key in upper case") {
        problems.push(
            "the rule \"`CCWEB_<KEY>` (the key in upper case…\" for environment variables is gone"
                .into(),
        );
    }
    assert!(
        problems.is_empty(),
        "docs/configuration.md is out of step with Config:\n  - {}",
        problems.join("\n  - ")
    );
}

/// Every `--flag` of `ccweb --help` and `ccweb serve --help`.
fn flags() -> Vec<String> {
    let mut flags = Vec::new();
    for args in [&["--help"][..], &["serve", "--help"][..]] {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_ccweb"))
            .args(args)
            .output()
            .unwrap();
        assert!(out.status.success());
        for word in String::from_utf8(out.stdout).unwrap().split_whitespace() {
            let flag: String = word
                .trim_end_matches([',', '.'])
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '-')
                .collect();
            if flag.starts_with("--")
                && flag.len() > 2
                && !["--help", "--version"].contains(&flag.as_str())
                && !flags.contains(&flag)
            {
                flags.push(flag);
            }
        }
    }
    flags
}

#[test]
fn every_command_line_flag_is_documented() {
    let doc = std::fs::read_to_string(doc_path()).unwrap();
    let flags = flags();
    for expected in [
        "--listen",
        "--data-dir",
        "--config",
        "--claude-bin",
        "--allowed-root",
        "--auth",
    ] {
        assert!(
            flags.iter().any(|f| f == expected),
            "{expected} in {flags:?}"
        );
    }
    let missing: Vec<&String> = flags
        .iter()
        .filter(|f| {
            !doc.match_indices(f.as_str()).any(|(i, _)| {
                // Whole flags only: `--auth` is not `--authority`.
                !doc[i + f.len()..]
                    .chars()
                    .next()
                    .is_some_and(|c| c.is_ascii_alphanumeric() || c == '-')
            })
        })
        .collect();
    assert!(
        missing.is_empty(),
        "docs/configuration.md does not mention these flags: {missing:?}"
    );
}

#[test]
fn the_normalisation_reads_toml_ish_defaults() {
    assert_eq!(normalise_doc("`0` (never)"), "0");
    assert_eq!(normalise_doc("`[\"openid\", \"email\"]`"), "openid email");
    assert_eq!(normalise_doc("none"), "none");
    assert_eq!(normalise_doc("`\"Sign in with SSO\"`"), "Sign in with SSO");
    assert_eq!(
        normalise_code(&serde_json::json!(["openid", "email"])),
        "openid email"
    );
}
