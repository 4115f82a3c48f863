//! Where in its file an `Edit` / `MultiEdit` lands, so a permission prompt's
//! diff can carry the file's real line numbers. The tool input only holds
//! `old_string`; the file is read through the CLI (its `read_file` control
//! request: the same process, identity and sandbox that would make the
//! edit), never by ccweb itself. Pure: no I/O here.

use serde_json::Value;

/// Largest file read for this, in bytes (a bigger one gets no line numbers).
pub(crate) const MAX_READ_BYTES: u64 = 4 * 1024 * 1024;

/// One edit: replace `old` by `new` (every occurrence when `all`).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Edit {
    old: String,
    new: String,
    all: bool,
}

fn edit_of(v: &Value) -> Option<Edit> {
    Some(Edit {
        old: v.get("old_string")?.as_str()?.to_owned(),
        new: v.get("new_string")?.as_str()?.to_owned(),
        all: v.get("replace_all").and_then(Value::as_bool) == Some(true),
    })
}

/// The file and the edits of an `Edit` or `MultiEdit` input; None for other tools.
pub(crate) fn edits_of(tool: &str, input: &Value) -> Option<(String, Vec<Edit>)> {
    let path = input.get("file_path")?.as_str()?.to_owned();
    let edits = match tool {
        "Edit" => vec![edit_of(input)?],
        "MultiEdit" => input
            .get("edits")?
            .as_array()?
            .iter()
            .map(edit_of)
            .collect::<Option<Vec<_>>>()?,
        _ => return None,
    };
    (!path.is_empty() && !edits.is_empty()).then_some((path, edits))
}

/// The 1-based line where each edit's `old_string` starts, applying the
/// edits in order as the CLI does (None when it is not in the file).
pub(crate) fn edit_lines(contents: &str, edits: &[Edit]) -> Vec<Option<u64>> {
    let mut text = contents.to_owned();
    let mut out = Vec::with_capacity(edits.len());
    for e in edits {
        let found = (!e.old.is_empty()).then(|| text.find(&e.old)).flatten();
        out.push(found.map(|at| text[..at].matches('\n').count() as u64 + 1));
        if found.is_some() {
            text = if e.all {
                text.replace(&e.old, &e.new)
            } else {
                text.replacen(&e.old, &e.new, 1)
            };
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn an_edit_is_found_on_its_line() {
        let (path, edits) = edits_of(
            "Edit",
            &json!({"file_path": "/p/a.rs", "old_string": "fn b()", "new_string": "fn c()"}),
        )
        .unwrap();
        assert_eq!(path, "/p/a.rs");
        assert_eq!(
            edit_lines("fn a() {}\n\nfn b() {}\n", &edits),
            vec![Some(3)]
        );
        assert_eq!(edit_lines("nothing here\n", &edits), vec![None]);
    }

    #[test]
    fn multi_edits_apply_in_order() {
        let (_, edits) = edits_of(
            "MultiEdit",
            &json!({"file_path": "/p/a", "edits": [
                {"old_string": "one\n", "new_string": "one\nand a half\n"},
                {"old_string": "two", "new_string": "2"},
                {"old_string": "missing", "new_string": "x"},
                {"old_string": "", "new_string": "x"}
            ]}),
        )
        .unwrap();
        assert_eq!(
            edit_lines("zero\none\ntwo\n", &edits),
            vec![Some(2), Some(4), None, None]
        );
    }

    #[test]
    fn other_tools_and_broken_inputs_have_no_edits() {
        assert_eq!(
            edits_of("Write", &json!({"file_path": "/a", "content": "x"})),
            None
        );
        assert_eq!(edits_of("Edit", &json!({"file_path": "/a"})), None);
        assert_eq!(
            edits_of("MultiEdit", &json!({"file_path": "/a", "edits": []})),
            None
        );
        assert_eq!(
            edits_of("Edit", &json!({"old_string": "a", "new_string": "b"})),
            None
        );
    }
}
