//! Sentinel's domain core: what a report is, how a work order (工单) moves through
//! its life, and who may move it. This crate does no I/O: storage, HTTP and clocks
//! are the callers' business, which keeps every rule here testable in isolation.

pub mod calendar;
pub mod catalog;
pub mod dispatch;
pub mod input;
pub mod lifecycle;
pub mod open311;
pub mod patrol;
pub mod report;
pub mod routing;
pub mod sentinels;
pub mod throttle;
pub mod tracking;

pub use catalog::{Catalog, Category, CategoryGroup, Department};
pub use dispatch::{
    Dispatch, DispatchError, DispatchStep, Fix, NewUnit, StepRecord, Unit, UnitStatus,
};
pub use input::{
    FieldError, NewReport, ParseContext, ReportInput, normalize_phone, phone_variants,
};
pub use lifecycle::{
    Action, ActionKind, Actor, LifecycleError, LifecyclePolicy, ReportState, Role, Status,
    allowed_actions,
};
pub use report::{Channel, Contact, Event, Priority, Report, ReportId, Reporter};
pub use sentinels::{Membership, MembershipStatus, NewSentinel, Sentinel, SentinelGroup};
pub use tracking::TrackingCode;
