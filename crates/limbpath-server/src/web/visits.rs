//! The patient between visits in the browser: the patient's own check-in
//! page (phone-first: large touch targets, the answer at once, their plan,
//! appointments and the programme's instructions), the care team's alert
//! worklist with acknowledgement (CSRF), and the patient flags shown in the
//! patient page header. Every action goes through `crate::visits`, so the
//! role checks, the patient scope and the audit trail are the API's.

use super::forms::{FieldError, FormData};
use super::html::{Markup, num, words};
use super::{Web, check_csrf, csrf_field, page, page_error, redirect, session};
use crate::access::{Action, Family};
use crate::app::{AppState, RemoteAddr, authorise, scope};
use crate::visits::{self, Ctx, level_label};
use crate::{html, markup};
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::Response;
use axum::routing::{get, post};
use limbpath_pathway::follow_up::{FollowUpState, FollowUpWhen};
use limbpath_pathway::follow_up_status;
use limbpath_protocols::alerts::{AlertKind, EscalationStatus};
use limbpath_protocols::flags::{PatientFlag, PatientFlagKind, check_in_context};
use limbpath_protocols::triage::{CheckIn, CheckInContext, TriageLevel};
use limbpath_record::Role;
use limbpath_store::{AuditOutcome, PlanProtocol};
use serde::Deserialize;
use std::sync::Arc;

/// The between-visits pages (merged into the web routes).
pub fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/check-in", get(check_in_page).post(check_in_submit))
        .route("/alerts", get(alerts_page))
        .route("/alerts/{id}/acknowledge", post(acknowledge))
        .route("/alerts/{id}/close", post(close_alert))
        .route("/programme/instructions", get(instructions_page).post(instructions_save))
        .route("/check-in/oi-plans/{id}/log", post(log_load_submit))
        .route("/check-in/lengthening-plans/{id}/log", post(log_turns_submit))
}

fn ctx<'a>(state: &'a AppState, web: &'a Web) -> Ctx<'a> {
    Ctx { state, caller: &web.caller, remote: web.remote.clone() }
}

/// An instant as `YYYY-MM-DD HH:MM UTC`.
pub fn instant(ms: i64) -> String {
    let date = visits::date_of_ms(ms);
    let minute = ms.rem_euclid(86_400_000) / 60_000;
    format!("{date} {:02}:{:02} UTC", minute / 60, minute % 60)
}

fn level_class(level: TriageLevel) -> &'static str {
    match level {
        TriageLevel::ContactTeamImmediately => "level-urgent",
        TriageLevel::ContactTeamToday => "level-today",
        TriageLevel::Routine => "level-routine",
    }
}

/// The patient flags as badges (patient page header, worklist).
pub fn flag_badges(flags: &[PatientFlag]) -> Markup {
    if flags.is_empty() {
        return Markup::new();
    }
    let mut m = markup!("<ul class=\"patient-flags\" aria-label=\"Patient flags\">");
    for f in flags {
        let (class, label) = match f.kind {
            PatientFlagKind::OsseointegratedImplant => ("pflag pflag-implant", "Osseointegrated implant"),
            PatientFlagKind::ExternalFrame => ("pflag pflag-frame", "External frame"),
            PatientFlagKind::OpenHighPriorityAlert => ("pflag pflag-alert", "Open urgent alert"),
        };
        html!(
            m,
            "<li class=\"{}\" title=\"{}\"><strong>{}</strong> <span>{}</span></li>",
            class,
            f.text,
            label,
            f.text
        );
    }
    html!(m, "</ul>");
    m
}

// ---------------------------------------------------------------------------
// The patient's check-in
// ---------------------------------------------------------------------------

/// One yes/no question as two big buttons (radio), unanswered allowed.
fn choice(m: &mut Markup, name: &str, legend: &str, options: &[(&str, &str)], values: &FormData) {
    let chosen = values.get(name).unwrap_or("");
    html!(m, "<fieldset class=\"ask\" id=\"field-{}\"><legend>{}</legend><div class=\"tiles\">", name, legend);
    for (code, label) in options {
        let id = format!("q-{name}-{code}");
        let checked = if chosen == *code { markup!(" checked") } else { Markup::new() };
        html!(
            m,
            "<input type=\"radio\" class=\"tile-input\" id=\"{}\" name=\"{}\" value=\"{}\"{}><label class=\"tile\" for=\"{}\">{}</label>",
            id,
            name,
            *code,
            checked,
            id,
            *label
        );
    }
    html!(m, "</div></fieldset>");
}

const YES_NO: [(&str, &str); 2] = [("yes", "Yes"), ("no", "No")];

fn check_in_form(web: &Web, context: &CheckInContext, values: &FormData, errors: &[FieldError]) -> Markup {
    let mut m = markup!(
        "<form method=\"post\" action=\"/check-in\" class=\"check-in card\" novalidate>{}<h2>How are you today?</h2><p class=\"muted\">Answer what you can; leave out what you do not know. You will see straight away what to do.</p>",
        csrf_field(&web.csrf)
    );
    if !errors.is_empty() {
        html!(
            m,
            "<div class=\"error-summary\" id=\"error-summary\" role=\"alert\" tabindex=\"-1\"><h2>Please check your answers</h2><ul>"
        );
        for e in errors {
            html!(m, "<li><a href=\"{}\">{}</a></li>", format!("#field-{}", e.field), e.message);
        }
        html!(m, "</ul></div>");
    }
    let err = errors.iter().find(|e| e.field == "temperature_c");
    html!(
        m,
        "<div class=\"field ask{}\" id=\"field-temperature_c\"><label for=\"q-temperature_c\">Temperature (°C), if you measured it</label>{}<input id=\"q-temperature_c\" name=\"temperature_c\" type=\"text\" inputmode=\"decimal\" autocomplete=\"off\" placeholder=\"e.g. 37.2\" value=\"{}\"></div>",
        if err.is_some() { " has-error" } else { "" },
        err.map(|e| markup!("<span class=\"error\"><strong>Error:</strong> {}</span>", e.message)),
        values.get("temperature_c").unwrap_or("")
    );
    choice(&mut m, "chills", "Do you have chills?", &YES_NO, values);
    let pain: Vec<(String, String)> = (0..=10).map(|n| (n.to_string(), n.to_string())).collect();
    let pain_ref: Vec<(&str, &str)> = pain.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect();
    choice(&mut m, "pain_nrs", "Pain now, from 0 (none) to 10 (worst imaginable)", &pain_ref, values);
    choice(&mut m, "severe_pain_or_tenderness", "Is the pain or tenderness severe?", &YES_NO, values);
    choice(
        &mut m,
        "bleeding",
        "Bleeding from the wound",
        &[("none", "None"), ("minor", "A little"), ("profuse", "A lot (profuse)")],
        values,
    );
    choice(
        &mut m,
        "redness",
        "Redness around the wound",
        &[("none", "None"), ("not_spreading", "Red, not spreading"), ("spreading", "Spreading")],
        values,
    );
    choice(&mut m, "nausea_or_vomiting", "Nausea or vomiting?", &YES_NO, values);
    choice(&mut m, "reduced_mobility", "Can you move the limb less than usual?", &YES_NO, values);
    choice(&mut m, "fall_or_trauma", "Have you had a fall or an injury?", &YES_NO, values);
    if context.osseointegrated_implant {
        choice(&mut m, "unable_to_load_implant", "Are you unable to put weight on the implant?", &YES_NO, values);
    }
    choice(
        &mut m,
        "wound_change",
        "Any change at the wound?",
        &[
            ("none", "No change"),
            ("usual_discharge", "Yellow or clear discharge"),
            ("unusual_leakage", "Unusual leakage"),
            ("other", "Something else"),
        ],
        values,
    );
    if context.external_frame {
        choice(&mut m, "pin_site_problem", "A problem at a pin site of your frame?", &YES_NO, values);
    }
    choice(
        &mut m,
        "other_symptom_related_to_operation",
        "Any other symptom you think is related to the operation?",
        &YES_NO,
        values,
    );
    html!(
        m,
        "<div class=\"field ask\" id=\"field-free_text\"><label for=\"q-free_text\">A message for your team (optional)</label><span class=\"hint\">A person reads it; LimbPath does not interpret it.</span><textarea id=\"q-free_text\" name=\"free_text\" rows=\"3\">{}</textarea></div><div class=\"actions\"><button type=\"submit\" class=\"primary big\">Send to my team</button></div></form>",
        values.get("free_text").unwrap_or("")
    );
    m
}

/// The form's answers as a check-in; field errors name the question.
fn parse_check_in(values: &FormData) -> Result<CheckIn, Vec<FieldError>> {
    CheckIn::from_form_answers(|name| values.text(name)).map_err(|errors| {
        errors.into_iter().map(|e| FieldError { field: e.question.into(), message: e.message.into() }).collect()
    })
}

/// The patient's own page around the form: plan, appointments, instructions.
async fn around(state: &AppState, web: &Web, pid: &str, context: &CheckInContext) -> Result<Markup, Response> {
    let c = ctx(state, web);
    let mut m = markup!("<section class=\"card\" id=\"my-plan\"><h2>My plan</h2>");
    let today = state.clock.today();
    let mut any = false;
    let mut protocols = vec!["general"];
    if let Some(id) = visits::latest_plan_id(&c, pid, PlanProtocol::OiRehab).await.map_err(|p| page_error(web, p))? {
        let v = visits::oi_plan(&c, &id).await.map_err(|p| page_error(web, p))?;
        any = true;
        protocols.push("oi_rehab");
        let p = &v.computed;
        html!(
            m,
            "<h3>Loading after osseointegration</h3><p>Target load {} kg, reached on {}. No excessive physical activity until {}.</p>",
            num(p.target_load_kg.value, 1),
            p.target_reached_on,
            p.excessive_activity_restricted_until.value
        );
        match p.days.iter().find(|d| d.date == today) {
            Some(d) => html!(
                m,
                "<p class=\"today-plan\"><strong>Today (day {}):</strong> {}</p>",
                d.day,
                match (d.target_load_kg, d.sessions_per_day, d.minutes_per_session) {
                    (Some(kg), Some(n), Some(min)) => format!("load {} kg, {n} sessions of {min} minutes", num(kg, 1)),
                    _ => words(
                        &serde_json::to_value(d.phase)
                            .ok()
                            .and_then(|v| v.as_str().map(str::to_owned))
                            .unwrap_or_default()
                    ),
                }
            ),
            None if today > p.target_reached_on => {
                html!(
                    m,
                    "<p class=\"today-plan\"><strong>Today:</strong> keep loading at {} kg as your team advised.</p>",
                    num(p.target_load_kg.value, 1)
                )
            }
            None => {}
        }
        html!(
            m,
            "<form method=\"post\" action=\"{}\" class=\"log-form\">{}<h4>Log a loading session</h4><div class=\"grid\"><div class=\"field\"><label for=\"load-date\">Date</label><input id=\"load-date\" name=\"date\" type=\"date\" value=\"{}\"></div><div class=\"field\"><label for=\"load-kg\">Load on the scale (kg)</label><input id=\"load-kg\" name=\"load_kg\" type=\"text\" inputmode=\"decimal\"></div><div class=\"field\"><label for=\"load-pain\">Pain during the session (0–10, optional)</label><input id=\"load-pain\" name=\"pain_nrs\" type=\"text\" inputmode=\"numeric\"></div></div><div class=\"actions\"><button type=\"submit\" class=\"primary big\">Log session</button></div></form>",
            format!("/check-in/oi-plans/{id}/log"),
            csrf_field(&web.csrf),
            today
        );
    }
    if let Some(id) =
        visits::latest_plan_id(&c, pid, PlanProtocol::Lengthening).await.map_err(|p| page_error(web, p))?
    {
        let v = visits::lengthening(&c, &id).await.map_err(|p| page_error(web, p))?;
        any = true;
        protocols.push("lengthening");
        let p = &v.computed;
        html!(
            m,
            "<h3>Lengthening</h3><p>{} turns a day of {} mm, from {} to {} ({} mm in all).</p>",
            p.turns_per_day,
            num(p.mm_per_turn, 2),
            p.distraction_starts_on,
            p.distraction_ends_on,
            num(p.planned_mm, 1)
        );
        if let Some(d) = p.days.iter().find(|d| d.date == today) {
            html!(
                m,
                "<p class=\"today-plan\"><strong>Today:</strong> {} turns ({} mm so far by the plan).</p>",
                d.turns,
                num(d.cumulative_mm, 2)
            );
        }
        html!(
            m,
            "<form method=\"post\" action=\"{}\" class=\"log-form\">{}<h4>Log the turns done</h4><div class=\"grid\"><div class=\"field\"><label for=\"turns-date\">Date</label><input id=\"turns-date\" name=\"date\" type=\"date\" value=\"{}\"></div><div class=\"field\"><label for=\"turns\">Turns done that day</label><input id=\"turns\" name=\"turns\" type=\"text\" inputmode=\"numeric\"></div></div><div class=\"actions\"><button type=\"submit\" class=\"primary big\">Log turns</button></div></form>",
            format!("/check-in/lengthening-plans/{id}/log"),
            csrf_field(&web.csrf),
            today
        );
    }
    if context.osseointegrated_implant && !protocols.contains(&"oi_rehab") {
        protocols.push("oi_rehab");
    }
    if context.external_frame {
        protocols.push("external_frame");
    }
    if !any {
        html!(m, "<p class=\"muted\">Your team has not set up a rehabilitation or lengthening plan in LimbPath.</p>");
    }
    html!(m, "</section>");
    m.push(next_appointments(state, web, pid, today).await?);
    let instructions = visits::instructions(&c).await.map_err(|p| page_error(web, p))?;
    html!(m, "<section class=\"card\" id=\"instructions\"><h2>Instructions from your programme</h2>");
    let mut shown = false;
    for i in instructions.iter().filter(|i| protocols.contains(&i.protocol.as_str())) {
        shown = true;
        html!(m, "<h3>{}</h3>", instruction_title(&i.protocol));
        for para in i.text.split("\n\n") {
            html!(m, "<p>{}</p>", para);
        }
    }
    if !shown {
        html!(m, "<p class=\"muted\">Your programme has not written instructions here yet.</p>");
    }
    html!(m, "</section>");
    Ok(m)
}

/// How many upcoming follow-up visits the patient's page lists (missed and
/// overdue ones are always all listed). A display choice, not a clinical number.
const UPCOMING_SHOWN: usize = 6;

/// One follow-up visit for the patient's "Next appointments".
struct NextVisit {
    due_on: time::Date,
    description: String,
    limb: String,
    state: FollowUpState,
}

/// The patient's "Next appointments": the follow-up visits their episodes'
/// schedules plan (the programme's templates, edited or shipped), missed and
/// overdue ones flagged, then the next upcoming ones; closed episodes are
/// left out. Only the patient's own
/// episodes are read (the record of `pid`, scoped to the caller); the read is
/// audited with the patient.
async fn next_appointments(state: &AppState, web: &Web, pid: &str, today: time::Date) -> Result<Markup, Response> {
    let audit = web.audit(state, "read", "follow_up");
    authorise(&audit, &web.caller, Family::PatientRecord, Action::Read, Some(pid))
        .await
        .map_err(|p| page_error(web, p))?;
    scope(&audit, &web.caller, pid, pid).await.map_err(|p| page_error(web, p))?;
    let failed = |e: limbpath_store::StoreError| {
        let audit = &audit;
        async move { page_error(web, audit.failed::<()>(Some(pid), Some(pid), e).await.unwrap_err()) }
    };
    let record = match state.store.get_patient_record(pid).await {
        Ok(r) => r,
        Err(e) => return Err(failed(e).await),
    };
    let rules = crate::care::rules();
    let settings = rules.settings();
    let mut rows = Vec::new();
    // A closed episode's schedule is no longer followed (the sweep skips it too).
    for episode in record.episodes.iter().filter(|e| e.data.status != limbpath_record::EpisodeStatus::Closed) {
        let limb = record
            .limbs
            .iter()
            .find(|l| l.id == episode.data.limb_id)
            .map(|l| format!("{} {} limb", words(l.data.side.code()), words(l.data.kind.code())))
            .unwrap_or_default();
        let items = match state.store.follow_up_items(&episode.id).await {
            Ok((_, _, items)) => items,
            Err(e) => return Err(failed(e).await),
        };
        if items.is_empty() {
            continue;
        }
        let visits = match state.store.follow_up_visits(&episode.id).await {
            Ok(v) => v,
            Err(e) => return Err(failed(e).await),
        };
        let statuses = follow_up_status(&items, &visits, today, settings)
            .map_err(|e| page_error(web, crate::problem::Problem::invalid(e)))?;
        for (item, status) in items.into_iter().zip(statuses) {
            let FollowUpWhen::Visit { due_on } = item.when else { continue };
            if matches!(status.state, FollowUpState::Upcoming | FollowUpState::Overdue | FollowUpState::Missed) {
                rows.push(NextVisit { due_on, description: item.description, limb: limb.clone(), state: status.state });
            }
        }
    }
    rows.sort_by(|a, b| a.due_on.cmp(&b.due_on).then_with(|| a.description.cmp(&b.description)));
    audit
        .record(Some(pid), Some(pid), AuditOutcome::Ok, &format!("next appointments: {} follow-up visits", rows.len()))
        .await
        .map_err(|p| page_error(web, p))?;
    let mut m = markup!("<section class=\"card\" id=\"appointments\"><h2>Next appointments</h2>");
    if rows.is_empty() {
        html!(
            m,
            "<p class=\"muted\">No follow-up visits are scheduled for you in LimbPath. Your team will tell you when your next visit is.</p></section>"
        );
        return Ok(m);
    }
    html!(
        m,
        "<p class=\"muted\">These are the follow-up visits your programme's schedule plans after your procedure, counted from its date. They are not booked appointments: your team confirms the exact day and time. A visit counts as on time within {} days after its date (a programme setting).</p><ul class=\"appointments\">",
        settings.follow_up_grace_days.value
    );
    let (late, upcoming): (Vec<&NextVisit>, Vec<&NextVisit>) =
        rows.iter().partition(|r| r.state != FollowUpState::Upcoming);
    for r in &late {
        let (class, label) = if r.state == FollowUpState::Missed {
            ("cp-status cp-missed", "Missed: please contact your team to rebook it")
        } else {
            ("cp-status overdue", "Overdue: your team will be in touch, or contact them")
        };
        html!(
            m,
            "<li class=\"appointment missed\"><strong>{}</strong> for your {}: planned for {}. <span class=\"{}\">{}</span></li>",
            r.description,
            r.limb,
            r.due_on,
            class,
            label
        );
    }
    for r in upcoming.iter().take(UPCOMING_SHOWN) {
        html!(
            m,
            "<li class=\"appointment\"><strong>{}</strong> for your {}: planned around {}.</li>",
            r.description,
            r.limb,
            r.due_on
        );
    }
    html!(m, "</ul>");
    if upcoming.len() > UPCOMING_SHOWN {
        html!(m, "<p class=\"muted\">and {} more follow-up visits later.</p>", upcoming.len() - UPCOMING_SHOWN);
    }
    html!(m, "</section>");
    Ok(m)
}

fn instruction_title(protocol: &str) -> &'static str {
    match protocol {
        "oi_rehab" => "Osseointegration: wound care, hygiene and activity",
        "lengthening" => "Lengthening",
        "external_frame" => "Your frame and pin sites",
        _ => "For everyone",
    }
}

/// The patient's own id, or an error page for other roles.
/// What every form a patient posts for themself starts with: their session,
/// the form with its CSRF token checked, and their own patient id.
async fn patient_form(
    state: &AppState,
    headers: &HeaderMap,
    addr: &RemoteAddr,
    audit_entity: &'static str,
    raw: &[u8],
) -> Result<(Web, FormData, String), Response> {
    let web = session(state, headers, addr, audit_entity).await?;
    let form = FormData::parse(raw);
    check_csrf(state, &web, &form).await?;
    let pid = own_patient(&web)?;
    Ok((web, form, pid))
}

fn own_patient(web: &Web) -> Result<String, Response> {
    match (web.role(), &web.caller.user.data.patient_id) {
        (Role::Patient, Some(pid)) => Ok(pid.clone()),
        (Role::Patient, None) => {
            Err(page_error(web, crate::problem::Problem::forbidden("this patient account is not linked to a record")))
        }
        _ => Err(page_error(
            web,
            crate::problem::Problem::forbidden(
                "the check-in page is the patient's own: patients check in with their own account",
            ),
        )),
    }
}

/// The record's check-in context (read and audited like the patient page).
async fn context_of(state: &AppState, web: &Web, pid: &str) -> Result<CheckInContext, Response> {
    let audit = web.audit(state, "read_record", "patient");
    authorise(&audit, &web.caller, Family::PatientRecord, Action::Read, Some(pid))
        .await
        .map_err(|p| page_error(web, p))?;
    scope(&audit, &web.caller, pid, pid).await.map_err(|p| page_error(web, p))?;
    let record = match state.store.get_patient_record_without_assessments(pid).await {
        Ok(r) => r,
        Err(e) => return Err(page_error(web, audit.failed::<()>(Some(pid), Some(pid), e).await.unwrap_err())),
    };
    audit.record(Some(pid), Some(pid), AuditOutcome::Ok, "web check-in page").await.map_err(|p| page_error(web, p))?;
    check_in_context(&record, state.clock.today())
        .map(|c| c.value)
        .map_err(|e| page_error(web, crate::problem::Problem::invalid(e)))
}

async fn check_in_page(State(state): State<Arc<AppState>>, addr: RemoteAddr, headers: HeaderMap) -> Response {
    let web = match session(&state, &headers, &addr, "check_in").await {
        Ok(w) => w,
        Err(r) => return r,
    };
    let pid = match own_patient(&web) {
        Ok(p) => p,
        Err(r) => return r,
    };
    let context = match context_of(&state, &web, &pid).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    let mut body = check_in_form(&web, &context, &FormData::default(), &[]);
    match around(&state, &web, &pid, &context).await {
        Ok(m) => body.push(m),
        Err(r) => return r,
    }
    page(Some(&web), "Check in", markup!("<div class=\"patient-home\"><h1>Check in</h1>{}</div>", body))
}

async fn check_in_submit(
    State(state): State<Arc<AppState>>,
    addr: RemoteAddr,
    headers: HeaderMap,
    raw: Bytes,
) -> Response {
    let (web, form, pid) = match patient_form(&state, &headers, &addr, "check_in", &raw).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let context = match context_of(&state, &web, &pid).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    let check_in = match parse_check_in(&form) {
        Ok(c) => c,
        Err(errors) => return form_again(&state, &web, &pid, &context, &form, &errors).await,
    };
    let answer = match visits::submit_check_in(&ctx(&state, &web), &pid, check_in).await {
        Ok(a) => a,
        Err(p) if p.status == 422 => {
            let field = p.field.clone().unwrap_or_default();
            let errors = vec![FieldError { field, message: p.detail.clone() }];
            return form_again(&state, &web, &pid, &context, &form, &errors).await;
        }
        Err(p) => return page_error(&web, p),
    };
    let mut m = markup!(
        "<section class=\"card result {}\" id=\"check-in-result\" role=\"alert\" tabindex=\"-1\"><p class=\"level\">{}</p><p class=\"instruction\">{}</p>",
        level_class(answer.level),
        answer.level_label,
        answer.instruction
    );
    let reported: Vec<&str> = answer.decision.answers.iter().filter_map(|a| a.reported_as.as_deref()).collect();
    if !reported.is_empty() {
        html!(m, "<h2>You told us about</h2><ul>");
        for r in reported {
            html!(m, "<li>{}</li>", r);
        }
        html!(m, "</ul>");
    }
    if answer.level > TriageLevel::Routine {
        html!(m, "<p>Your team has been alerted and will see this on their worklist.</p>");
    }
    html!(
        m,
        "<p class=\"muted\">Sent {}.</p><p><a class=\"button\" href=\"/check-in\">Back to my check-in</a></p></section>",
        super::visits::instant(answer.at_ms)
    );
    match around(&state, &web, &pid, &context).await {
        Ok(more) => m.push(more),
        Err(r) => return r,
    }
    page(Some(&web), level_label(answer.level), markup!("<div class=\"patient-home\"><h1>Check in</h1>{}</div>", m))
}

async fn form_again(
    state: &AppState,
    web: &Web,
    pid: &str,
    context: &CheckInContext,
    form: &FormData,
    errors: &[FieldError],
) -> Response {
    let mut body = check_in_form(web, context, form, errors);
    match around(state, web, pid, context).await {
        Ok(m) => body.push(m),
        Err(r) => return r,
    }
    let mut r = page(Some(web), "Check in", markup!("<div class=\"patient-home\"><h1>Check in</h1>{}</div>", body));
    *r.status_mut() = axum::http::StatusCode::UNPROCESSABLE_ENTITY;
    r
}

// ---------------------------------------------------------------------------
// The patient's logs (loading sessions, distraction turns)
// ---------------------------------------------------------------------------

fn form_date(form: &FormData) -> Result<time::Date, FieldError> {
    let fmt = time::macros::format_description!("[year]-[month]-[day]");
    time::Date::parse(form.text("date"), fmt)
        .map_err(|_| FieldError { field: "date".into(), message: "Enter the date as YYYY-MM-DD".into() })
}

/// The check-in page with a notice (or an error) above it.
async fn check_in_with(state: &AppState, web: &Web, pid: &str, notice: Markup, error: bool) -> Response {
    let context = match context_of(state, web, pid).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    let mut body = notice;
    body.push(check_in_form(web, &context, &FormData::default(), &[]));
    match around(state, web, pid, &context).await {
        Ok(m) => body.push(m),
        Err(r) => return r,
    }
    let mut r = page(Some(web), "Check in", markup!("<div class=\"patient-home\"><h1>Check in</h1>{}</div>", body));
    if error {
        *r.status_mut() = axum::http::StatusCode::UNPROCESSABLE_ENTITY;
    }
    r
}

fn error_notice(field: &str, message: &str) -> Markup {
    markup!(
        "<div class=\"error-summary\" id=\"error-summary\" role=\"alert\"><h2>Not logged</h2><p>{}: {}</p></div>",
        words(field),
        message
    )
}

async fn log_load_submit(
    State(state): State<Arc<AppState>>,
    addr: RemoteAddr,
    headers: HeaderMap,
    Path(id): Path<String>,
    raw: Bytes,
) -> Response {
    let (web, form, pid) = match patient_form(&state, &headers, &addr, "oi_load_log", &raw).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let date = match form_date(&form) {
        Ok(d) => d,
        Err(e) => return check_in_with(&state, &web, &pid, error_notice(&e.field, &e.message), true).await,
    };
    let Ok(load_kg) = form.text("load_kg").replace(',', ".").parse::<f64>() else {
        return check_in_with(&state, &web, &pid, error_notice("load_kg", "enter the load in kg, e.g. 12.5"), true)
            .await;
    };
    let pain_nrs = match form.text("pain_nrs") {
        "" => None,
        t => match t.parse::<u8>() {
            Ok(n) => Some(n),
            Err(_) => {
                let notice = error_notice("pain_nrs", "a whole number from 0 to 10");
                return check_in_with(&state, &web, &pid, notice, true).await;
            }
        },
    };
    let entry = limbpath_protocols::oi_rehab::LoadLogEntry { date, load_kg, pain_nrs };
    match visits::log_load(&ctx(&state, &web), &id, entry).await {
        Ok(l) => {
            let mut n = markup!(
                "<section class=\"card notice-card\" id=\"log-result\" role=\"status\"><p><strong>Logged {} kg on {}.</strong></p>",
                num(load_kg, 1),
                date
            );
            let that_day: Vec<_> = l.review.deviations.iter().filter(|d| d.date == date).collect();
            if that_day.is_empty() {
                html!(n, "<p>That matches your plan.</p>");
            } else {
                html!(n, "<ul>");
                for d in that_day {
                    html!(n, "<li>{}</li>", d.rationale.rule);
                }
                html!(n, "</ul>");
            }
            if !l.alerts.is_empty() {
                html!(n, "<p>Your team has been told.</p>");
            }
            html!(n, "</section>");
            check_in_with(&state, &web, &pid, n, false).await
        }
        Err(p) if p.status == 422 => {
            let field = p.field.clone().unwrap_or_default();
            check_in_with(&state, &web, &pid, error_notice(&field, &p.detail), true).await
        }
        Err(p) => page_error(&web, p),
    }
}

async fn log_turns_submit(
    State(state): State<Arc<AppState>>,
    addr: RemoteAddr,
    headers: HeaderMap,
    Path(id): Path<String>,
    raw: Bytes,
) -> Response {
    let (web, form, pid) = match patient_form(&state, &headers, &addr, "distraction_log", &raw).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let date = match form_date(&form) {
        Ok(d) => d,
        Err(e) => return check_in_with(&state, &web, &pid, error_notice(&e.field, &e.message), true).await,
    };
    let Ok(turns) = form.text("turns").parse::<u32>() else {
        return check_in_with(&state, &web, &pid, error_notice("turns", "a whole number of turns, e.g. 4"), true).await;
    };
    let entry = limbpath_protocols::lengthening::DistractionLogEntry { date, turns };
    match visits::log_distraction(&ctx(&state, &web), &id, entry).await {
        Ok(l) => {
            let mut n = markup!(
                "<section class=\"card notice-card\" id=\"log-result\" role=\"status\"><p><strong>Logged {} turn(s) on {}.</strong> Done so far: {} mm; planned: {} mm.</p>",
                turns,
                date,
                num(l.review.done_mm, 2),
                num(l.review.planned_mm, 2)
            );
            if let Some(a) = &l.review.alert {
                html!(
                    n,
                    "<p><strong>{} mm {} the plan.</strong> Your team has been told.</p>",
                    num(a.drift_mm.abs(), 2),
                    a.direction.as_str()
                );
            }
            html!(n, "</section>");
            check_in_with(&state, &web, &pid, n, false).await
        }
        Err(p) if p.status == 422 => {
            let field = p.field.clone().unwrap_or_default();
            check_in_with(&state, &web, &pid, error_notice(&field, &p.detail), true).await
        }
        Err(p) => page_error(&web, p),
    }
}

// ---------------------------------------------------------------------------
// The care team's worklist
// ---------------------------------------------------------------------------

#[derive(Deserialize)]
pub struct AlertsQuery {
    acknowledged: Option<String>,
    closed: Option<String>,
}

fn kind_words(kind: &AlertKind) -> String {
    match kind {
        AlertKind::CheckInRule { rule_id } => format!("check-in: {rule_id}"),
        AlertKind::LoadingDeviation { deviation } => format!("loading log: {}", deviation.replace('_', " ")),
        AlertKind::DistractionDrift { direction } => format!("distraction {direction} plan"),
    }
}

async fn alerts_page(
    State(state): State<Arc<AppState>>,
    addr: RemoteAddr,
    headers: HeaderMap,
    Query(q): Query<AlertsQuery>,
) -> Response {
    let web = match session(&state, &headers, &addr, "alert").await {
        Ok(w) => w,
        Err(r) => return r,
    };
    let list = match visits::worklist(&ctx(&state, &web)).await {
        Ok(l) => l,
        Err(p) => return page_error(&web, p),
    };
    let mut m = markup!("<h1>Alerts</h1>");
    if q.acknowledged.is_some() {
        html!(m, "<p class=\"notice\" role=\"status\">Alert acknowledged.</p>");
    }
    if q.closed.is_some() {
        html!(m, "<p class=\"notice\" role=\"status\">Alert closed.</p>");
    }
    html!(
        m,
        "<p class=\"muted\">Open alerts, most urgent first; escalation as of {} under escalation policy {} ({}).</p>",
        instant(list.now_ms),
        list.policy.value.version,
        match list.policy.source {
            visits::SettingSource::Programme => "set by the programme".to_owned(),
            _ => format!("LimbPath's demo default — {}", list.policy.label),
        }
    );
    if list.items.is_empty() {
        html!(m, "<p class=\"card\">No open alerts.</p>");
        return page(Some(&web), "Alerts", m);
    }
    html!(
        m,
        "<div class=\"table-wrap card\"><table class=\"list alerts\"><thead><tr><th scope=\"col\">Patient</th><th scope=\"col\">Level</th><th scope=\"col\">What</th><th scope=\"col\">Times</th><th scope=\"col\">Seen</th><th scope=\"col\">Escalation</th><th scope=\"col\">Acknowledgement</th></tr></thead><tbody>"
    );
    for v in &list.items {
        let a = &v.alert;
        html!(
            m,
            "<tr id=\"{}\" class=\"{}\"><td><a href=\"{}\">{}</a><br><span class=\"muted\">MRN {}</span></td><td><span class=\"badge {}\">{}</span></td><td>{}<br><span class=\"muted\">{}</span></td><td>{}</td><td>first {}<br>last {}</td><td>",
            format!("alert-{}", a.id),
            level_class(a.level),
            format!("/patients/{}", a.patient_id),
            v.patient_name.clone().unwrap_or_default(),
            v.patient_mrn.clone().unwrap_or_default(),
            level_class(a.level),
            v.level_label,
            a.latest_summary,
            kind_words(&a.kind),
            a.count,
            instant(a.first_seen_ms),
            instant(a.last_seen_ms)
        );
        let e = &v.escalation;
        match e.status {
            EscalationStatus::Escalated => {
                html!(m, "<strong class=\"escalated\">Escalated</strong>");
                for s in &e.steps_reached {
                    html!(m, "<br>{} at {}", s.notify, instant(s.due_at_ms));
                }
            }
            EscalationStatus::AwaitingAcknowledgement => html!(m, "Awaiting acknowledgement"),
            EscalationStatus::Acknowledged => html!(m, "Stopped (acknowledged)"),
        }
        if let Some(n) = &e.next_step {
            html!(m, "<br><span class=\"muted\">next: {} at {}</span>", n.notify, instant(n.due_at_ms));
        }
        html!(m, "</td><td>");
        match a.acknowledged_at_ms {
            Some(at) => {
                html!(m, "Acknowledged {}", instant(at));
                if a.repeats_since_acknowledgement > 0 {
                    html!(m, "<br><strong>{} repeat(s) since</strong>", a.repeats_since_acknowledgement);
                }
                if matches!(web.role(), Role::Clinician | Role::Admin) {
                    let note_id = format!("close-note-{}", a.id);
                    html!(
                        m,
                        "<form method=\"post\" action=\"{}\" class=\"close-alert\">{}<label for=\"{}\">Resolution note</label><textarea id=\"{}\" name=\"note\" rows=\"2\" required maxlength=\"2000\"></textarea><button type=\"submit\">Close alert</button></form>",
                        format!("/alerts/{}/close", a.id),
                        csrf_field(&web.csrf),
                        note_id.clone(),
                        note_id
                    );
                }
            }
            None => html!(
                m,
                "<form method=\"post\" action=\"{}\">{}<button type=\"submit\" class=\"primary\">Acknowledge</button></form>",
                format!("/alerts/{}/acknowledge", a.id),
                csrf_field(&web.csrf)
            ),
        }
        html!(m, "</td></tr>");
    }
    html!(m, "</tbody></table></div>");
    page(Some(&web), "Alerts", m)
}

async fn acknowledge(
    State(state): State<Arc<AppState>>,
    addr: RemoteAddr,
    headers: HeaderMap,
    Path(id): Path<String>,
    raw: Bytes,
) -> Response {
    let web = match session(&state, &headers, &addr, "alert").await {
        Ok(w) => w,
        Err(r) => return r,
    };
    let form = FormData::parse(&raw);
    if let Err(r) = check_csrf(&state, &web, &form).await {
        return r;
    }
    match visits::acknowledge(&ctx(&state, &web), &id).await {
        Ok(_) => redirect("/alerts?acknowledged=1"),
        Err(p) => page_error(&web, p),
    }
}

async fn close_alert(
    State(state): State<Arc<AppState>>,
    addr: RemoteAddr,
    headers: HeaderMap,
    Path(id): Path<String>,
    raw: Bytes,
) -> Response {
    let web = match session(&state, &headers, &addr, "alert").await {
        Ok(w) => w,
        Err(r) => return r,
    };
    let form = FormData::parse(&raw);
    if let Err(r) = check_csrf(&state, &web, &form).await {
        return r;
    }
    let req = visits::CloseAlert { note: form.get("note").unwrap_or_default().to_owned() };
    match visits::close(&ctx(&state, &web), &id, &req).await {
        Ok(_) => redirect("/alerts?closed=1"),
        Err(p) => page_error(&web, p),
    }
}

// ---------------------------------------------------------------------------
// The programme's written instructions (care team)
// ---------------------------------------------------------------------------

fn instructions_form(web: &Web, current: &[limbpath_store::StoredInstructions], saved: Option<&str>) -> Markup {
    let mut m = markup!(
        "<h1>Instructions for patients</h1><p class=\"muted\">What patients read on their check-in page, per protocol: wound care, hygiene, activity limits. Blank lines separate paragraphs.</p>"
    );
    if let Some(p) = saved {
        html!(m, "<p class=\"notice\" role=\"status\">Saved the instructions for {}.</p>", instruction_title(p));
    }
    for protocol in limbpath_store::INSTRUCTION_PROTOCOLS {
        let text = current.iter().find(|i| i.protocol == protocol).map_or("", |i| i.text.as_str());
        html!(
            m,
            "<form method=\"post\" action=\"/programme/instructions\" class=\"card\">{}<input type=\"hidden\" name=\"protocol\" value=\"{}\"><div class=\"field\"><label for=\"{}\">{}</label><textarea id=\"{}\" name=\"text\" rows=\"6\">{}</textarea></div><div class=\"actions\"><button type=\"submit\" class=\"primary\">Save</button></div></form>",
            csrf_field(&web.csrf),
            protocol,
            format!("ins-{protocol}"),
            instruction_title(protocol),
            format!("ins-{protocol}"),
            text
        );
    }
    m
}

#[derive(Deserialize)]
pub struct SavedInstructions {
    saved: Option<String>,
}

async fn instructions_page(
    State(state): State<Arc<AppState>>,
    addr: RemoteAddr,
    headers: HeaderMap,
    Query(q): Query<SavedInstructions>,
) -> Response {
    let web = match session(&state, &headers, &addr, "programme_instructions").await {
        Ok(w) => w,
        Err(r) => return r,
    };
    if !crate::access::allowed(web.role(), Family::Programme, Action::Write) {
        return page_error(
            &web,
            crate::problem::Problem::forbidden("the programme's instructions are written by the care team"),
        );
    }
    let current = match visits::instructions(&ctx(&state, &web)).await {
        Ok(c) => c,
        Err(p) => return page_error(&web, p),
    };
    let saved = q.saved.as_deref().filter(|p| limbpath_store::INSTRUCTION_PROTOCOLS.contains(p));
    page(Some(&web), "Instructions for patients", instructions_form(&web, &current, saved))
}

async fn instructions_save(
    State(state): State<Arc<AppState>>,
    addr: RemoteAddr,
    headers: HeaderMap,
    raw: Bytes,
) -> Response {
    let web = match session(&state, &headers, &addr, "programme_instructions").await {
        Ok(w) => w,
        Err(r) => return r,
    };
    let form = FormData::parse(&raw);
    if let Err(r) = check_csrf(&state, &web, &form).await {
        return r;
    }
    let protocol = form.text("protocol").to_owned();
    match visits::put_instructions(&ctx(&state, &web), &protocol, form.text("text")).await {
        Ok(_) => redirect(&format!("/programme/instructions?saved={protocol}")),
        Err(p) => page_error(&web, p),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use limbpath_protocols::triage::Bleeding;

    #[test]
    fn instants_are_shown_in_utc_to_the_minute() {
        assert_eq!(instant(0), "1970-01-01 00:00 UTC");
        assert_eq!(instant(86_400_000 + 13 * 3_600_000 + 7 * 60_000 + 59_999), "1970-01-02 13:07 UTC");
    }

    #[test]
    fn the_form_reads_answers_and_leaves_the_unanswered_out() {
        let f = FormData::parse(b"temperature_c=39%2C0&chills=yes&pain_nrs=4&bleeding=profuse&reduced_mobility=no");
        let c = parse_check_in(&f).unwrap();
        assert_eq!(c.temperature_c, Some(39.0));
        assert_eq!(c.chills, Some(true));
        assert_eq!(c.pain_nrs, Some(4));
        assert_eq!(c.bleeding, Some(Bleeding::Profuse));
        assert_eq!(c.reduced_mobility, Some(false));
        assert_eq!(c.fall_or_trauma, None);
        assert_eq!(c.free_text, None);
        let e = parse_check_in(&FormData::parse(b"temperature_c=hot")).unwrap_err();
        assert_eq!(e[0].field, "temperature_c");
    }
}
