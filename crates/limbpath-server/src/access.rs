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
    /// Programme-level aggregates and de-identified data (issue 7's
    /// analytics: `/api/v1/analytics/*`, the de-identified cohort CSV, the
    /// `/analytics` dashboard): staff and analysts read them; a patient
    /// account may not. Reads are audited without a patient.
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
    /// What a patient reports between visits about their own record:
    /// check-ins, loading sessions, distraction turns. A patient account may
    /// write it for its own patient only (the handler's scope check).
    PatientReported,
    /// The programme's written instructions and settings (escalation policy,
    /// triage and protocol settings): read by every account, written by the
    /// care team (settings by an admin only, checked by the handler).
    Programme,
    /// The follow-up schedule templates (issue 5 item 4): read by the care
    /// team; edited or reset to the shipped template by an admin only.
    FollowUpTemplates,
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
        (Role::Clinician | Role::Coordinator, FollowUpTemplates, Read) => true,
        (_, FollowUpTemplates, _) => false,
        (
            Role::Clinician | Role::Coordinator,
            PatientRecord | Classify | Aggregates | PatientReported | Programme | Care,
            _,
        ) => true,
        (Role::Clinician | Role::Coordinator, Audit | Users, _) => false,
        (Role::Analyst, Aggregates | Classify, Read) => true,
        (Role::Analyst, Classify, Write) => true,
        (Role::Analyst, Programme, Read) => true,
        (Role::Analyst, _, _) => false,
        (Role::Patient, PatientRecord, Read) => true,
        (Role::Patient, PatientReported, _) => true,
        (Role::Patient, Programme, Read) => true,
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
        let families = [
            PatientRecord,
            Audit,
            Users,
            Aggregates,
            Classify,
            Session,
            PatientReported,
            Programme,
            Care,
            FollowUpTemplates,
        ];
        // (role, [(read, write) per family in the order above])
        let (y, n, r) = ((true, true), (false, false), (true, false));
        let expected: [(Role, [(bool, bool); 10]); 5] = [
            (Role::Admin, [y, y, y, y, y, y, y, y, y, y]),
            (Role::Clinician, [y, n, n, y, y, y, y, y, y, r]),
            (Role::Coordinator, [y, n, n, y, y, y, y, y, y, r]),
            (Role::Analyst, [n, n, n, r, y, y, n, r, n, n]),
            (Role::Patient, [r, n, n, n, n, y, y, r, n, n]),
        ];
        for (role, row) in expected {
            for (family, (read, write)) in families.iter().zip(row) {
                assert_eq!(allowed(role, *family, Read), read, "{role:?} read {family:?}");
                assert_eq!(allowed(role, *family, Write), write, "{role:?} write {family:?}");
            }
        }
    }

    /// Programme analytics: read-only, for staff and analysts, never for a patient account.
    #[test]
    fn programme_aggregates_are_for_staff_and_analysts() {
        for role in [Role::Admin, Role::Clinician, Role::Coordinator, Role::Analyst] {
            assert!(allowed(role, Family::Aggregates, Action::Read), "{role:?}");
        }
        assert!(!allowed(Role::Patient, Family::Aggregates, Action::Read));
        assert!(!allowed(Role::Analyst, Family::Aggregates, Action::Write));
        assert!(!allowed(Role::Analyst, Family::PatientRecord, Action::Read), "an analyst sees no patient record");
    }
}
