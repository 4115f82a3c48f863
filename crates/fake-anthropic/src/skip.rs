//! Skipping a test whose tools are missing: loudly, and never on CI.
//!
//! A test that returns early because chromium, bubblewrap, nginx or the
//! Claude Code CLI is missing looks exactly like a pass. So it says on
//! stderr that it skipped and what is missing, and under `CI=true` (which
//! `.ci/run` sets; `scripts/test.sh` installs all of these first) it fails
//! instead: a green CI run means every test ran.

/// The environment variable that marks a CI run (`CI=true`).
pub const CI_ENV: &str = "CI";

/// Whether this is a CI run: `CI` is `true` or `1`.
pub fn under_ci() -> bool {
    std::env::var(CI_ENV).is_ok_and(|v| v == "true" || v == "1")
}

/// For a test that cannot run because `missing` (what, and how to get it)
/// is absent: prints that the test skipped; the test then returns early.
///
/// # Panics
/// Under `CI=true`, so that CI cannot pass a test that did not run.
#[track_caller]
pub fn skip_or_fail(missing: &str) {
    let test = std::thread::current().name().unwrap_or("a test").to_owned();
    if under_ci() {
        panic!(
            "{test} cannot run: {missing}. {CI_ENV}=true, where everything the tests need \
             is installed, so this fails instead of skipping"
        );
    }
    eprintln!("SKIPPED {test}: {missing} (under {CI_ENV}=true this fails)");
}
