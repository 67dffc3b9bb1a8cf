//! Renders any engine result as readable text (default) or as the stable JSON
//! envelope documented in README.md.

use limbpath_clinical::{DECISION_SUPPORT_NOTICE, ENGINE_VERSION, Explain, Section};
use serde::Serialize;
use std::fmt::Write as _;

/// How results are written to stdout.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Text,
    Json,
}

/// The JSON envelope: `{"schema", "engine_version", "result", "notice"}`.
#[derive(Serialize)]
pub struct Envelope<'a, T: Serialize> {
    /// `limbpath.<command>/1`; the number changes only on a breaking change.
    pub schema: String,
    pub engine_version: &'static str,
    pub result: &'a T,
    pub notice: &'static str,
}

pub fn envelope<'a, T: Serialize>(kind: &str, result: &'a T) -> Envelope<'a, T> {
    Envelope {
        schema: format!("limbpath.{kind}/1"),
        engine_version: ENGINE_VERSION,
        result,
        notice: DECISION_SUPPORT_NOTICE,
    }
}

pub fn render<T: Serialize + Explain>(kind: &str, result: &T, format: Format) -> String {
    match format {
        Format::Json => {
            // Serialising plain data structs cannot fail; an error here is a bug.
            serde_json::to_string_pretty(&envelope(kind, result)).expect("result serialises") + "\n"
        }
        Format::Text => {
            let notes: String = result.notes().iter().map(|n| format!("{n}\n")).collect();
            notes + &render_text(&result.sections())
        }
    }
}

/// Text for a terminal: one block per section, then the decision-support notice.
pub fn render_text(sections: &[Section<'_>]) -> String {
    let mut out = String::new();
    for s in sections {
        let e = s.explanation;
        let _ = writeln!(out, "{}: {}", s.label, s.result);
        let _ = writeln!(out, "  rule:   {}", e.rule);
        if !e.inputs.is_empty() {
            let inputs: Vec<String> = e.inputs.iter().map(|i| format!("{}={}", i.field, i.value)).collect();
            let _ = writeln!(out, "  inputs: {}", inputs.join(", "));
        }
        let _ = writeln!(out, "  source: {} [{}{}]", e.source.citation, e.source.status, status_note(e.source.status_note));
        for f in &e.flags {
            let _ = writeln!(out, "  ! {}: {}", f.kind.code(), f.message);
        }
    }
    let _ = writeln!(out, "\n{DECISION_SUPPORT_NOTICE}");
    out
}

fn status_note(note: &str) -> String {
    if note.is_empty() { String::new() } else { format!("; {note}") }
}
