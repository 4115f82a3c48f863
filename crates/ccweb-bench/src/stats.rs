//! Samples per (system, metric), their medians and ranges, and the
//! Markdown tables the suite prints.

use std::collections::BTreeMap;
use std::fmt::Write as _;

/// Median of `v` (the mean of the middle two for an even count); NaN when empty.
pub(crate) fn median(v: &[f64]) -> f64 {
    let mut s: Vec<f64> = v.iter().copied().filter(|x| x.is_finite()).collect();
    if s.is_empty() {
        return f64::NAN;
    }
    s.sort_by(f64::total_cmp);
    let n = s.len();
    if n % 2 == 1 {
        s[n / 2]
    } else {
        (s[n / 2 - 1] + s[n / 2]) / 2.0
    }
}

/// The `q` quantile (0..=1) of `v`, nearest rank; NaN when empty.
pub(crate) fn quantile(v: &[f64], q: f64) -> f64 {
    let mut s: Vec<f64> = v.iter().copied().filter(|x| x.is_finite()).collect();
    if s.is_empty() {
        return f64::NAN;
    }
    s.sort_by(f64::total_cmp);
    let rank = (q * s.len() as f64).ceil() as usize;
    s[rank.clamp(1, s.len()) - 1]
}

/// Every sample of one workload: `system → metric → runs`.
#[derive(Debug, Default)]
pub(crate) struct Samples {
    by: BTreeMap<(String, String), Vec<f64>>,
}

impl Samples {
    /// Records one run's value.
    pub(crate) fn push(&mut self, system: &str, metric: &str, value: f64) {
        self.by
            .entry((system.to_owned(), metric.to_owned()))
            .or_default()
            .push(value);
    }

    /// The runs of `system`'s `metric`.
    pub(crate) fn get(&self, system: &str, metric: &str) -> &[f64] {
        self.by
            .get(&(system.to_owned(), metric.to_owned()))
            .map_or(&[], Vec::as_slice)
    }

    /// Median of `system`'s `metric`.
    pub(crate) fn median(&self, system: &str, metric: &str) -> f64 {
        median(self.get(system, metric))
    }

    /// `median (min–max, n runs)` with `digits` decimals, or `–`.
    pub(crate) fn cell(&self, system: &str, metric: &str, digits: usize) -> String {
        let v = self.get(system, metric);
        let finite: Vec<f64> = v.iter().copied().filter(|x| x.is_finite()).collect();
        if finite.is_empty() {
            return "–".into();
        }
        let min = finite.iter().copied().fold(f64::INFINITY, f64::min);
        let max = finite.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        if finite.len() == 1 {
            return format!("{:.digits$}", finite[0]);
        }
        format!(
            "{:.digits$} ({min:.digits$}–{max:.digits$})",
            median(&finite)
        )
    }

    /// `a`'s median over `b`'s (same metric), as `1.23×`, or `–`.
    pub(crate) fn ratio(&self, metric: &str, a: &str, b: &str) -> String {
        let r = self.median(a, metric) / self.median(b, metric);
        if r.is_finite() {
            format!("{r:.2}×")
        } else {
            "–".into()
        }
    }
}

/// A Markdown table under a heading.
#[derive(Debug, Default)]
pub(crate) struct Table {
    /// `### title`.
    pub(crate) title: String,
    /// Column names.
    pub(crate) header: Vec<String>,
    /// Cells, row by row.
    pub(crate) rows: Vec<Vec<String>>,
    /// Lines printed under the table.
    pub(crate) notes: Vec<String>,
}

impl Table {
    /// An empty table with these columns.
    pub(crate) fn new(title: &str, header: &[&str]) -> Self {
        Self {
            title: title.to_owned(),
            header: header.iter().map(|h| (*h).to_owned()).collect(),
            ..Self::default()
        }
    }

    /// Adds a row.
    pub(crate) fn row(&mut self, cells: Vec<String>) {
        self.rows.push(cells);
    }

    /// Adds a note under the table.
    pub(crate) fn note(&mut self, text: impl Into<String>) {
        self.notes.push(text.into());
    }

    /// The table as Markdown.
    pub(crate) fn markdown(&self) -> String {
        let mut out = format!("### {}\n\n", self.title);
        let _ = writeln!(out, "| {} |", self.header.join(" | "));
        let _ = writeln!(
            out,
            "|{}",
            self.header.iter().map(|_| " --- |").collect::<String>()
        );
        for row in &self.rows {
            let _ = writeln!(out, "| {} |", row.join(" | "));
        }
        if !self.notes.is_empty() {
            out.push('\n');
            for n in &self.notes {
                let _ = writeln!(out, "{n}");
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn medians_and_quantiles() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&[4.0, 1.0, 2.0, 3.0]), 2.5);
        assert!(median(&[]).is_nan());
        let v: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(quantile(&v, 0.5), 50.0);
        assert_eq!(quantile(&v, 0.99), 99.0);
        assert_eq!(quantile(&v, 1.0), 100.0);
    }

    #[test]
    fn cells_and_ratios() {
        let mut s = Samples::default();
        for x in [10.0, 30.0, 20.0] {
            s.push("a", "m", x);
        }
        s.push("b", "m", 10.0);
        assert_eq!(s.cell("a", "m", 1), "20.0 (10.0–30.0)");
        assert_eq!(s.ratio("m", "a", "b"), "2.00×");
        assert_eq!(s.cell("c", "m", 1), "–");
        assert!(Table::new("t", &["x", "y"])
            .markdown()
            .contains("| x | y |"));
    }
}
