//! Who may do what: the role × endpoint-family matrix, as data.
//!
//! The server asks [`allowed`] before touching the store, and audits every
//! denial. A patient account is further restricted to its own patient: the
//! handlers compare the record's patient with the session's (`own_patient`).

use limbpath_record::Role;
use serde::Serialize;

/// A family of endpoints that share an access rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Family {
    /// Identifiable patient records: patients, limbs, episodes, assessments,
    /// wounds, studies, procedures, outcome events, consent, care team.
    PatientRecord,
    /// The audit trail.
    Audit,
    /// User accounts.
    Users,
    /// Aggregate, de-identified figures (analytics).
    Aggregates,
    /// The clinical engine on data sent with the request (nothing stored).
    Classify,
    /// The caller's own session.
    Session,
    /// Coordinated care (issue 5): care plans and tasks, the worklist,
    /// follow-ups, second-opinion referrals. Staff only: patient accounts and
    /// analysts are refused (a referrer reaches their own referrals with their
    /// own token, outside this matrix).
    Care,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    Read,
    Write,
}

/// Whether `role` may perform `action` on `family`. For `Role::Patient` and
/// `PatientRecord` reads, the handler must also check the patient is the
/// account's own.
pub fn allowed(role: Role, family: Family, action: Action) -> bool {
    use Action::*;
    use Family::*;
    match (role, family, action) {
        (_, Session, _) => true,
        (Role::Admin, _, _) => true,
        (Role::Clinician | Role::Coordinator, PatientRecord | Classify | Aggregates, _) => true,
        (Role::Clinician | Role::Coordinator, Care, _) => true,
        (Role::Clinician | Role::Coordinator, Audit | Users, _) => false,
        (Role::Analyst, Aggregates | Classify, Read) => true,
        (Role::Analyst, Classify, Write) => true,
        (Role::Analyst, _, _) => false,
        (Role::Patient, PatientRecord, Read) => true,
        (Role::Patient, _, _) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The whole matrix, written out: a change to access must change this test.
    #[test]
    fn the_matrix() {
        use Action::*;
        use Family::*;
        let families = [PatientRecord, Audit, Users, Aggregates, Classify, Session, Care];
        // (role, [(read, write) per family in the order above])
        let expected: [(Role, [(bool, bool); 7]); 5] = [
            (
                Role::Admin,
                [(true, true), (true, true), (true, true), (true, true), (true, true), (true, true), (true, true)],
            ),
            (
                Role::Clinician,
                [(true, true), (false, false), (false, false), (true, true), (true, true), (true, true), (true, true)],
            ),
            (
                Role::Coordinator,
                [(true, true), (false, false), (false, false), (true, true), (true, true), (true, true), (true, true)],
            ),
            (
                Role::Analyst,
                [
                    (false, false),
                    (false, false),
                    (false, false),
                    (true, false),
                    (true, true),
                    (true, true),
                    (false, false),
                ],
            ),
            (
                Role::Patient,
                [
                    (true, false),
                    (false, false),
                    (false, false),
                    (false, false),
                    (false, false),
                    (true, true),
                    (false, false),
                ],
            ),
        ];
        for (role, row) in expected {
            for (family, (read, write)) in families.iter().zip(row) {
                assert_eq!(allowed(role, *family, Read), read, "{role:?} read {family:?}");
                assert_eq!(allowed(role, *family, Write), write, "{role:?} write {family:?}");
            }
        }
    }
}
