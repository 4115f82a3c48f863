//! A user's own settings: the preferences the web UI keeps on the server
//! (`GET`/`PUT /api/me/preferences`), so they follow the user across devices.

use crate::session::{string_enum, UnknownVariant};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// The colour theme of the web UI.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Theme {
    /// Follow the system's light or dark setting.
    #[default]
    System,
    /// Always light.
    Light,
    /// Always dark.
    Dark,
}

string_enum!(Theme {
    System => "system",
    Light => "light",
    Dark => "dark",
});

/// Every preference of a user; a user who never chose has the defaults.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Preferences {
    /// The colour theme.
    pub theme: Theme,
}

/// `PUT /api/me/preferences`: the preferences to change; a field left out
/// keeps its value (so an older client never resets a newer setting).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PreferencesChange {
    /// A new colour theme.
    pub theme: Option<Theme>,
}

impl Preferences {
    /// These preferences with `change` applied.
    pub fn with(self, change: PreferencesChange) -> Preferences {
        Preferences {
            theme: change.theme.unwrap_or(self.theme),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn themes_are_spelled_alike_on_the_wire_and_in_the_database() {
        for theme in [Theme::System, Theme::Light, Theme::Dark] {
            let wire = serde_json::to_value(theme).unwrap();
            assert_eq!(wire, theme.as_str());
            assert_eq!(theme.as_str().parse::<Theme>(), Ok(theme));
        }
        assert!("Dark".parse::<Theme>().is_err());
        assert_eq!(Preferences::default().theme, Theme::System);
    }

    #[test]
    fn a_change_replaces_only_the_fields_it_names() {
        let dark = Preferences { theme: Theme::Dark };
        assert_eq!(dark.with(PreferencesChange::default()), dark);
        let light = dark.with(PreferencesChange {
            theme: Some(Theme::Light),
        });
        assert_eq!(light.theme, Theme::Light);
        let unknown: Result<PreferencesChange, _> =
            serde_json::from_str(r#"{"theme":"dark","font":"big"}"#);
        assert!(unknown.is_err());
    }
}
