//! Field units and dispatch (调度): what state a unit is in, how a dispatch moves
//! from assignment to clearing, who may move it, and how candidates are ranked.
//!
//! Pure: positions, times and unit states come in as parameters. Every step of a
//! dispatch is recorded with its time by the store, so response times (assign →
//! on scene) can be measured later.

use crate::lifecycle::Role;
use crate::report::string_enum;
use sentinel_geo::Point;
use serde::{Deserialize, Serialize};
use std::fmt;
use time::{Duration, OffsetDateTime};

string_enum! {
    /// What a unit is doing, as the command centre sees it.
    UnitStatus {
        /// On duty and free to take a dispatch.
        Available = "available",
        /// Given a dispatch, not yet moving.
        Dispatched = "dispatched",
        /// On its way.
        EnRoute = "en_route",
        /// At the scene.
        OnScene = "on_scene",
        /// Not on duty; never dispatched.
        OffDuty = "off_duty",
    }
}

impl UnitStatus {
    /// Working on a dispatch.
    pub fn is_engaged(&self) -> bool {
        matches!(
            self,
            UnitStatus::Dispatched | UnitStatus::EnRoute | UnitStatus::OnScene
        )
    }
}

string_enum! {
    /// A step in a dispatch's life; the latest step is its state.
    DispatchStep {
        /// The command centre gave the report to the unit.
        Assigned = "assigned",
        /// The unit saw it and took it.
        Acknowledged = "acknowledged",
        /// Moving to the scene.
        EnRoute = "en_route",
        /// At the scene.
        OnScene = "on_scene",
        /// Done; the unit is free again.
        Cleared = "cleared",
        /// Called off by the command centre before the unit cleared.
        Cancelled = "cancelled",
    }
}

impl DispatchStep {
    /// The dispatch is over.
    pub fn is_final(&self) -> bool {
        matches!(self, DispatchStep::Cleared | DispatchStep::Cancelled)
    }

    /// The unit's status while its dispatch is at this step.
    pub fn unit_status(&self) -> UnitStatus {
        match self {
            DispatchStep::Assigned | DispatchStep::Acknowledged => UnitStatus::Dispatched,
            DispatchStep::EnRoute => UnitStatus::EnRoute,
            DispatchStep::OnScene => UnitStatus::OnScene,
            DispatchStep::Cleared | DispatchStep::Cancelled => UnitStatus::Available,
        }
    }
}

/// A field unit: a patrol car, a team, a station's duty officer.
#[derive(Debug, Clone, PartialEq)]
pub struct Unit {
    /// Stable id.
    pub id: i64,
    /// Radio name, unique (e.g. 交警-017).
    pub callsign: String,
    /// What kind of unit (traffic_police, special_police, office_staff, police_station...).
    pub kind: String,
    /// The id its tracker sends with positions (OsmAnd/Traccar `id`); never public.
    pub tracker_id: Option<String>,
    /// The staff account (role `unit`) that works it.
    pub user: Option<String>,
    /// Its department, if any.
    pub department: Option<String>,
    /// What it is doing.
    pub status: UnitStatus,
    /// Last known position.
    pub position: Option<Fix>,
    /// The dispatch it is working, if any.
    pub dispatch: Option<i64>,
    /// Last change of any kind.
    pub updated_at: OffsetDateTime,
}

/// One position report from a unit's tracker.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Fix {
    /// Where.
    pub point: Point,
    /// When the device measured it.
    pub at: OffsetDateTime,
    /// Horizontal accuracy in metres.
    pub accuracy_m: Option<f64>,
    /// Speed in metres per second.
    pub speed_mps: Option<f64>,
    /// Heading in degrees from north.
    pub bearing: Option<f64>,
}

/// A unit to create.
#[derive(Debug, Clone, PartialEq)]
pub struct NewUnit {
    /// Radio name.
    pub callsign: String,
    /// Kind.
    pub kind: String,
    /// Tracker id.
    pub tracker_id: Option<String>,
    /// Staff account working it.
    pub user: Option<String>,
    /// Department.
    pub department: Option<String>,
    /// Starting status (available or off duty).
    pub status: UnitStatus,
    /// Starting position (its station).
    pub position: Option<Fix>,
}

/// A unit sent to a report, with every step it went through.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Dispatch {
    /// Id.
    pub id: i64,
    /// The report's tracking code.
    pub report: String,
    /// The unit's id.
    pub unit: i64,
    /// The unit's callsign.
    pub callsign: String,
    /// Current step.
    pub step: DispatchStep,
    /// Distance when assigned, metres.
    pub distance_m: Option<f64>,
    /// Estimated travel time when assigned, seconds.
    pub eta_s: Option<f64>,
    /// Every step with its time and who recorded it.
    pub steps: Vec<StepRecord>,
}

/// One recorded step.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StepRecord {
    /// Which.
    pub step: DispatchStep,
    /// When.
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    /// Who recorded it.
    pub by: String,
}

/// Why a dispatch request is refused. Each says what is wrong in words a
/// dispatcher can act on.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum DispatchError {
    /// The unit is off duty.
    #[error("unit {callsign} is off duty")]
    OffDuty {
        /// The unit.
        callsign: String,
    },
    /// The unit is working another dispatch.
    #[error("unit {callsign} is already engaged ({status}) on report {report}")]
    Engaged {
        /// The unit.
        callsign: String,
        /// Its status.
        status: UnitStatus,
        /// The report it is working.
        report: String,
    },
    /// The step cannot follow the dispatch's current step.
    #[error("a dispatch that is {from} cannot become {to}")]
    BadStep {
        /// Current step.
        from: DispatchStep,
        /// Asked for.
        to: DispatchStep,
    },
    /// The role may not take this step (or not on this unit's dispatch).
    #[error("{0}")]
    NotAllowed(String),
    /// A unit cannot change its own duty status while engaged.
    #[error("unit {callsign} is {status}; clear the dispatch first")]
    Busy {
        /// The unit.
        callsign: String,
        /// Its status.
        status: UnitStatus,
    },
}

/// Checks that a unit in `status` may be given a new dispatch. `engaged_on` names
/// the report it is working, for the message.
pub fn check_assignable(
    callsign: &str,
    status: UnitStatus,
    engaged_on: Option<&str>,
) -> Result<(), DispatchError> {
    match status {
        UnitStatus::Available => Ok(()),
        UnitStatus::OffDuty => Err(DispatchError::OffDuty {
            callsign: callsign.into(),
        }),
        s => Err(DispatchError::Engaged {
            callsign: callsign.into(),
            status: s,
            report: engaged_on.unwrap_or("?").into(),
        }),
    }
}

/// Checks that `to` may follow `from`, taken by `role` (`own` is true when the
/// acting unit is the dispatched one). Dispatchers may record any forward step on a
/// unit's behalf (a radio call); units move only their own dispatches forward and
/// cannot cancel.
pub fn check_step(
    from: DispatchStep,
    to: DispatchStep,
    role: Role,
    own: bool,
) -> Result<(), DispatchError> {
    use DispatchStep as S;
    // Who may act comes first: a caller who may not move this dispatch learns
    // nothing of its state.
    match role {
        Role::Admin | Role::Dispatcher => {}
        Role::Unit if own && to != S::Cancelled => {}
        Role::Unit if own => {
            return Err(DispatchError::NotAllowed(
                "only the command centre may cancel a dispatch".into(),
            ));
        }
        Role::Unit => {
            return Err(DispatchError::NotAllowed(
                "a unit may only move its own dispatches".into(),
            ));
        }
        r => {
            return Err(DispatchError::NotAllowed(format!(
                "the {r} role may not move dispatches"
            )));
        }
    }
    let allowed = matches!(
        (from, to),
        (
            S::Assigned,
            S::Acknowledged | S::EnRoute | S::OnScene | S::Cancelled
        ) | (S::Acknowledged, S::EnRoute | S::OnScene | S::Cancelled)
            | (S::EnRoute, S::OnScene | S::Cancelled)
            | (S::OnScene, S::Cleared)
    );
    if allowed {
        Ok(())
    } else {
        Err(DispatchError::BadStep { from, to })
    }
}

/// Checks a unit's own duty change (on duty ↔ off duty).
pub fn check_duty_change(
    callsign: &str,
    status: UnitStatus,
    to: UnitStatus,
) -> Result<(), DispatchError> {
    if !matches!(to, UnitStatus::Available | UnitStatus::OffDuty) {
        return Err(DispatchError::NotAllowed(format!(
            "a unit's status becomes {to} through its dispatch, not directly"
        )));
    }
    if status.is_engaged() {
        return Err(DispatchError::Busy {
            callsign: callsign.into(),
            status,
        });
    }
    Ok(())
}

/// How long a unit would take to reach a place. Straight-line distance at a set
/// speed today; a road-network model can replace it without touching callers.
pub trait EtaModel: Send + Sync {
    /// Travel time from `from` to `to` for a unit of `kind`, if reachable.
    fn eta(&self, from: &Point, to: &Point, kind: &str) -> Option<Duration>;
}

/// Straight-line distance times a detour factor, at a constant speed.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StraightLine {
    /// Average speed in km/h.
    pub speed_kmh: f64,
    /// Road distance over straight distance (1.3 is typical in a city grid).
    pub detour: f64,
}

impl Default for StraightLine {
    fn default() -> Self {
        StraightLine {
            speed_kmh: 30.0,
            detour: 1.3,
        }
    }
}

impl EtaModel for StraightLine {
    fn eta(&self, from: &Point, to: &Point, _kind: &str) -> Option<Duration> {
        if self.speed_kmh <= 0.0 {
            return None;
        }
        let metres = from.distance_m(to) * self.detour;
        Some(Duration::seconds_f64(metres / (self.speed_kmh / 3.6)))
    }
}

/// A unit as the ranking sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct Candidate {
    /// Unit id.
    pub id: i64,
    /// Its kind.
    pub kind: String,
    /// Its status.
    pub status: UnitStatus,
    /// Last known position.
    pub position: Point,
    /// When that position was reported.
    pub position_at: OffsetDateTime,
}

/// A recommended unit.
#[derive(Debug, Clone, PartialEq)]
pub struct Ranked {
    /// Unit id.
    pub id: i64,
    /// Straight-line distance in metres.
    pub distance_m: f64,
    /// Estimated travel time.
    pub eta: Duration,
}

/// What a recommendation asks for.
#[derive(Debug, Clone)]
pub struct Want<'a> {
    /// Where the unit must go.
    pub target: Point,
    /// Only units within this many metres.
    pub radius_m: f64,
    /// Only these kinds (empty: any).
    pub kinds: &'a [String],
    /// How many.
    pub limit: usize,
    /// Positions older than this are not trusted for ranking.
    pub fresh_after: OffsetDateTime,
}

/// The best available units for a place, fastest first. Units off duty, engaged,
/// of another kind, too far or with a stale position are left out.
pub fn rank(candidates: &[Candidate], want: &Want<'_>, model: &dyn EtaModel) -> Vec<Ranked> {
    let mut out: Vec<Ranked> = candidates
        .iter()
        .filter(|c| c.status == UnitStatus::Available)
        .filter(|c| want.kinds.is_empty() || want.kinds.contains(&c.kind))
        .filter(|c| c.position_at >= want.fresh_after)
        .filter_map(|c| {
            let distance_m = c.position.distance_m(&want.target);
            if distance_m > want.radius_m {
                return None;
            }
            let eta = model.eta(&c.position, &want.target, &c.kind)?;
            Some(Ranked {
                id: c.id,
                distance_m,
                eta,
            })
        })
        .collect();
    out.sort_by(|a, b| a.eta.cmp(&b.eta).then(a.id.cmp(&b.id)));
    out.truncate(want.limit);
    out
}

/// Checks a position report's time: not more than `skew` ahead of `now` (a clock
/// far in the future would pin a wrong position as "latest" for ever).
pub fn check_position_time(
    at: OffsetDateTime,
    now: OffsetDateTime,
    skew: Duration,
) -> Result<(), String> {
    if at > now + skew {
        return Err(format!(
            "the position's time is {} s in the future; check the device's clock",
            (at - now).whole_seconds()
        ));
    }
    if at < now - Duration::days(7) {
        return Err("the position is more than 7 days old".into());
    }
    Ok(())
}

impl fmt::Display for Ranked {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "unit {} at {:.0} m, {} s",
            self.id,
            self.distance_m,
            self.eta.whole_seconds()
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn steps_move_forward_only() {
        use DispatchStep as S;
        let all = S::ALL;
        let forward = [
            (S::Assigned, S::Acknowledged),
            (S::Assigned, S::EnRoute),
            (S::Assigned, S::OnScene),
            (S::Assigned, S::Cancelled),
            (S::Acknowledged, S::EnRoute),
            (S::Acknowledged, S::OnScene),
            (S::Acknowledged, S::Cancelled),
            (S::EnRoute, S::OnScene),
            (S::EnRoute, S::Cancelled),
            (S::OnScene, S::Cleared),
        ];
        for &from in all {
            for &to in all {
                let ok = check_step(from, to, Role::Dispatcher, false).is_ok();
                assert_eq!(ok, forward.contains(&(from, to)), "{from} -> {to}");
            }
        }
    }

    #[test]
    fn units_move_only_their_own_and_never_cancel() {
        use DispatchStep as S;
        assert!(check_step(S::Assigned, S::Acknowledged, Role::Unit, true).is_ok());
        assert!(matches!(
            check_step(S::Assigned, S::Acknowledged, Role::Unit, false),
            Err(DispatchError::NotAllowed(_))
        ));
        assert!(matches!(
            check_step(S::Assigned, S::Cancelled, Role::Unit, true),
            Err(DispatchError::NotAllowed(_))
        ));
        assert!(check_step(S::Assigned, S::Acknowledged, Role::Officer, false).is_err());
        assert!(check_step(S::Assigned, S::Acknowledged, Role::Analyst, false).is_err());
    }

    #[test]
    fn only_available_units_are_assignable() {
        assert!(check_assignable("A1", UnitStatus::Available, None).is_ok());
        let e = check_assignable("A1", UnitStatus::OffDuty, None).unwrap_err();
        assert_eq!(e.to_string(), "unit A1 is off duty");
        let e = check_assignable("A1", UnitStatus::EnRoute, Some("LC-1")).unwrap_err();
        assert_eq!(
            e.to_string(),
            "unit A1 is already engaged (en_route) on report LC-1"
        );
        assert!(check_duty_change("A1", UnitStatus::OnScene, UnitStatus::OffDuty).is_err());
        assert!(check_duty_change("A1", UnitStatus::Available, UnitStatus::OffDuty).is_ok());
        assert!(check_duty_change("A1", UnitStatus::Available, UnitStatus::EnRoute).is_err());
    }

    #[test]
    fn ranking_prefers_the_fastest_fresh_available_unit_of_a_wanted_kind() {
        let now = datetime!(2026-11-26 12:00 UTC);
        let target = Point::new(36.45, 115.98).unwrap();
        let at = |id, dlat: f64, status, kind: &str, age_s| Candidate {
            id,
            kind: kind.into(),
            status,
            position: Point::new(36.45 + dlat, 115.98).unwrap(),
            position_at: now - Duration::seconds(age_s),
        };
        let candidates = vec![
            at(1, 0.02, UnitStatus::Available, "traffic_police", 10),
            at(2, 0.01, UnitStatus::Available, "traffic_police", 10),
            at(3, 0.001, UnitStatus::OffDuty, "traffic_police", 10),
            at(4, 0.001, UnitStatus::EnRoute, "traffic_police", 10),
            at(5, 0.001, UnitStatus::Available, "traffic_police", 3600),
            at(6, 0.001, UnitStatus::Available, "office_staff", 10),
            at(7, 0.5, UnitStatus::Available, "traffic_police", 10),
        ];
        let kinds = vec!["traffic_police".to_string()];
        let want = Want {
            target,
            radius_m: 10_000.0,
            kinds: &kinds,
            limit: 5,
            fresh_after: now - Duration::seconds(300),
        };
        let got = rank(&candidates, &want, &StraightLine::default());
        let ids: Vec<i64> = got.iter().map(|r| r.id).collect();
        assert_eq!(ids, vec![2, 1]);
        // 1.11 km straight, x1.3 at 30 km/h: about 173 s.
        assert!((got[0].distance_m - 1112.0).abs() < 5.0, "{}", got[0]);
        assert!((got[0].eta.whole_seconds() - 173).abs() <= 2, "{}", got[0]);
    }

    #[test]
    fn future_positions_are_refused() {
        let now = datetime!(2026-11-26 12:00 UTC);
        assert!(check_position_time(now, now, Duration::minutes(5)).is_ok());
        assert!(check_position_time(now + Duration::hours(1), now, Duration::minutes(5)).is_err());
        assert!(check_position_time(now - Duration::days(8), now, Duration::minutes(5)).is_err());
    }
}
