//! The cohort the estimators run on: one row per subject (a limb, a patient),
//! validated once, then held sorted by duration so that every estimator is a
//! single pass over contiguous columns.

use crate::error::{InvalidInput, Problem};
use serde::Serialize;
use std::collections::HashMap;
use std::fmt;

/// Event code of a censored subject (still event-free when last seen).
pub const CENSORED: u8 = 0;
/// Event code of the event of interest (for Kaplan-Meier, log-rank and Cox:
/// the only event code accepted besides [`CENSORED`]).
pub const EVENT: u8 = 1;

const DURATION_ACCEPTED: &str = "a finite number of days >= 0";
const COVARIATE_ACCEPTED: &str = "a finite number";

/// A group label as the caller gave it: a small integer (arm, site code) or a
/// word. Groups are reported in sorted order: numbers by value first, then
/// words in byte order (the order of `numpy.unique` for a column of one kind).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(untagged)]
pub enum GroupLabel {
    /// An integer label.
    Number(i64),
    /// A text label.
    Text(String),
}

impl fmt::Display for GroupLabel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            GroupLabel::Number(n) => write!(f, "{n}"),
            GroupLabel::Text(s) => f.write_str(s),
        }
    }
}

impl From<i64> for GroupLabel {
    fn from(n: i64) -> Self {
        GroupLabel::Number(n)
    }
}

impl From<&str> for GroupLabel {
    fn from(s: &str) -> Self {
        GroupLabel::Text(s.to_string())
    }
}

/// One subject, as pushed into a [`CohortBuilder`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Subject<'a> {
    /// Days from time zero (index procedure, enrolment) to the event or to the
    /// last follow-up; finite and >= 0.
    pub duration_days: f64,
    /// [`CENSORED`] (0), [`EVENT`] (1, the event of interest), or 2..=255 for
    /// a competing event (used only by the cumulative incidence estimator).
    pub event: u8,
    /// The subject's covariates for a Cox model, in the order of the builder's
    /// covariate names (empty when the builder has none).
    pub covariates: &'a [f64],
}

/// Collects and validates subjects, then sorts them once into a [`Cohort`].
#[derive(Debug, Clone, Default)]
pub struct CohortBuilder {
    duration_days: Vec<f64>,
    event: Vec<u8>,
    group: Vec<u32>,
    labels: Vec<GroupLabel>,
    label_index: HashMap<GroupLabel, u32>,
    grouped: Option<bool>,
    covariate_names: Vec<String>,
    covariates: Vec<f64>,
    first_competing: Option<(usize, u8)>,
}

impl CohortBuilder {
    /// A builder for subjects without covariates.
    pub fn new() -> Self {
        CohortBuilder::default()
    }

    /// A builder for subjects with the named covariates (each name non-empty
    /// and unique).
    pub fn with_covariates(names: Vec<String>) -> Result<Self, InvalidInput> {
        for (j, name) in names.iter().enumerate() {
            if name.is_empty() {
                return Err(InvalidInput::option(
                    format!("covariate_names[{j}]"),
                    Some(String::new()),
                    Problem::Missing,
                    "a non-empty covariate name",
                ));
            }
            if names[..j].contains(name) {
                return Err(InvalidInput::option(
                    format!("covariate_names[{j}]"),
                    Some(name.clone()),
                    Problem::Inconsistent,
                    "each covariate name once",
                ));
            }
        }
        Ok(CohortBuilder { covariate_names: names, ..CohortBuilder::default() })
    }

    /// Reserve room for `additional` more subjects.
    pub fn reserve(&mut self, additional: usize) {
        self.duration_days.reserve(additional);
        self.event.reserve(additional);
        self.covariates.reserve(additional.saturating_mul(self.covariate_names.len()));
    }

    /// Number of subjects pushed so far (the row index of the next one).
    pub fn len(&self) -> usize {
        self.duration_days.len()
    }

    /// True when no subject has been pushed.
    pub fn is_empty(&self) -> bool {
        self.duration_days.is_empty()
    }

    /// Add one subject. Either every subject has a group or none has.
    pub fn push(&mut self, subject: Subject<'_>, group: Option<GroupLabel>) -> Result<(), InvalidInput> {
        let row = self.len();
        let index = match group {
            Some(label) => {
                let next = self.labels.len() as u32;
                let index = match self.label_index.get(&label) {
                    Some(&i) => i,
                    None => {
                        if next == u32::MAX {
                            return Err(InvalidInput::in_row(
                                row,
                                "group",
                                Some(label.to_string()),
                                Problem::OutOfRange,
                                "fewer than 4,294,967,295 distinct groups",
                            ));
                        }
                        next
                    }
                };
                self.check_grouping(row, true)?;
                self.check_subject(row, &subject)?;
                if index == next {
                    self.labels.push(label.clone());
                    self.label_index.insert(label, index);
                }
                Some(index)
            }
            None => {
                self.check_grouping(row, false)?;
                self.check_subject(row, &subject)?;
                None
            }
        };
        self.accept(row, subject, index);
        Ok(())
    }

    fn check_grouping(&mut self, row: usize, grouped: bool) -> Result<(), InvalidInput> {
        match self.grouped {
            Some(g) if g != grouped => Err(InvalidInput::in_row(
                row,
                "group",
                None,
                if grouped { Problem::Inconsistent } else { Problem::Missing },
                "a group for every subject, or for none",
            )),
            _ => {
                self.grouped = Some(grouped);
                Ok(())
            }
        }
    }

    fn check_subject(&self, row: usize, subject: &Subject<'_>) -> Result<(), InvalidInput> {
        check_duration(row, subject.duration_days)?;
        if subject.covariates.len() != self.covariate_names.len() {
            return Err(InvalidInput::in_row(
                row,
                "covariates",
                Some(format!("{} values", subject.covariates.len())),
                Problem::Inconsistent,
                &format!("one value per covariate name ({})", self.covariate_names.len()),
            ));
        }
        for (name, &x) in self.covariate_names.iter().zip(subject.covariates) {
            if !x.is_finite() {
                return Err(InvalidInput::in_row(
                    row,
                    format!("covariates.{name}"),
                    Some(x.to_string()),
                    Problem::NotANumber,
                    COVARIATE_ACCEPTED,
                ));
            }
        }
        Ok(())
    }

    /// Store a subject that has been validated.
    fn accept(&mut self, row: usize, subject: Subject<'_>, group: Option<u32>) {
        // -0.0 sorts before +0.0 by bits; both mean time zero.
        self.duration_days.push(subject.duration_days + 0.0);
        self.event.push(subject.event);
        if subject.event > EVENT && self.first_competing.is_none() {
            self.first_competing = Some((row, subject.event));
        }
        if let Some(g) = group {
            self.group.push(g);
        }
        self.covariates.extend_from_slice(subject.covariates);
    }

    /// Fast path for the CSV reader: the group is already an index into
    /// `labels` (interned by the caller) and the values are validated.
    pub(crate) fn push_checked(&mut self, duration_days: f64, event: u8, group: u32, covariates: &[f64]) {
        let row = self.len();
        self.grouped = Some(true);
        self.accept(row, Subject { duration_days, event, covariates }, Some(group));
    }

    /// Register a new group label for [`Self::push_checked`]; returns its index.
    pub(crate) fn add_label(&mut self, label: GroupLabel) -> u32 {
        let index = self.labels.len() as u32;
        self.label_index.insert(label.clone(), index);
        self.labels.push(label);
        index
    }

    /// Sort the subjects by duration (once, by radix sort) into a cohort.
    pub fn build(self) -> Result<Cohort, InvalidInput> {
        let n = self.duration_days.len();
        if n > u32::MAX as usize {
            return Err(InvalidInput::option(
                "subjects",
                Some(n.to_string()),
                Problem::OutOfRange,
                "at most 4,294,967,295 subjects",
            ));
        }
        let order = sort_order(&self.duration_days);
        let duration_days: Vec<f64> = order.iter().map(|&i| self.duration_days[i as usize]).collect();
        let event: Vec<u8> = order.iter().map(|&i| self.event[i as usize]).collect();

        let (group_labels, rank) = in_label_order(&self.labels);
        let group: Vec<u32> = if self.group.is_empty() {
            Vec::new()
        } else {
            order.iter().map(|&i| rank[self.group[i as usize] as usize]).collect()
        };

        let p = self.covariate_names.len();
        let mut covariates = Vec::with_capacity(n * p);
        if p > 0 {
            for &i in &order {
                let i = i as usize;
                covariates.extend_from_slice(&self.covariates[i * p..(i + 1) * p]);
            }
        }
        Ok(Cohort {
            duration_days,
            event,
            group,
            group_labels,
            covariate_names: self.covariate_names,
            covariates,
            count: Vec::new(),
            first_competing: self.first_competing,
        })
    }
}

/// Groups renumbered so that index order is label order: the labels sorted,
/// and for each group index as first seen, its new index.
pub(crate) fn in_label_order(labels: &[GroupLabel]) -> (Vec<GroupLabel>, Vec<u32>) {
    let mut by_label: Vec<u32> = (0..labels.len() as u32).collect();
    by_label.sort_unstable_by(|&a, &b| labels[a as usize].cmp(&labels[b as usize]));
    let mut rank = vec![0u32; by_label.len()];
    for (r, &old) in by_label.iter().enumerate() {
        rank[old as usize] = r as u32;
    }
    (by_label.iter().map(|&old| labels[old as usize].clone()).collect(), rank)
}

pub(crate) fn check_duration(row: usize, d: f64) -> Result<(), InvalidInput> {
    if !d.is_finite() {
        return Err(InvalidInput::in_row(
            row,
            "duration_days",
            Some(d.to_string()),
            Problem::NotANumber,
            DURATION_ACCEPTED,
        ));
    }
    if d < 0.0 {
        return Err(InvalidInput::in_row(
            row,
            "duration_days",
            Some(d.to_string()),
            Problem::OutOfRange,
            DURATION_ACCEPTED,
        ));
    }
    Ok(())
}

/// A validated cohort, held sorted by duration (ties in the order given).
///
/// Build one with [`CohortBuilder`], [`crate::parse_cohort_csv`] or
/// [`crate::synthetic_cohort`]; every estimator borrows it.
#[derive(Debug, Clone, PartialEq)]
pub struct Cohort {
    pub(crate) duration_days: Vec<f64>,
    pub(crate) event: Vec<u8>,
    /// Empty when the cohort has no groups; else an index into `group_labels`.
    pub(crate) group: Vec<u32>,
    pub(crate) group_labels: Vec<GroupLabel>,
    pub(crate) covariate_names: Vec<String>,
    /// Row-major, `len() * covariate_names.len()`, in sorted order.
    pub(crate) covariates: Vec<f64>,
    /// How many subjects each row stands for: empty when every row is one
    /// subject; else one count per row (a cohort aggregated by time, event and
    /// group, as the CSV counting reader builds for Kaplan-Meier, log-rank and
    /// cumulative incidence, which need only those counts).
    pub(crate) count: Vec<u64>,
    /// The first input row with a competing event code (row, code).
    pub(crate) first_competing: Option<(usize, u8)>,
}

impl Cohort {
    /// Number of subjects.
    pub fn len(&self) -> usize {
        if self.count.is_empty() { self.duration_days.len() } else { self.count.iter().sum::<u64>() as usize }
    }

    /// Number of rows: subjects, or distinct (time, event, group) cells of an
    /// aggregated cohort.
    pub(crate) fn rows(&self) -> usize {
        self.duration_days.len()
    }

    /// How many subjects row `i` stands for.
    #[inline]
    pub(crate) fn count_of(&self, i: usize) -> u64 {
        if self.count.is_empty() { 1 } else { self.count[i] }
    }

    /// True when rows stand for several subjects (see [`Self::rows`]).
    pub(crate) fn is_aggregated(&self) -> bool {
        !self.count.is_empty()
    }

    /// True when the cohort has no subject.
    pub fn is_empty(&self) -> bool {
        self.duration_days.is_empty()
    }

    /// The group labels in report order; empty when the cohort has no groups.
    pub fn group_labels(&self) -> &[GroupLabel] {
        &self.group_labels
    }

    /// The covariate names, in the order of each subject's covariates.
    pub fn covariate_names(&self) -> &[String] {
        &self.covariate_names
    }

    /// A copy of this cohort with k-1 indicator covariates for its k groups,
    /// named `group=<label>`, the first group in report order being the
    /// reference (R's treatment contrasts for `factor(group)`). They are
    /// appended after any existing covariates.
    pub fn with_group_indicators(&self) -> Result<Cohort, InvalidInput> {
        let k = self.group_labels.len();
        if k < 2 {
            return Err(InvalidInput::option(
                "group",
                Some(format!("{k} groups")),
                Problem::OutOfRange,
                "at least 2 groups to code as indicators",
            ));
        }
        let mut names = self.covariate_names.clone();
        for label in &self.group_labels[1..] {
            let name = format!("group={label}");
            if names.contains(&name) {
                return Err(InvalidInput::option(
                    "covariate_names",
                    Some(name),
                    Problem::Inconsistent,
                    "group indicator names that differ from the existing covariate names",
                ));
            }
            names.push(name);
        }
        let p = self.covariate_names.len();
        let q = names.len();
        let mut covariates = Vec::with_capacity(self.len() * q);
        for (i, &g) in self.group.iter().enumerate() {
            covariates.extend_from_slice(&self.covariates[i * p..(i + 1) * p]);
            for level in 1..k as u32 {
                covariates.push(if g == level { 1.0 } else { 0.0 });
            }
        }
        Ok(Cohort { covariate_names: names, covariates, ..self.clone() })
    }

    /// Error unless every event code is 0 or 1 (Kaplan-Meier, log-rank, Cox).
    pub(crate) fn require_binary_events(&self, estimator: &str) -> Result<(), InvalidInput> {
        match self.first_competing {
            None => Ok(()),
            Some((row, code)) => Err(InvalidInput::in_row(
                row,
                "event",
                Some(code.to_string()),
                Problem::OutOfRange,
                &format!(
                    "0 (censored) or 1 (event) for {estimator}; code {code} is a competing event: \
                     use the cumulative incidence estimator, or recode it as censored (cause-specific analysis)"
                ),
            )),
        }
    }

    pub(crate) fn covariate_row(&self, i: usize) -> &[f64] {
        let p = self.covariate_names.len();
        &self.covariates[i * p..(i + 1) * p]
    }
}

/// Indices that sort `keys` (finite, >= +0.0) ascending; stable. LSD radix
/// sort on the IEEE bits (order-preserving for non-negative floats), skipping
/// the bytes on which all keys agree (day counts vary in 2 of 8 bytes).
pub(crate) fn sort_order(keys: &[f64]) -> Vec<u32> {
    let n = keys.len();
    let mut k: Vec<u64> = keys.iter().map(|d| d.to_bits()).collect();
    let mut idx: Vec<u32> = (0..n as u32).collect();
    if n < 2 {
        return idx;
    }
    let (or, and) = k.iter().fold((0u64, u64::MAX), |(o, a), &x| (o | x, a & x));
    let varying = or ^ and;
    let mut k2 = vec![0u64; n];
    let mut idx2 = vec![0u32; n];
    for byte in 0..8 {
        let shift = 8 * byte;
        if (varying >> shift) & 0xff == 0 {
            continue;
        }
        let mut count = [0usize; 256];
        for &x in &k {
            count[((x >> shift) & 0xff) as usize] += 1;
        }
        let mut sum = 0;
        for c in count.iter_mut() {
            let here = *c;
            *c = sum;
            sum += here;
        }
        for (&x, &i) in k.iter().zip(&idx) {
            let b = ((x >> shift) & 0xff) as usize;
            let at = count[b];
            k2[at] = x;
            idx2[at] = i;
            count[b] += 1;
        }
        std::mem::swap(&mut k, &mut k2);
        std::mem::swap(&mut idx, &mut idx2);
    }
    idx
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(d: f64, e: u8) -> Subject<'static> {
        Subject { duration_days: d, event: e, covariates: &[] }
    }

    #[test]
    fn radix_order_matches_a_comparison_sort() {
        let keys = [5.0, 0.0, 1e300, 3.25, 5.0, 2.0, 1e-300, 7.0, 0.5, 1825.0, 3.0];
        let order = sort_order(&keys);
        let mut expected: Vec<u32> = (0..keys.len() as u32).collect();
        expected.sort_by(|&a, &b| keys[a as usize].total_cmp(&keys[b as usize]));
        assert_eq!(order, expected);
    }

    #[test]
    fn negative_zero_is_time_zero() {
        let mut b = CohortBuilder::new();
        b.push(s(1.0, 1), None).unwrap();
        b.push(s(-0.0, 1), None).unwrap();
        b.push(s(0.0, 0), None).unwrap();
        let c = b.build().unwrap();
        assert_eq!(c.duration_days, vec![0.0, 0.0, 1.0]);
        assert_eq!(c.event, vec![1, 0, 1], "ties keep input order");
    }

    #[test]
    fn errors_name_row_and_field() {
        let mut b = CohortBuilder::new();
        b.push(s(1.0, 1), None).unwrap();
        let e = b.push(s(-2.0, 1), None).unwrap_err();
        assert_eq!((e.row, e.field.as_str(), e.problem), (Some(1), "duration_days", Problem::OutOfRange));
        let e = b.push(s(f64::NAN, 1), None).unwrap_err();
        assert_eq!((e.row, e.problem), (Some(1), Problem::NotANumber));
        let e = b.push(s(3.0, 1), Some(GroupLabel::Number(1))).unwrap_err();
        assert_eq!((e.row, e.field.as_str()), (Some(1), "group"));

        let mut b = CohortBuilder::with_covariates(vec!["age".into()]).unwrap();
        let e = b.push(Subject { duration_days: 1.0, event: 0, covariates: &[f64::INFINITY] }, None).unwrap_err();
        assert_eq!((e.row, e.field.as_str()), (Some(0), "covariates.age"));
        let e = b.push(Subject { duration_days: 1.0, event: 0, covariates: &[] }, None).unwrap_err();
        assert_eq!(e.problem, Problem::Inconsistent);
        assert!(CohortBuilder::with_covariates(vec!["a".into(), "a".into()]).is_err());
    }

    #[test]
    fn groups_are_reported_in_label_order_and_indicator_coded() {
        let mut b = CohortBuilder::new();
        for (d, g) in [(3.0, 7), (1.0, -2), (2.0, 7), (4.0, 0)] {
            b.push(s(d, 1), Some(GroupLabel::Number(g))).unwrap();
        }
        let c = b.build().unwrap();
        assert_eq!(c.group_labels(), &[GroupLabel::Number(-2), GroupLabel::Number(0), GroupLabel::Number(7)]);
        // sorted by duration: 1 (-2), 2 (7), 3 (7), 4 (0)
        assert_eq!(c.group, vec![0, 2, 2, 1]);
        let ind = c.with_group_indicators().unwrap();
        assert_eq!(ind.covariate_names(), &["group=0".to_string(), "group=7".to_string()]);
        assert_eq!(ind.covariates, vec![0.0, 0.0, 0.0, 1.0, 0.0, 1.0, 1.0, 0.0]);
    }

    #[test]
    fn competing_codes_are_refused_by_binary_estimators() {
        let mut b = CohortBuilder::new();
        b.push(s(1.0, 1), None).unwrap();
        b.push(s(2.0, 2), None).unwrap();
        let c = b.build().unwrap();
        let e = c.require_binary_events("Kaplan-Meier").unwrap_err();
        assert_eq!((e.row, e.field.as_str(), e.value.as_deref()), (Some(1), "event", Some("2")));
    }
}
