//! The lifecycle table, tested exhaustively, and a property test over random
//! action sequences.

use super::*;
use crate::{Priority, ReportId};
use proptest::prelude::*;

fn now() -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(1_800_000_000).unwrap()
}

fn sample_action(kind: ActionKind) -> Action {
    match kind {
        ActionKind::Accept => Action::Accept,
        ActionKind::Reject => Action::Reject {
            reason: "not a hazard".into(),
        },
        ActionKind::Merge => Action::Merge { into: ReportId(1) },
        ActionKind::Assign => Action::Assign {
            department: "fire".into(),
            co_departments: vec![],
            assignee: Some("unit-7".into()),
            reason: None,
        },
        ActionKind::Start => Action::Start,
        ActionKind::Return => Action::Return {
            reason: "not ours".into(),
        },
        ActionKind::Resolve => Action::Resolve {
            note: "cleared".into(),
        },
        ActionKind::Verify => Action::Verify,
        ActionKind::Close => Action::Close,
        ActionKind::Reopen => Action::Reopen {
            reason: "still blocked".into(),
        },
        ActionKind::Escalate => Action::Escalate { note: None },
        ActionKind::SetPriority => Action::SetPriority {
            priority: Priority::High,
        },
        ActionKind::Comment => Action::Comment {
            note: "called the owner".into(),
        },
        ActionKind::Rate => Action::Rate {
            score: 4,
            comment: Some("quick".into()),
        },
    }
}

fn staff(role: Role, department: Option<&str>, user: &str) -> Actor {
    Actor::Staff {
        user: user.into(),
        role,
        department: department.map(Into::into),
    }
}

/// The actors of the table: every role in scope, the reporter and the system.
fn actors() -> Vec<(&'static str, Actor)> {
    vec![
        ("admin", staff(Role::Admin, None, "ada")),
        ("dispatcher", staff(Role::Dispatcher, None, "dee")),
        ("officer", staff(Role::Officer, Some("fire"), "ollie")),
        ("unit", staff(Role::Unit, None, "unit-7")),
        ("analyst", staff(Role::Analyst, None, "ana")),
        ("reporter", Actor::Reporter),
        ("system", Actor::System),
    ]
}

/// The table as documented in docs/ARCHITECTURE.md, written independently of
/// `decide`: (from, action) → to, and who may do each action.
fn documented_transition(from: Status, kind: ActionKind, verification: bool) -> Option<Status> {
    use ActionKind as A;
    use Status as S;
    Some(match (from, kind) {
        (S::Submitted, A::Accept) => S::Accepted,
        (S::Submitted, A::Reject) => S::Rejected,
        (S::Submitted, A::Merge) => S::Merged,
        (S::Accepted | S::Returned | S::Reopened, A::Assign) => S::Assigned,
        (S::Assigned, A::Start) => S::InProgress,
        (S::Assigned, A::Return) => S::Returned,
        (S::InProgress, A::Resolve) => S::Resolved,
        (S::Resolved, A::Verify) if verification => S::Verified,
        (S::Resolved, A::Close) if !verification => S::Closed,
        (S::Verified, A::Close) => S::Closed,
        (S::Resolved | S::Verified | S::Closed, A::Reopen) => S::Reopened,
        (s, A::Escalate | A::SetPriority) if s.is_open() => s,
        (s, A::Comment) => s,
        (s @ (S::Resolved | S::Verified | S::Closed), A::Rate) => s,
        _ => return None,
    })
}

fn documented_roles(kind: ActionKind) -> &'static [&'static str] {
    use ActionKind as A;
    match kind {
        A::Accept | A::Reject | A::Merge | A::Assign | A::Verify | A::Escalate | A::SetPriority => {
            &["admin", "dispatcher", "system"]
        }
        A::Start | A::Resolve => &["admin", "officer", "unit", "system"],
        A::Return => &["admin", "officer", "system"],
        A::Close | A::Reopen | A::Rate => &["admin", "dispatcher", "reporter", "system"],
        A::Comment => &["admin", "dispatcher", "officer", "unit", "system"],
    }
}

#[test]
fn every_state_action_and_actor_follows_the_documented_table() {
    let mut checked = 0;
    for verification in [false, true] {
        for from in Status::ALL {
            let co: Vec<String> = vec![];
            let report = ReportState {
                status: *from,
                department: Some("fire"),
                co_departments: &co,
                assignee: Some("unit-7"),
                requires_verification: verification,
                closed_at: Some(now()),
            };
            for kind in ActionKind::ALL {
                for (name, actor) in actors() {
                    let got = decide(
                        &report,
                        &actor,
                        &sample_action(*kind),
                        now(),
                        &LifecyclePolicy::default(),
                    );
                    let allowed_role = documented_roles(*kind).contains(&name);
                    let target = documented_transition(*from, *kind, verification);
                    match (allowed_role, target) {
                        (false, _) => assert!(
                            matches!(got, Err(LifecycleError::RoleNotAllowed { .. })),
                            "{name} {kind} from {from}: {got:?}"
                        ),
                        (true, None) => assert!(
                            matches!(
                                got,
                                Err(LifecycleError::IllegalTransition { .. }
                                    | LifecycleError::VerificationRequired
                                    | LifecycleError::VerificationNotUsed)
                            ),
                            "{name} {kind} from {from}: {got:?}"
                        ),
                        // After closing, only the reporter may reopen.
                        (true, Some(_))
                            if *from == Status::Closed
                                && *kind == ActionKind::Reopen
                                && name != "reporter" =>
                        {
                            assert!(
                                matches!(got, Err(LifecycleError::IllegalTransition { .. })),
                                "{name} reopen closed: {got:?}"
                            )
                        }
                        (true, Some(to)) => assert_eq!(got, Ok(to), "{name} {kind} from {from}"),
                    }
                    checked += 1;
                }
            }
        }
    }
    assert_eq!(checked, 2 * 11 * 14 * 7);
}

/// What a screen offers is the documented table, state by state and actor by actor:
/// after assignment no accept or reject, an analyst nothing, a dispatcher no 办结.
#[test]
fn allowed_actions_offer_exactly_what_the_documented_table_allows() {
    for verification in [false, true] {
        for from in Status::ALL {
            let co: Vec<String> = vec![];
            let report = ReportState {
                status: *from,
                department: Some("fire"),
                co_departments: &co,
                assignee: Some("unit-7"),
                requires_verification: verification,
                closed_at: Some(now()),
            };
            for (name, actor) in actors() {
                let want: Vec<ActionKind> = ActionKind::ALL
                    .iter()
                    .copied()
                    .filter(|kind| {
                        documented_roles(*kind).contains(&name)
                            && documented_transition(*from, *kind, verification).is_some()
                            && !(*from == Status::Closed
                                && *kind == ActionKind::Reopen
                                && name != "reporter")
                    })
                    .collect();
                let got = allowed_actions(&report, &actor, now(), &LifecyclePolicy::default());
                assert_eq!(
                    got, want,
                    "{name} on a {from} report (verification {verification})"
                );
            }
        }
    }
    let co: Vec<String> = vec![];
    let assigned = ReportState {
        status: Status::Assigned,
        department: Some("fire"),
        co_departments: &co,
        assignee: None,
        requires_verification: false,
        closed_at: None,
    };
    let dispatcher = staff(Role::Dispatcher, None, "dee");
    let got = allowed_actions(&assigned, &dispatcher, now(), &LifecyclePolicy::default());
    assert!(!got.contains(&ActionKind::Accept) && !got.contains(&ActionKind::Reject));
    let analyst = staff(Role::Analyst, None, "ana");
    assert!(allowed_actions(&assigned, &analyst, now(), &LifecyclePolicy::default()).is_empty());
    // Another department's officer may do nothing to it.
    let other = staff(Role::Officer, Some("police"), "pat");
    assert!(allowed_actions(&assigned, &other, now(), &LifecyclePolicy::default()).is_empty());
}

#[test]
fn another_departments_officer_and_another_unit_are_out_of_scope() {
    let co = vec!["police".to_string()];
    let report = ReportState {
        status: Status::Assigned,
        department: Some("fire"),
        co_departments: &co,
        assignee: Some("unit-7"),
        requires_verification: false,
        closed_at: None,
    };
    let p = LifecyclePolicy::default();
    let other_officer = staff(Role::Officer, Some("market"), "mo");
    let co_officer = staff(Role::Officer, Some("police"), "po");
    let other_unit = staff(Role::Unit, None, "unit-9");
    let officer_without_department = staff(Role::Officer, None, "nobody");
    for actor in [
        &other_officer,
        &co_officer,
        &other_unit,
        &officer_without_department,
    ] {
        assert_eq!(
            decide(&report, actor, &Action::Start, now(), &p),
            Err(LifecycleError::OutOfScope),
            "{actor}"
        );
    }
    // A co-handling department may comment but not move the order.
    let comment = Action::Comment {
        note: "we will help".into(),
    };
    assert_eq!(
        decide(&report, &co_officer, &comment, now(), &p),
        Ok(Status::Assigned)
    );
    assert_eq!(
        decide(&report, &other_officer, &comment, now(), &p),
        Err(LifecycleError::OutOfScope)
    );
}

#[test]
fn reasons_are_required_where_the_table_says() {
    let report = ReportState {
        status: Status::Submitted,
        department: None,
        co_departments: &[],
        assignee: None,
        requires_verification: false,
        closed_at: None,
    };
    let d = staff(Role::Dispatcher, None, "dee");
    let got = decide(
        &report,
        &d,
        &Action::Reject {
            reason: "  ".into(),
        },
        now(),
        &LifecyclePolicy::default(),
    );
    assert_eq!(
        got,
        Err(LifecycleError::ReasonRequired {
            action: ActionKind::Reject
        })
    );
}

#[test]
fn the_reporter_may_reopen_a_closed_report_only_within_the_window() {
    let policy = LifecyclePolicy {
        reopen_window: Duration::days(7),
    };
    let mut report = ReportState {
        status: Status::Closed,
        department: Some("fire"),
        co_departments: &[],
        assignee: None,
        requires_verification: false,
        closed_at: Some(now() - Duration::days(6)),
    };
    let reopen = Action::Reopen {
        reason: "still blocked".into(),
    };
    assert_eq!(
        decide(&report, &Actor::Reporter, &reopen, now(), &policy),
        Ok(Status::Reopened)
    );
    report.closed_at = Some(now() - Duration::days(8));
    assert_eq!(
        decide(&report, &Actor::Reporter, &reopen, now(), &policy),
        Err(LifecycleError::ReopenWindowPassed)
    );
}

/// A step of a random walk: an actor (by index) attempting an action kind.
fn step() -> impl Strategy<Value = (usize, usize, bool)> {
    (0..7usize, 0..ActionKind::ALL.len(), any::<bool>())
}

proptest! {
    #[test]
    fn random_action_sequences_stay_in_the_table_and_replay_to_the_current_state(
        steps in proptest::collection::vec(step(), 0..60),
        verification in any::<bool>(),
    ) {
        let actors = actors();
        let mut status = Status::Submitted;
        let mut log: Vec<(Option<Status>, Option<Status>)> = vec![(None, Some(Status::Submitted))];
        let policy = LifecyclePolicy::default();
        for (a, k, blank_note) in steps {
            let kind = ActionKind::ALL[k];
            let mut action = sample_action(kind);
            if blank_note && let Action::Comment { note } = &mut action {
                note.clear();
            }
            let co: Vec<String> = vec![];
            let report = ReportState {
                status,
                department: Some("fire"),
                co_departments: &co,
                assignee: Some("unit-7"),
                requires_verification: verification,
                closed_at: Some(now()),
            };
            // Refused actions leave no trace; every accepted move is one the
            // documented table allows.
            if let Ok(to) = decide(&report, &actors[a].1, &action, now(), &policy) {
                prop_assert_eq!(documented_transition(status, kind, verification), Some(to));
                let changed = to != status;
                log.push((changed.then_some(status), changed.then_some(to)));
                status = to;
            }
        }
        prop_assert_eq!(replay(log), Ok(status));
    }
}
