//! Renders any engine result as readable text (default) or as the stable JSON
//! envelope documented in README.md.

use limbpath_clinical::explain::cited_sources;
use limbpath_clinical::{DECISION_SUPPORT_NOTICE, ENGINE_VERSION, Explain, Section, Source};
use serde::Serialize;
use std::collections::BTreeMap;
use std::fmt::Write as _;

/// How results are written to stdout.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Text,
    Json,
}

/// The JSON envelope: `{"schema", "engine_version", "result", "sources", "notice"}`.
/// `sources` maps each source id cited in `result` to its citation, once.
pub struct Envelope<'a, T: Serialize> {
    /// `limbpath.<command>/1`; the number changes only on a breaking change.
    pub schema: String,
    pub result: &'a T,
    /// False for `--batch` lines, which cite sources by id only (`limbpath sources`).
    pub with_sources: bool,
}

impl<T: Serialize> Serialize for Envelope<'_, T> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut st = s.serialize_struct("Envelope", 5)?;
        st.serialize_field("schema", &self.schema)?;
        st.serialize_field("engine_version", ENGINE_VERSION)?;
        if self.with_sources {
            let (written, cited) = cited_sources(|| st.serialize_field("result", self.result));
            written?;
            let sources: BTreeMap<&str, &Source> = cited.into_iter().map(|src| (src.id, src)).collect();
            st.serialize_field("sources", &sources)?;
        } else {
            st.serialize_field("result", self.result)?;
        }
        st.serialize_field("notice", DECISION_SUPPORT_NOTICE)?;
        st.end()
    }
}

pub fn envelope<'a, T: Serialize>(kind: &str, result: &'a T) -> Envelope<'a, T> {
    Envelope { schema: format!("limbpath.{kind}/1"), result, with_sources: true }
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
        let _ =
            writeln!(out, "  source: {} [{}{}]", e.source.citation, e.source.status, status_note(e.source.status_note));
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

/// The source catalogue, for `limbpath sources`.
pub fn render_sources(format: Format) -> String {
    let catalogue = limbpath_clinical::catalogue();
    match format {
        Format::Json => {
            let sources: BTreeMap<&str, &Source> = catalogue.iter().map(|s| (s.id, *s)).collect();
            let doc = serde_json::json!({
                "schema": "limbpath.sources/1",
                "engine_version": ENGINE_VERSION,
                "sources": sources,
            });
            serde_json::to_string_pretty(&doc).expect("sources serialise") + "\n"
        }
        Format::Text => {
            let mut out = String::new();
            for s in catalogue {
                let _ = writeln!(
                    out,
                    "{}\n  {}\n  {} [{}{}]",
                    s.id,
                    s.citation,
                    s.reference,
                    s.status,
                    status_note(s.status_note)
                );
            }
            out
        }
    }
}
