//! LimbPath's audit trail entries as FHIR AuditEvents in the IHE Basic Audit
//! Log Patterns (BALP) shape: a REST read, create, update or search is typed
//! `rest` with the FHIR interaction as subtype and BALP's client/server/user
//! agents; the patient whose record was touched is an entity (type Person,
//! role Patient); the record touched is a second entity (System Object,
//! Domain Resource), or for a search the query (role Query, base64 query).
//! Other actions (login, logout, a refusal) are DICOM "Application Activity"
//! with the LimbPath action as subtype.

use crate::codes::*;
use crate::issue::{ExportError, Issue, IssueKind};
use crate::r4::{AuditAgent, AuditEntity, AuditEvent, AuditNetwork, AuditSource, Identifier, Reference};
use crate::when;
use limbpath_record::Role;

/// One entry of LimbPath's audit trail (the store's `AuditEntry`, borrowed).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AuditRecord<'a> {
    /// The entry's position in the trail; becomes the AuditEvent id.
    pub id: i64,
    /// When, ms since the Unix epoch (UTC).
    pub at_ms: i64,
    pub user_id: Option<&'a str>,
    pub username: Option<&'a str>,
    pub role: Option<Role>,
    /// `read`, `read_record`, `create`, `update`, `list`, `search`, `login`, …
    pub action: &'a str,
    /// The record kind (`patient`, `wound_measurement`, …) and its id.
    pub entity: Option<&'a str>,
    pub entity_id: Option<&'a str>,
    pub patient_id: Option<&'a str>,
    pub remote_addr: Option<&'a str>,
    /// `ok`, `denied`, `not_found`, `invalid`, `conflict` or `error`.
    pub outcome: &'a str,
    pub detail: &'a str,
}

/// The LimbPath server recording the events.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AuditServer<'a> {
    /// How the server names itself (`limbpath@clinic.example`).
    pub name: &'a str,
    /// Its FHIR base URL.
    pub base_url: &'a str,
}

/// The FHIR resource type LimbPath exports a record kind as.
fn fhir_type(entity: &str) -> Option<&'static str> {
    Some(match entity {
        "patient" => "Patient",
        "limb" => "BodyStructure",
        "episode" => "EpisodeOfCare",
        "assessment" => "QuestionnaireResponse",
        "wound" => "Condition",
        "wound_measurement" | "vascular_study" | "imaging_study" | "outcome_event" => "Observation",
        "procedure" => "Procedure",
        _ => return None,
    })
}

fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [chunk[0], chunk.get(1).copied().unwrap_or(0), chunk.get(2).copied().unwrap_or(0)];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for (i, shift) in [18u32, 12, 6, 0].into_iter().enumerate() {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[((n >> shift) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

fn bad(field: &str, value: impl std::fmt::Display, problem: &str, expected: &str) -> ExportError {
    ExportError(Issue::error(IssueKind::Value, field, value, problem, expected))
}

/// The AuditEvent of one audit trail entry.
pub fn audit_event(entry: &AuditRecord<'_>, server: &AuditServer<'_>) -> Result<AuditEvent, ExportError> {
    let recorded = when::instant(entry.at_ms)
        .ok_or_else(|| bad("at_ms", entry.at_ms, "a timestamp FHIR cannot express", "a time in the years 1-9999"))?;
    // source: audit-event-outcome (FHIR R4 AuditEvent.outcome): 0 success, 4 minor failure, 8 serious failure | status: Specification
    let outcome = match entry.outcome {
        "ok" => "0",
        "denied" | "not_found" | "invalid" | "conflict" => "4",
        "error" => "8",
        other => {
            return Err(bad(
                "outcome",
                other,
                "not an audit outcome",
                "ok, denied, not_found, invalid, conflict or error",
            ));
        }
    };
    // BALP: which way the data flows decides who is Source and who Destination.
    let (type_, subtype, action, client_role, server_role, user_role) = match entry.action {
        "read" | "read_record" => (
            AUDIT_TYPE_REST,
            INTERACTION_READ.coding(),
            "R",
            AGENT_DESTINATION_ROLE,
            AGENT_SOURCE_ROLE,
            AGENT_INFORMATION_RECIPIENT,
        ),
        "create" => {
            (AUDIT_TYPE_REST, INTERACTION_CREATE.coding(), "C", AGENT_SOURCE_ROLE, AGENT_DESTINATION_ROLE, AGENT_AUTHOR)
        }
        "update" => {
            (AUDIT_TYPE_REST, INTERACTION_UPDATE.coding(), "U", AGENT_SOURCE_ROLE, AGENT_DESTINATION_ROLE, AGENT_AUTHOR)
        }
        "search" | "list" => (
            AUDIT_TYPE_REST,
            INTERACTION_SEARCH_TYPE.coding(),
            "E",
            AGENT_SOURCE_ROLE,
            AGENT_DESTINATION_ROLE,
            AGENT_INFORMATION_RECIPIENT,
        ),
        other => (
            AUDIT_TYPE_APPLICATION_ACTIVITY,
            limbpath(CS_AUDIT_ACTION, other),
            "E",
            AGENT_SOURCE_ROLE,
            AGENT_DESTINATION_ROLE,
            AGENT_INFORMATION_RECIPIENT,
        ),
    };
    let rest = type_ == AUDIT_TYPE_REST;
    let mut agent = Vec::new();
    if entry.user_id.is_some() || entry.username.is_some() {
        agent.push(AuditAgent {
            type_: Some(user_role.concept()),
            role: entry.role.map(|r| limbpath_concept(CS_ROLE, r.code())).into_iter().collect(),
            who: Some(Reference {
                identifier: entry.user_id.map(|u| Identifier {
                    system: Some(USER_ID_SYSTEM.to_owned()),
                    value: Some(u.to_owned()),
                    ..Identifier::default()
                }),
                display: entry.username.map(str::to_owned),
                ..Reference::default()
            }),
            name: entry.username.map(str::to_owned),
            requestor: true,
            network: None,
        });
    }
    if let Some(addr) = entry.remote_addr {
        agent.push(AuditAgent {
            type_: Some(client_role.concept()),
            who: Some(Reference { display: Some(addr.to_owned()), ..Reference::default() }),
            requestor: false,
            // network type 2: IP address (FHIR R4 AuditEvent.agent.network.type)
            network: Some(AuditNetwork { address: Some(addr.to_owned()), type_: Some("2".to_owned()) }),
            ..AuditAgent::default()
        });
    }
    agent.push(AuditAgent {
        type_: Some(server_role.concept()),
        who: Some(Reference { display: Some(server.name.to_owned()), ..Reference::default() }),
        requestor: false,
        // network type 5: URI
        network: Some(AuditNetwork { address: Some(server.base_url.to_owned()), type_: Some("5".to_owned()) }),
        ..AuditAgent::default()
    });

    let mut entity = Vec::new();
    if let Some(p) = entry.patient_id {
        entity.push(AuditEntity {
            what: Some(Reference::to("Patient", p)),
            type_: Some(ENTITY_TYPE_PERSON.coding()),
            role: Some(ENTITY_ROLE_PATIENT.coding()),
            ..AuditEntity::default()
        });
    }
    let detail = (!entry.detail.is_empty()).then(|| entry.detail.to_owned());
    if rest && action == "E" {
        entity.push(AuditEntity {
            type_: Some(ENTITY_TYPE_SYSTEM_OBJECT.coding()),
            role: Some(ENTITY_ROLE_QUERY.coding()),
            description: detail.clone(),
            query: Some(base64(entry.detail.as_bytes())),
            ..AuditEntity::default()
        });
    } else if let Some(id) = entry.entity_id {
        let kind = entry.entity.unwrap_or("record");
        entity.push(AuditEntity {
            what: Some(Reference {
                type_: entry.entity.and_then(fhir_type).map(str::to_owned),
                identifier: Some(Identifier {
                    system: Some(RECORD_ID_SYSTEM.to_owned()),
                    value: Some(id.to_owned()),
                    ..Identifier::default()
                }),
                display: Some(format!("{kind} {id}")),
                ..Reference::default()
            }),
            type_: Some(ENTITY_TYPE_SYSTEM_OBJECT.coding()),
            role: Some(ENTITY_ROLE_DOMAIN_RESOURCE.coding()),
            description: detail.clone(),
            ..AuditEntity::default()
        });
    }
    Ok(AuditEvent {
        id: Some(entry.id.to_string()),
        type_: type_.coding(),
        subtype: vec![subtype],
        action: Some(action.to_owned()),
        recorded,
        outcome: Some(outcome.to_owned()),
        outcome_desc: if outcome == "0" { None } else { detail.or_else(|| Some(entry.outcome.replace('_', " "))) },
        agent,
        source: AuditSource {
            site: None,
            observer: Reference { display: Some(server.name.to_owned()), ..Reference::default() },
            type_: vec![SOURCE_TYPE_APPLICATION_SERVER.coding()],
        },
        entity,
        ..AuditEvent::default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const SERVER: AuditServer<'static> =
        AuditServer { name: "limbpath@clinic.example", base_url: "https://clinic.example/fhir" };

    fn entry(action: &'static str) -> AuditRecord<'static> {
        AuditRecord {
            id: 42,
            at_ms: 1_730_709_300_000,
            user_id: Some("0192f650-0000-7000-8000-000000000001"),
            username: Some("dr.lindqvist"),
            role: Some(Role::Clinician),
            action,
            entity: Some("wound_measurement"),
            entity_id: Some("01932645-5be0-78c8-abbb-73b24c519c17"),
            patient_id: Some("0192f650-2320-775e-abb5-70c225bff21b"),
            remote_addr: Some("192.0.2.7"),
            outcome: "ok",
            detail: "",
        }
    }

    fn agent_with<'e>(e: &'e AuditEvent, c: &Code) -> &'e AuditAgent {
        e.agent.iter().find(|a| a.type_.as_ref().is_some_and(|t| c.is_in(t))).expect("agent")
    }

    #[test]
    fn a_read_is_balp_patient_read_with_the_patient_as_entity() {
        let e = audit_event(&entry("read"), &SERVER).unwrap();
        assert_eq!(e.type_.code.as_deref(), Some("rest"));
        assert_eq!(e.subtype[0].code.as_deref(), Some("read"));
        assert_eq!(e.action.as_deref(), Some("R"));
        assert_eq!(e.outcome.as_deref(), Some("0"));
        assert_eq!(e.recorded, "2024-11-04T08:35:00.000Z");
        // BALP Read: the client receives data (Destination), the server sends it (Source)
        assert_eq!(
            agent_with(&e, &AGENT_DESTINATION_ROLE).network.as_ref().unwrap().address.as_deref(),
            Some("192.0.2.7")
        );
        assert_eq!(agent_with(&e, &AGENT_SOURCE_ROLE).who.as_ref().unwrap().display.as_deref(), Some(SERVER.name));
        let user = agent_with(&e, &AGENT_INFORMATION_RECIPIENT);
        assert!(user.requestor);
        assert_eq!(user.name.as_deref(), Some("dr.lindqvist"));
        let patient = &e.entity[0];
        assert_eq!(patient.type_.as_ref().unwrap().code.as_deref(), Some("1"));
        assert_eq!(patient.role.as_ref().unwrap().code.as_deref(), Some("1"));
        assert_eq!(
            patient.what.as_ref().unwrap().reference.as_deref(),
            Some("Patient/0192f650-2320-775e-abb5-70c225bff21b")
        );
        let data = &e.entity[1];
        assert_eq!(data.role.as_ref().unwrap().code.as_deref(), Some("4"));
        assert_eq!(data.what.as_ref().unwrap().type_.as_deref(), Some("Observation"));
    }

    #[test]
    fn a_create_puts_the_client_as_source_and_the_user_as_author() {
        let e = audit_event(&entry("create"), &SERVER).unwrap();
        assert_eq!(e.action.as_deref(), Some("C"));
        assert!(agent_with(&e, &AGENT_SOURCE_ROLE).network.as_ref().unwrap().address.as_deref() == Some("192.0.2.7"));
        assert!(agent_with(&e, &AGENT_AUTHOR).requestor);
    }

    #[test]
    fn a_search_records_the_query_base64_and_a_refusal_is_a_minor_failure() {
        let mut s = entry("search");
        s.detail = "aetiology=clti";
        s.outcome = "denied";
        let e = audit_event(&s, &SERVER).unwrap();
        assert_eq!(e.subtype[0].code.as_deref(), Some("search-type"));
        assert_eq!(e.action.as_deref(), Some("E"));
        assert_eq!(e.outcome.as_deref(), Some("4"));
        let q = e.entity.iter().find(|x| x.role.as_ref().and_then(|r| r.code.as_deref()) == Some("24")).unwrap();
        assert_eq!(q.query.as_deref(), Some("YWV0aW9sb2d5PWNsdGk=")); // base64("aetiology=clti"), by hand/coreutils
        assert_eq!(e.outcome_desc.as_deref(), Some("aetiology=clti"));
    }

    #[test]
    fn a_login_is_application_activity_and_bad_input_is_an_error() {
        let mut l = entry("login");
        l.patient_id = None;
        l.entity_id = None;
        let e = audit_event(&l, &SERVER).unwrap();
        assert_eq!(e.type_.code.as_deref(), Some("110100"));
        assert_eq!(e.subtype[0].code.as_deref(), Some("login"));
        assert!(e.entity.is_empty());
        let mut x = entry("read");
        x.outcome = "maybe";
        assert_eq!(audit_event(&x, &SERVER).unwrap_err().0.location, "outcome");
        x.outcome = "error";
        x.at_ms = i64::MIN;
        assert_eq!(audit_event(&x, &SERVER).unwrap_err().0.location, "at_ms");
    }

    #[test]
    fn base64_matches_known_vectors() {
        // RFC 4648 §10 test vectors
        for (plain, enc) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(base64(plain.as_bytes()), enc);
        }
    }
}
