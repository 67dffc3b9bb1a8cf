//! A fast reader for cohort CSV text already in memory (the caller reads or
//! maps the file; this crate opens nothing).
//!
//! Format: a header line naming the columns, then one line per subject,
//! fields separated by `,`, LF or CRLF line endings, no quoting. Columns:
//! - `duration_days` (required): days, a finite number >= 0;
//! - `event` (required): 0 censored, 1 event of interest, 2..=255 competing;
//! - `group` (optional): an integer or a word;
//! - `id` (optional): read past, not kept;
//! - any other column: a numeric covariate for Cox regression, named by its header.

use crate::cohort::{Cohort, CohortBuilder, EVENT, GroupLabel, check_duration, in_label_order};
use crate::error::{InvalidInput, Problem};
use std::collections::HashMap;

#[derive(Debug, Clone)]
enum Column {
    Id,
    Group,
    Duration,
    Event,
    Covariate(usize),
}

/// Parse cohort CSV text (see the module documentation for the columns).
/// Errors name the data row (0-based; the file line is `row + 2`), the column
/// and the value.
pub fn parse_cohort_csv(bytes: &[u8]) -> Result<Cohort, InvalidInput> {
    let (header, mut rest) = read_header(bytes)?;
    let p = header.covariate_names.len();
    let mut builder = CohortBuilder::with_covariates(header.covariate_names.clone())?;
    builder.reserve(rest.len() / (8 + 4 * header.columns.len()).max(1));
    let mut labels = LabelTable::default();
    let mut covariates = vec![0.0; p];
    let mut row = 0usize;
    while !rest.is_empty() {
        let (line, after) = split_line(rest);
        rest = after;
        if line.is_empty() && rest.iter().all(|&b| b == b'\n' || b == b'\r') {
            break;
        }
        let (duration, event, group) =
            parse_row(line, row, &header, &mut covariates, &mut labels, &mut |l| builder.add_label(l))?;
        if header.has_group {
            builder.push_checked(duration, event, group, &covariates);
        } else {
            builder.push(crate::cohort::Subject { duration_days: duration, event, covariates: &covariates }, None)?;
        }
        row += 1;
    }
    builder.build()
}

/// Parse cohort CSV text into an aggregated cohort: one row per distinct
/// (duration, event code, group) with the number of subjects it stands for.
/// The columns, the validation and the errors are those of
/// [`parse_cohort_csv`], row numbers included; covariate columns are checked
/// and then dropped. This is all that Kaplan-Meier, the log-rank test and the
/// cumulative incidence need (their results are identical), in memory that
/// grows with the number of distinct times, not of subjects; Cox regression
/// needs [`parse_cohort_csv`]. With `threads` > 1 the text is cut at line
/// boundaries into that many slices counted side by side. A caller reading a
/// file can instead feed [`CohortCsvTally`] pieces of it and never hold it.
pub fn parse_cohort_csv_counts(bytes: &[u8], threads: usize) -> Result<Cohort, InvalidInput> {
    let (header, consumed) = read_cohort_csv_header(bytes)?;
    let slices = split_at_lines(&bytes[consumed..], threads.max(1));
    let count = |slice: &[u8]| {
        let mut tally = CohortCsvTally::new(&header);
        tally.feed(slice)?;
        tally.finish()
    };
    let tallies: Vec<Result<CohortCsvTally, InvalidInput>> = if slices.len() == 1 {
        vec![count(slices[0])]
    } else {
        std::thread::scope(|scope| {
            let handles: Vec<_> = slices.iter().map(|&slice| scope.spawn(move || count(slice))).collect();
            handles.into_iter().map(|h| h.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic))).collect()
        })
    };
    combine_cohort_csv_tallies(&header, tallies)
}

/// The header line of a cohort CSV: which column is which.
#[derive(Debug, Clone)]
pub struct CohortCsvHeader(Header);

/// Read the header line at the start of `bytes` (after an optional UTF-8
/// byte-order mark). Returns it and the number of bytes it took, line end
/// included; the data lines start there.
pub fn read_cohort_csv_header(bytes: &[u8]) -> Result<(CohortCsvHeader, usize), InvalidInput> {
    let (header, rest) = read_header(bytes)?;
    Ok((CohortCsvHeader(header), bytes.len() - rest.len()))
}

/// Cut `text` into at most `n` slices, each but the last ending after a line
/// feed.
fn split_at_lines(text: &[u8], n: usize) -> Vec<&[u8]> {
    let mut slices = Vec::with_capacity(n);
    let mut rest = text;
    for k in (1..n).rev() {
        let target = rest.len() / (k + 1);
        let Some(at) = rest[target..].iter().position(|&b| b == b'\n').map(|p| target + p + 1) else { break };
        slices.push(&rest[..at]);
        rest = &rest[at..];
    }
    slices.push(rest);
    slices
}

/// Subjects counted per (duration, group, event code) over one slice of a
/// cohort CSV's data lines, fed in pieces of any size. Row numbers in its
/// errors count from the start of the slice; [`combine_cohort_csv_tallies`]
/// makes them count from the start of the file.
#[derive(Debug, Clone)]
pub struct CohortCsvTally {
    header: Header,
    label_table: LabelTable,
    labels: Vec<GroupLabel>,
    cells: HashMap<(u64, u32, u8), u64, BuildFxHasher>,
    covariates: Vec<f64>,
    rows: usize,
    first_competing: Option<(usize, u8)>,
    /// The row of an empty line followed so far only by line ends: allowed at
    /// the end of the file, an error at its row if a data line follows.
    blank: Option<usize>,
    /// The start of a line that continues in the next piece.
    carry: Vec<u8>,
}

impl CohortCsvTally {
    /// An empty tally for data lines under `header`.
    pub fn new(header: &CohortCsvHeader) -> Self {
        CohortCsvTally {
            header: header.0.clone(),
            label_table: LabelTable::default(),
            labels: Vec::new(),
            cells: HashMap::default(),
            covariates: vec![0.0; header.0.covariate_names.len()],
            rows: 0,
            first_competing: None,
            blank: None,
            carry: Vec::new(),
        }
    }

    /// Count the lines in the next piece of the slice (a line may run on
    /// into the next piece).
    pub fn feed(&mut self, mut bytes: &[u8]) -> Result<(), InvalidInput> {
        if !self.carry.is_empty() {
            match bytes.iter().position(|&b| b == b'\n') {
                None => {
                    self.carry.extend_from_slice(bytes);
                    return Ok(());
                }
                Some(at) => {
                    let mut line = std::mem::take(&mut self.carry);
                    line.extend_from_slice(&bytes[..at]);
                    self.line(line.strip_suffix(b"\r").unwrap_or(&line))?;
                    bytes = &bytes[at + 1..];
                }
            }
        }
        while let Some(at) = bytes.iter().position(|&b| b == b'\n') {
            let line = &bytes[..at];
            self.line(line.strip_suffix(b"\r").unwrap_or(line))?;
            bytes = &bytes[at + 1..];
        }
        self.carry.extend_from_slice(bytes);
        Ok(())
    }

    /// Count a last line without a line feed, if any.
    pub fn finish(mut self) -> Result<Self, InvalidInput> {
        if !self.carry.is_empty() {
            let line = std::mem::take(&mut self.carry);
            self.line(line.strip_suffix(b"\r").unwrap_or(&line))?;
        }
        Ok(self)
    }

    /// Data lines counted.
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// One line, its line end removed.
    fn line(&mut self, line: &[u8]) -> Result<(), InvalidInput> {
        if line.iter().all(|&b| b == b'\r') {
            // An empty line, and the lines of carriage returns after it, end the data if nothing else follows.
            if line.is_empty() && self.blank.is_none() {
                self.blank = Some(self.rows);
                return Ok(());
            }
            if self.blank.is_some() {
                return Ok(());
            }
        }
        if let Some(row) = self.blank {
            return Err(blank_line_error(&self.header, row));
        }
        let labels = &mut self.labels;
        let (duration, event, group) =
            parse_row(line, self.rows, &self.header, &mut self.covariates, &mut self.label_table, &mut |l| {
                labels.push(l);
                labels.len() as u32 - 1
            })?;
        if event > EVENT && self.first_competing.is_none() {
            self.first_competing = Some((self.rows, event));
        }
        // -0.0 and +0.0 are one time, as in the cohort builder.
        *self.cells.entry(((duration + 0.0).to_bits(), group, event)).or_insert(0) += 1;
        self.rows += 1;
        Ok(())
    }
}

/// The error [`parse_cohort_csv`] gives for an empty line at `row` that data
/// lines follow.
fn blank_line_error(header: &Header, row: usize) -> InvalidInput {
    let mut covariates = vec![0.0; header.covariate_names.len()];
    match parse_row(b"", row, header, &mut covariates, &mut LabelTable::default(), &mut |_| 0) {
        Err(e) => e,
        Ok(_) => InvalidInput::in_row(row, "line", None, Problem::Missing, "one field per header column"),
    }
}

/// One aggregated cohort from the tallies of consecutive slices, in file
/// order; the first error in file order, with its row counted from the start
/// of the file, if any slice failed.
pub fn combine_cohort_csv_tallies(
    header: &CohortCsvHeader,
    tallies: Vec<Result<CohortCsvTally, InvalidInput>>,
) -> Result<Cohort, InvalidInput> {
    let has_group = header.0.has_group;
    let mut labels: Vec<GroupLabel> = Vec::new();
    let mut label_index: HashMap<GroupLabel, u32> = HashMap::new();
    let mut cells: HashMap<(u64, u32, u8), u64, BuildFxHasher> = HashMap::default();
    let mut first_competing = None;
    let mut rows_before = 0usize;
    // An empty line at the end of an earlier slice, and its row in the file.
    let mut blank: Option<usize> = None;
    for tally in tallies {
        let part = match tally {
            Ok(part) => part,
            Err(mut e) => {
                if let Some(row) = blank {
                    return Err(blank_line_error(&header.0, row));
                }
                e.row = e.row.map(|r| r + rows_before);
                return Err(e);
            }
        };
        if let Some(row) = blank
            && part.rows > 0
        {
            return Err(blank_line_error(&header.0, row));
        }
        let remap: Vec<u32> = part
            .labels
            .into_iter()
            .map(|label| {
                *label_index.entry(label.clone()).or_insert_with(|| {
                    labels.push(label);
                    labels.len() as u32 - 1
                })
            })
            .collect();
        for ((bits, g, e), c) in part.cells {
            let g = if has_group { remap[g as usize] } else { 0 };
            *cells.entry((bits, g, e)).or_insert(0) += c;
        }
        if first_competing.is_none() {
            first_competing = part.first_competing.map(|(row, code)| (row + rows_before, code));
        }
        if blank.is_none() {
            blank = part.blank.map(|row| row + rows_before);
        }
        rows_before += part.rows;
    }
    // Groups numbered in label order, as the cohort builder numbers them.
    let (group_labels, rank) = in_label_order(&labels);
    let mut cells: Vec<((u64, u32, u8), u64)> = cells.into_iter().collect();
    cells.sort_unstable_by_key(|&((bits, g, e), _)| (bits, g, e));
    Ok(Cohort {
        duration_days: cells.iter().map(|&((bits, _, _), _)| f64::from_bits(bits)).collect(),
        event: cells.iter().map(|&((_, _, e), _)| e).collect(),
        group: if has_group { cells.iter().map(|&((_, g, _), _)| rank[g as usize]).collect() } else { Vec::new() },
        group_labels,
        covariate_names: Vec::new(),
        covariates: Vec::new(),
        count: cells.iter().map(|&(_, c)| c).collect(),
        first_competing,
    })
}

/// FxHash (rustc's): one multiply per word; the tally's keys are few and not
/// chosen by an adversary who could gain anything from collisions.
#[derive(Debug, Default, Clone, Copy)]
struct FxHasher(u64);

impl std::hash::Hasher for FxHasher {
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.write_u64(u64::from(b));
        }
    }
    fn write_u8(&mut self, x: u8) {
        self.write_u64(u64::from(x));
    }
    fn write_u32(&mut self, x: u32) {
        self.write_u64(u64::from(x));
    }
    fn write_u64(&mut self, x: u64) {
        self.0 = (self.0.rotate_left(5) ^ x).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
    fn finish(&self) -> u64 {
        self.0
    }
}

type BuildFxHasher = std::hash::BuildHasherDefault<FxHasher>;

/// One data line: (duration, event code, group index); covariates into
/// `covariates`. `add_label` registers a group label seen for the first time
/// and returns its index.
fn parse_row(
    line: &[u8],
    row: usize,
    header: &Header,
    covariates: &mut [f64],
    labels: &mut LabelTable,
    add_label: &mut dyn FnMut(GroupLabel) -> u32,
) -> Result<(f64, u8, u32), InvalidInput> {
    let (mut duration, mut event, mut group) = (0.0, 0u8, 0u32);
    let mut fields = line.split(|&b| b == b',');
    for column in &header.columns {
        // The column's name is only needed for an error: never built per row.
        let name = || column_name(column, &header.covariate_names);
        let field = fields
            .next()
            .ok_or_else(|| InvalidInput::in_row(row, name(), None, Problem::Missing, "one field per header column"))?;
        match column {
            Column::Id => {}
            Column::Duration => {
                duration = parse_number(field).ok_or_else(|| {
                    InvalidInput::in_row(row, "duration_days", text(field), Problem::NotANumber, "days, >= 0")
                })?;
                check_duration(row, duration)?;
            }
            Column::Event => {
                event = parse_code(field).ok_or_else(|| {
                    InvalidInput::in_row(
                        row,
                        "event",
                        text(field),
                        Problem::Unrecognised,
                        "0 (censored), 1 (event) or 2..=255 (competing event)",
                    )
                })?;
            }
            Column::Group => {
                group = labels.index(field, add_label).ok_or_else(|| {
                    InvalidInput::in_row(row, "group", text(field), Problem::Unrecognised, "an integer or a word")
                })?;
            }
            Column::Covariate(j) => {
                let x = parse_number(field).filter(|x| x.is_finite()).ok_or_else(|| {
                    InvalidInput::in_row(row, name(), text(field), Problem::NotANumber, "a finite number")
                })?;
                covariates[*j] = x;
            }
        }
    }
    if let Some(extra) = fields.next() {
        return Err(InvalidInput::in_row(
            row,
            "line",
            text(extra),
            Problem::Inconsistent,
            &format!("{} fields, as in the header", header.columns.len()),
        ));
    }
    Ok((duration, event, group))
}

/// The header line: which column is which.
#[derive(Debug, Clone)]
struct Header {
    columns: Vec<Column>,
    covariate_names: Vec<String>,
    has_group: bool,
}

/// Read the header line (after an optional UTF-8 byte-order mark); returns it
/// and the data lines after it.
fn read_header(bytes: &[u8]) -> Result<(Header, &[u8]), InvalidInput> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let (header, rest) = split_line(bytes);
    let header_text = std::str::from_utf8(header).map_err(|_| {
        InvalidInput::option("header", None, Problem::Unrecognised, "a UTF-8 header line of column names")
    })?;
    let names: Vec<&str> = header_text.split(',').map(str::trim).collect();
    let mut columns = Vec::with_capacity(names.len());
    let mut covariate_names = Vec::new();
    let (mut has_group, mut has_duration, mut has_event) = (false, false, false);
    for (j, &name) in names.iter().enumerate() {
        if names[..j].contains(&name) {
            return Err(InvalidInput::option(
                "header",
                Some(name.to_string()),
                Problem::Inconsistent,
                "each column name once",
            ));
        }
        columns.push(match name {
            "id" => Column::Id,
            "group" => {
                has_group = true;
                Column::Group
            }
            "duration_days" => {
                has_duration = true;
                Column::Duration
            }
            "event" => {
                has_event = true;
                Column::Event
            }
            "" => {
                return Err(InvalidInput::option(
                    format!("header[{j}]"),
                    Some(String::new()),
                    Problem::Missing,
                    "a column name",
                ));
            }
            other => {
                covariate_names.push(other.to_string());
                Column::Covariate(covariate_names.len() - 1)
            }
        });
    }
    for (present, name) in [(has_duration, "duration_days"), (has_event, "event")] {
        if !present {
            return Err(InvalidInput::option(
                name,
                None,
                Problem::Missing,
                "a header with the columns duration_days and event (group, id and covariates optional)",
            ));
        }
    }
    Ok((Header { columns, covariate_names, has_group }, rest))
}

fn column_name(column: &Column, covariates: &[String]) -> String {
    match column {
        Column::Id => "id".into(),
        Column::Group => "group".into(),
        Column::Duration => "duration_days".into(),
        Column::Event => "event".into(),
        Column::Covariate(j) => format!("covariates.{}", covariates[*j]),
    }
}

fn text(field: &[u8]) -> Option<String> {
    Some(String::from_utf8_lossy(field).into_owned())
}

/// The line up to (not including) LF, without a trailing CR; and the rest.
fn split_line(bytes: &[u8]) -> (&[u8], &[u8]) {
    let (line, rest) = match bytes.iter().position(|&b| b == b'\n') {
        Some(at) => (&bytes[..at], &bytes[at + 1..]),
        None => (bytes, &bytes[bytes.len()..]),
    };
    (line.strip_suffix(b"\r").unwrap_or(line), rest)
}

/// Digits only (up to 15, exact in f64) by hand; anything else by the
/// standard library's correctly rounded parser. NaN and infinities are
/// returned as such for the caller to refuse.
fn parse_number(field: &[u8]) -> Option<f64> {
    if !field.is_empty() && field.len() <= 15 && field.iter().all(u8::is_ascii_digit) {
        let mut v = 0u64;
        for &b in field {
            v = v * 10 + u64::from(b - b'0');
        }
        return Some(v as f64);
    }
    std::str::from_utf8(field).ok()?.trim().parse::<f64>().ok()
}

fn parse_code(field: &[u8]) -> Option<u8> {
    if field.is_empty() || field.len() > 3 || !field.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let v = field.iter().fold(0u32, |v, &b| v * 10 + u32::from(b - b'0'));
    u8::try_from(v).ok()
}

fn parse_integer(field: &[u8]) -> Option<i64> {
    let (negative, digits) = match field.first() {
        Some(b'-') => (true, &field[1..]),
        _ => (false, field),
    };
    if digits.is_empty() || digits.len() > 18 || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let v = digits.iter().fold(0i64, |v, &b| v * 10 + i64::from(b - b'0'));
    Some(if negative { -v } else { v })
}

/// Group labels seen so far: a short list scanned linearly (a cohort has a
/// handful of groups), then a hash map once there are many.
#[derive(Debug, Clone, Default)]
struct LabelTable {
    numbers: Vec<(i64, u32)>,
    texts: Vec<(Box<[u8]>, u32)>,
    many_numbers: HashMap<i64, u32>,
    many_texts: HashMap<Box<[u8]>, u32>,
}

const SCAN_LIMIT: usize = 32;

impl LabelTable {
    fn index(&mut self, field: &[u8], add_label: &mut dyn FnMut(GroupLabel) -> u32) -> Option<u32> {
        if let Some(n) = parse_integer(field) {
            if let Some(&(_, i)) = self.numbers.iter().find(|(v, _)| *v == n) {
                return Some(i);
            }
            if let Some(&i) = self.many_numbers.get(&n) {
                return Some(i);
            }
            let i = add_label(GroupLabel::Number(n));
            if self.numbers.len() < SCAN_LIMIT {
                self.numbers.push((n, i));
            } else {
                self.many_numbers.insert(n, i);
            }
            return Some(i);
        }
        if let Some(&(_, i)) = self.texts.iter().find(|(v, _)| **v == *field) {
            return Some(i);
        }
        if let Some(&i) = self.many_texts.get(field) {
            return Some(i);
        }
        let label = std::str::from_utf8(field).ok().filter(|s| !s.trim().is_empty() && !s.contains('"'))?;
        let i = add_label(GroupLabel::Text(label.to_string()));
        if self.texts.len() < SCAN_LIMIT {
            self.texts.push((field.into(), i));
        } else {
            self.many_texts.insert(field.into(), i);
        }
        Some(i)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_columns_in_any_order_with_covariates_and_crlf() {
        let csv = b"event,age,duration_days,group,id\r\n1,70.5,10,b,1\r\n0,61,3.5,a,2\r\n2,80,7,b,3\r\n\r\n";
        let c = parse_cohort_csv(csv).unwrap();
        assert_eq!(c.len(), 3);
        assert_eq!(c.duration_days, vec![3.5, 7.0, 10.0]);
        assert_eq!(c.event, vec![0, 2, 1]);
        assert_eq!(c.group_labels(), &[GroupLabel::Text("a".into()), GroupLabel::Text("b".into())]);
        assert_eq!(c.group, vec![0, 1, 1]);
        assert_eq!(c.covariate_names(), &["age".to_string()]);
        assert_eq!(c.covariates, vec![61.0, 80.0, 70.5]);
        assert_eq!(c.first_competing, Some((2, 2)));
    }

    #[test]
    fn numeric_labels_that_are_equal_are_one_group() {
        let c = parse_cohort_csv(b"id,group,duration_days,event\n1,01,5,1\n2,1,6,0\n3,-2,7,1").unwrap();
        assert_eq!(c.group_labels(), &[GroupLabel::Number(-2), GroupLabel::Number(1)]);
    }

    #[test]
    fn without_group_column() {
        let c = parse_cohort_csv(b"duration_days,event\n5,1\n6,0\n").unwrap();
        assert!(c.group_labels().is_empty());
        assert_eq!(c.len(), 2);
    }

    #[test]
    fn errors_name_row_and_column() {
        let cases: [(&[u8], Option<usize>, &str); 8] = [
            (b"id,group,event\n1,1,1\n", None, "duration_days"),
            (b"id,group,duration_days,event\n1,1,5,1\n2,1,-1,1\n", Some(1), "duration_days"),
            (b"id,group,duration_days,event\n1,1,nan,1\n", Some(0), "duration_days"),
            (b"id,group,duration_days,event\n1,1,x,1\n", Some(0), "duration_days"),
            (b"id,group,duration_days,event\n1,1,5,256\n", Some(0), "event"),
            (b"id,group,duration_days,event\n1,1,5\n", Some(0), "event"),
            (b"id,group,duration_days,event\n1,1,5,1,9\n", Some(0), "line"),
            (b"id,group,duration_days,event,age\n1,1,5,1,inf\n", Some(0), "covariates.age"),
        ];
        for (csv, row, field) in cases {
            let e = parse_cohort_csv(csv).unwrap_err();
            assert_eq!((e.row, e.field.as_str()), (row, field), "{}", String::from_utf8_lossy(csv));
        }
        assert!(parse_cohort_csv(b"id,id,duration_days,event\n").is_err());
        assert!(parse_cohort_csv(b"id,group,duration_days,event\n1,,5,1\n").is_err());
        assert!(parse_cohort_csv(b"id,group,duration_days,event\n1,1,5,1\n\n2,1,5,1\n").is_err());
    }

    #[test]
    fn many_labels_switch_to_the_map() {
        let mut csv = String::from("group,duration_days,event\n");
        for i in 0..100 {
            csv.push_str(&format!("g{},{},1\nn{},1,0\n{},2,1\n", i % 50, i, i % 40, i % 45));
        }
        let c = parse_cohort_csv(csv.as_bytes()).unwrap();
        assert_eq!(c.group_labels().len(), 50 + 40 + 45);
    }
}
