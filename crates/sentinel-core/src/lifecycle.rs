//! The work-order (工单) lifecycle, as run by Chinese 12345 city platforms.
//!
//! [`decide`] is the whole policy: given the report's current state, who is acting
//! and what they ask for, it answers the new state or a typed refusal. It is pure,
//! so the table in `docs/ARCHITECTURE.md` is tested exhaustively against it, and
//! replaying a report's event log through it must give its current state.

use crate::report::string_enum;
use serde::{Deserialize, Serialize};
use std::fmt;
use time::{Duration, OffsetDateTime};

string_enum! {
    /// Where a report is in its life.
    Status {
        /// Received, not yet triaged.
        Submitted = "submitted",
        /// Triaged and taken on (受理).
        Accepted = "accepted",
        /// Refused with a reason (terminal).
        Rejected = "rejected",
        /// Folded into another report (并单, terminal).
        Merged = "merged",
        /// Sent to a lead department (派单).
        Assigned = "assigned",
        /// Being worked (办理).
        InProgress = "in_progress",
        /// Sent back by the department as misrouted (退单), awaiting 改派.
        Returned = "returned",
        /// Reported fixed (办结).
        Resolved = "resolved",
        /// Fix confirmed by an inspector (核查).
        Verified = "verified",
        /// Done.
        Closed = "closed",
        /// Fix disputed; awaiting reassignment.
        Reopened = "reopened",
    }
}

impl Status {
    /// Whether work is still owed on the report (escalation and deadlines apply).
    pub fn is_open(&self) -> bool {
        !matches!(self, Status::Rejected | Status::Merged | Status::Closed)
    }
}

string_enum! {
    /// A staff role. Officers are scoped to one department, units to themselves.
    Role {
        /// Configures everything; may do any staff action.
        Admin = "admin",
        /// Command centre: triage, routing, dispatch, verification.
        Dispatcher = "dispatcher",
        /// Department officer: works their department's orders.
        Officer = "officer",
        /// Field unit: works orders assigned to it.
        Unit = "unit",
        /// Read-only analysis.
        Analyst = "analyst",
    }
}

string_enum! {
    /// The name of an action, without its details.
    ActionKind {
        /// 受理.
        Accept = "accept",
        /// Refuse, with a reason.
        Reject = "reject",
        /// 并单 into another report.
        Merge = "merge",
        /// 派单 / 改派 to a lead department.
        Assign = "assign",
        /// Start work (办理).
        Start = "start",
        /// 退单: send back as misrouted, with a reason.
        Return = "return",
        /// 办结, with a note.
        Resolve = "resolve",
        /// 核查: an inspector confirms the fix.
        Verify = "verify",
        /// Close a resolved (or verified) report.
        Close = "close",
        /// Dispute the fix, with a reason.
        Reopen = "reopen",
        /// 督办: supervision; an event, not a state.
        Escalate = "escalate",
        /// Change priority; an event, not a state.
        SetPriority = "set_priority",
        /// A note on the timeline.
        Comment = "comment",
        /// The reporter's rating of the handling (满意度), 1 to 5, after resolution;
        /// a dispatcher may record one taken by phone (回访). An event, not a state.
        Rate = "rate",
    }
}

/// An action with its details, as asked for.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// 受理.
    Accept,
    /// Refuse.
    Reject {
        /// Why (required).
        reason: String,
    },
    /// 并单.
    Merge {
        /// The surviving report.
        into: crate::ReportId,
    },
    /// 派单 / 改派.
    Assign {
        /// Lead department (主办).
        department: String,
        /// Co-handling departments (协办).
        co_departments: Vec<String>,
        /// A user or unit to work it, if known.
        assignee: Option<String>,
        /// Why, for a reassignment.
        reason: Option<String>,
    },
    /// Start work.
    Start,
    /// 退单.
    Return {
        /// Why (required).
        reason: String,
    },
    /// 办结.
    Resolve {
        /// What was done (required).
        note: String,
    },
    /// 核查.
    Verify,
    /// Close.
    Close,
    /// Dispute the fix.
    Reopen {
        /// Why (required).
        reason: String,
    },
    /// 督办.
    Escalate {
        /// What is demanded.
        note: Option<String>,
    },
    /// New priority.
    SetPriority {
        /// The priority.
        priority: crate::Priority,
    },
    /// A note.
    Comment {
        /// The text (required).
        note: String,
    },
    /// Rate the handling.
    Rate {
        /// 1 (very dissatisfied) to 5 (very satisfied).
        score: u8,
        /// What the reporter said, if anything.
        comment: Option<String>,
    },
}

impl Action {
    /// The action's name.
    pub fn kind(&self) -> ActionKind {
        match self {
            Action::Accept => ActionKind::Accept,
            Action::Reject { .. } => ActionKind::Reject,
            Action::Merge { .. } => ActionKind::Merge,
            Action::Assign { .. } => ActionKind::Assign,
            Action::Start => ActionKind::Start,
            Action::Return { .. } => ActionKind::Return,
            Action::Resolve { .. } => ActionKind::Resolve,
            Action::Verify => ActionKind::Verify,
            Action::Close => ActionKind::Close,
            Action::Reopen { .. } => ActionKind::Reopen,
            Action::Escalate { .. } => ActionKind::Escalate,
            Action::SetPriority { .. } => ActionKind::SetPriority,
            Action::Comment { .. } => ActionKind::Comment,
            Action::Rate { .. } => ActionKind::Rate,
        }
    }

    /// The free text the actor gave, if any.
    pub fn note(&self) -> Option<&str> {
        match self {
            Action::Reject { reason } | Action::Return { reason } | Action::Reopen { reason } => {
                Some(reason)
            }
            Action::Resolve { note } | Action::Comment { note } => Some(note),
            Action::Assign { reason, .. } => reason.as_deref(),
            Action::Escalate { note } | Action::Rate { comment: note, .. } => note.as_deref(),
            _ => None,
        }
    }
}

/// Who is acting.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Actor {
    /// A signed-in staff user.
    Staff {
        /// User name.
        user: String,
        /// Their role.
        role: Role,
        /// Their department, for officers.
        department: Option<String>,
    },
    /// The person who filed the report (proved by the caller).
    Reporter,
    /// An Open311 client passing on what the reporter said through it: it may do
    /// what the reporter may, on reports it filed itself (the caller checks that);
    /// the timeline names it (`open311:NAME`).
    Client {
        /// `open311:` and the client's name.
        name: String,
    },
    /// Sentinel itself (deadlines, automation).
    System,
}

impl Actor {
    /// The name written to the event log.
    pub fn name(&self) -> &str {
        match self {
            Actor::Staff { user, .. } => user,
            Actor::Client { name } => name,
            Actor::Reporter => "reporter",
            Actor::System => "system",
        }
    }

    /// The role written to the event log.
    pub fn role_name(&self) -> &'static str {
        match self {
            Actor::Staff { role, .. } => role.as_str(),
            Actor::Reporter => "reporter",
            Actor::Client { .. } => "open311",
            Actor::System => "system",
        }
    }

    /// The reporter, in person or through the client they filed with.
    pub fn is_reporter(&self) -> bool {
        matches!(self, Actor::Reporter | Actor::Client { .. })
    }
}

/// What [`decide`] needs to know about the report.
#[derive(Debug, Clone, PartialEq)]
pub struct ReportState<'a> {
    /// Current status.
    pub status: Status,
    /// Lead department.
    pub department: Option<&'a str>,
    /// Co-handling departments.
    pub co_departments: &'a [String],
    /// Assigned user or unit.
    pub assignee: Option<&'a str>,
    /// Whether the category requires 核查 before closing.
    pub requires_verification: bool,
    /// When it was last closed.
    pub closed_at: Option<OffsetDateTime>,
}

/// Settings the lifecycle depends on.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LifecyclePolicy {
    /// How long after closing the reporter may still reopen.
    pub reopen_window: Duration,
}

impl Default for LifecyclePolicy {
    fn default() -> Self {
        LifecyclePolicy {
            reopen_window: Duration::days(30),
        }
    }
}

/// Why an action was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum LifecycleError {
    /// The action does not apply in this state (HTTP 409).
    #[error("a report that is {from} cannot be given the action {action}")]
    IllegalTransition {
        /// Current state.
        from: Status,
        /// What was asked.
        action: ActionKind,
    },
    /// This kind of actor may never do this (HTTP 403).
    #[error("the {role} role may not {action} reports")]
    RoleNotAllowed {
        /// Actor's role.
        role: String,
        /// What was asked.
        action: ActionKind,
    },
    /// The role may, but not on this report: another department's or unit's (HTTP 403).
    #[error("this report belongs to another department or unit")]
    OutOfScope,
    /// A reason or note must be given (HTTP 422).
    #[error("{action} needs a reason or note")]
    ReasonRequired {
        /// What was asked.
        action: ActionKind,
    },
    /// The category requires 核查 before closing (HTTP 409).
    #[error("this category requires an inspector check (verify) before closing")]
    VerificationRequired,
    /// The category has no 核查 step (HTTP 409).
    #[error("this category does not use an inspector check; close it instead")]
    VerificationNotUsed,
    /// The reopen window has passed (HTTP 409).
    #[error("the report was closed too long ago to be reopened")]
    ReopenWindowPassed,
    /// A rating outside 1 to 5 (HTTP 422).
    #[error("a rating is a whole number from 1 to 5")]
    InvalidRating,
}

/// Roles that may, in principle, do each action. Scope is checked separately.
fn role_may(role: Role, action: ActionKind) -> bool {
    use ActionKind as A;
    match role {
        Role::Admin => true,
        Role::Dispatcher => !matches!(action, A::Start | A::Return | A::Resolve),
        Role::Officer => matches!(action, A::Start | A::Return | A::Resolve | A::Comment),
        Role::Unit => matches!(action, A::Start | A::Resolve | A::Comment),
        Role::Analyst => false,
    }
}

fn in_scope(actor: &Actor, report: &ReportState<'_>, action: ActionKind) -> bool {
    match actor {
        Actor::Staff {
            role: Role::Officer,
            department,
            ..
        } => {
            let Some(mine) = department.as_deref() else {
                return false;
            };
            let lead = report.department == Some(mine);
            // Co-handling departments (协办) may comment; only the lead moves the order.
            lead || (action == ActionKind::Comment
                && report.co_departments.iter().any(|d| d == mine))
        }
        Actor::Staff {
            role: Role::Unit,
            user,
            ..
        } => report.assignee == Some(user.as_str()),
        _ => true,
    }
}

fn require_text(text: &str, action: ActionKind) -> Result<(), LifecycleError> {
    if text.trim().is_empty() {
        Err(LifecycleError::ReasonRequired { action })
    } else {
        Ok(())
    }
}

/// Decide the outcome of `action` by `actor` on `report` at `now`: the new status
/// (unchanged for event-only actions) or why not.
pub fn decide(
    report: &ReportState<'_>,
    actor: &Actor,
    action: &Action,
    now: OffsetDateTime,
    policy: &LifecyclePolicy,
) -> Result<Status, LifecycleError> {
    use ActionKind as A;
    use Status as S;
    let kind = action.kind();
    let from = report.status;
    let illegal = Err(LifecycleError::IllegalTransition { from, action: kind });

    // Who may act at all.
    match actor {
        Actor::Staff { role, .. } => {
            if !role_may(*role, kind) {
                return Err(LifecycleError::RoleNotAllowed {
                    role: role.to_string(),
                    action: kind,
                });
            }
        }
        Actor::Reporter | Actor::Client { .. } => {
            if !matches!(kind, A::Close | A::Reopen | A::Rate) {
                return Err(LifecycleError::RoleNotAllowed {
                    role: actor.role_name().into(),
                    action: kind,
                });
            }
        }
        Actor::System => {}
    }

    // What the state allows.
    let to = match (from, action) {
        (S::Submitted, Action::Accept) => S::Accepted,
        (S::Submitted, Action::Reject { reason }) => {
            require_text(reason, kind)?;
            S::Rejected
        }
        (S::Submitted, Action::Merge { .. }) => S::Merged,
        (S::Accepted | S::Returned | S::Reopened, Action::Assign { department, .. }) => {
            require_text(department, kind)?;
            S::Assigned
        }
        (S::Assigned, Action::Start) => S::InProgress,
        (S::Assigned, Action::Return { reason }) => {
            require_text(reason, kind)?;
            S::Returned
        }
        (S::InProgress, Action::Resolve { note }) => {
            require_text(note, kind)?;
            S::Resolved
        }
        (S::Resolved, Action::Verify) => {
            if !report.requires_verification {
                return Err(LifecycleError::VerificationNotUsed);
            }
            S::Verified
        }
        (S::Resolved, Action::Close) => {
            if report.requires_verification {
                return Err(LifecycleError::VerificationRequired);
            }
            S::Closed
        }
        (S::Verified, Action::Close) => S::Closed,
        (S::Resolved | S::Verified, Action::Reopen { reason }) => {
            require_text(reason, kind)?;
            S::Reopened
        }
        (S::Closed, Action::Reopen { reason }) => {
            // After closing, only the reporter may dispute, and only for a while.
            if !actor.is_reporter() {
                return illegal;
            }
            require_text(reason, kind)?;
            let closed_at = report.closed_at.unwrap_or(now);
            if now - closed_at > policy.reopen_window {
                return Err(LifecycleError::ReopenWindowPassed);
            }
            S::Reopened
        }
        (s, Action::Escalate { .. } | Action::SetPriority { .. }) if s.is_open() => s,
        (s, Action::Comment { note }) => {
            require_text(note, kind)?;
            s
        }
        (s @ (S::Resolved | S::Verified | S::Closed), Action::Rate { score, .. }) => {
            if !(1..=5).contains(score) {
                return Err(LifecycleError::InvalidRating);
            }
            s
        }
        _ => return illegal,
    };

    if !in_scope(actor, report, kind) {
        return Err(LifecycleError::OutOfScope);
    }
    Ok(to)
}

/// The actions `actor` may take on `report` now, in the table's order: what a
/// screen offers, so that it never shows a button the server would refuse. Each
/// kind is tried through [`decide`] with a placeholder for its details (a reason,
/// the current department, a score), so this can never drift from the table.
pub fn allowed_actions(
    report: &ReportState<'_>,
    actor: &Actor,
    now: OffsetDateTime,
    policy: &LifecyclePolicy,
) -> Vec<ActionKind> {
    let text = || "-".to_string();
    ActionKind::ALL
        .iter()
        .copied()
        .filter(|kind| {
            let action = match kind {
                ActionKind::Accept => Action::Accept,
                ActionKind::Reject => Action::Reject { reason: text() },
                ActionKind::Merge => Action::Merge {
                    into: crate::ReportId(0),
                },
                ActionKind::Assign => Action::Assign {
                    department: report.department.map_or_else(text, str::to_string),
                    co_departments: vec![],
                    assignee: None,
                    reason: Some(text()),
                },
                ActionKind::Start => Action::Start,
                ActionKind::Return => Action::Return { reason: text() },
                ActionKind::Resolve => Action::Resolve { note: text() },
                ActionKind::Verify => Action::Verify,
                ActionKind::Close => Action::Close,
                ActionKind::Reopen => Action::Reopen { reason: text() },
                ActionKind::Escalate => Action::Escalate { note: None },
                ActionKind::SetPriority => Action::SetPriority {
                    priority: crate::Priority::Normal,
                },
                ActionKind::Comment => Action::Comment { note: text() },
                ActionKind::Rate => Action::Rate {
                    score: 5,
                    comment: None,
                },
            };
            decide(report, actor, &action, now, policy).is_ok()
        })
        .collect()
}

/// Replays a timeline of (from, to) pairs from `submitted`, checking that each
/// step starts where the previous one ended. Returns the final state.
pub fn replay<I>(steps: I) -> Result<Status, (usize, Status, Status)>
where
    I: IntoIterator<Item = (Option<Status>, Option<Status>)>,
{
    let mut state = Status::Submitted;
    for (i, (from, to)) in steps.into_iter().enumerate() {
        if let Some(from) = from
            && from != state
        {
            return Err((i, state, from));
        }
        if let Some(to) = to {
            state = to;
        }
    }
    Ok(state)
}

impl fmt::Display for Actor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl ActionKind {
    /// Whether this action needs free text to go with it.
    pub fn needs_text(&self) -> bool {
        matches!(
            self,
            ActionKind::Reject
                | ActionKind::Return
                | ActionKind::Resolve
                | ActionKind::Reopen
                | ActionKind::Comment
        )
    }
}

#[cfg(test)]
mod tests;
