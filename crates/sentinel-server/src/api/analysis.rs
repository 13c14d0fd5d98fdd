//! `/api/v1/analysis/*`: trends with 同比/环比 and their significance, department
//! scores, hotspots, patterns; and streamed exports of any filtered set of reports.

use crate::AppState;
use crate::auth::Staff;
use crate::error::{ApiError, ApiResult};
use crate::extract::ApiQuery;
use axum::Json;
use axum::extract::State;
use sentinel_analysis::{AnalysisError, GroupBy, HotspotQuery, Period, PeriodKind, period};
use sentinel_core::Role;
use serde::Deserialize;
use serde_json::{Value, json};
use std::time::Duration;
use time::{Date, OffsetDateTime};

/// Who may read analysis: every staff role but field units.
pub(crate) const READERS: [Role; 4] = [Role::Admin, Role::Dispatcher, Role::Officer, Role::Analyst];

impl From<AnalysisError> for ApiError {
    fn from(e: AnalysisError) -> Self {
        match e {
            AnalysisError::BadInput(m) => ApiError::BadRequest(m),
        }
    }
}

async fn ready(s: &AppState) -> ApiResult<()> {
    if s.analysis.wait_ready(Duration::from_secs(60)).await {
        Ok(())
    } else {
        Err(ApiError::Unavailable)
    }
}

/// The period asked for, or the last complete one of its kind.
fn period_param(s: &AppState, kind: Option<&str>, at: Option<&str>) -> ApiResult<Period> {
    let kind: PeriodKind = kind.unwrap_or("month").parse()?;
    match at {
        Some(at) => Ok(Period::parse(kind, at)?),
        None => {
            let today = OffsetDateTime::now_utc()
                .to_offset(s.analysis.offset())
                .date();
            Ok(Period::containing(kind, today).previous())
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct TrendParams {
    group_by: Option<String>,
    period: Option<String>,
    at: Option<String>,
    /// For `group_by=jurisdiction`: city, district, town or grid.
    level: Option<String>,
}

/// `GET /api/v1/analysis/trends?group_by=&period=&at=`
pub(crate) async fn trends(
    State(s): State<AppState>,
    staff: Staff,
    ApiQuery(q): ApiQuery<TrendParams>,
) -> ApiResult<Json<Value>> {
    staff.require(&READERS)?;
    let group = GroupBy::parse(
        q.group_by.as_deref().unwrap_or("category"),
        q.level.as_deref(),
    )?;
    let p = period_param(&s, q.period.as_deref(), q.at.as_deref())?;
    ready(&s).await?;
    let today = period::day_number(
        OffsetDateTime::now_utc()
            .to_offset(s.analysis.offset())
            .date(),
    );
    let t = s
        .analysis
        .query(move |f| f.trends(&group, p, today))
        .await
        .ok_or(ApiError::Unavailable)??;
    Ok(Json(json!(t)))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct PeriodParams {
    period: Option<String>,
    at: Option<String>,
}

/// `GET /api/v1/analysis/departments?period=&at=`
pub(crate) async fn departments(
    State(s): State<AppState>,
    staff: Staff,
    ApiQuery(q): ApiQuery<PeriodParams>,
) -> ApiResult<Json<Value>> {
    staff.require(&READERS)?;
    let p = period_param(&s, q.period.as_deref(), q.at.as_deref())?;
    ready(&s).await?;
    let league = s
        .analysis
        .query(move |f| f.department_scores(p))
        .await
        .ok_or(ApiError::Unavailable)?;
    Ok(Json(json!(league)))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct WindowParams {
    resolution: Option<u8>,
    since: Option<String>,
    until: Option<String>,
    recent_days: Option<i32>,
}

/// A local date (`2026-10-01`) or an RFC 3339 time, as a local day number.
fn day_param(s: &AppState, name: &str, v: Option<&str>) -> ApiResult<Option<i32>> {
    let Some(v) = v.map(str::trim) else {
        return Ok(None);
    };
    let f = time::macros::format_description!("[year]-[month]-[day]");
    if let Ok(d) = Date::parse(v, f) {
        return Ok(Some(period::day_number(d)));
    }
    OffsetDateTime::parse(v, &time::format_description::well_known::Rfc3339)
        .map(|t| Some(period::day_number(t.to_offset(s.analysis.offset()).date())))
        .map_err(|_| {
            ApiError::BadRequest(format!(
                "{name} must be a date (2026-10-01) or an RFC 3339 time"
            ))
        })
}

/// The days `[since, until)` asked for: by default the 90 days up to today.
fn window(s: &AppState, q: &WindowParams) -> ApiResult<(i32, i32)> {
    let today = period::day_number(
        OffsetDateTime::now_utc()
            .to_offset(s.analysis.offset())
            .date(),
    );
    let until = day_param(s, "until", q.until.as_deref())?.unwrap_or(today + 1);
    let since = day_param(s, "since", q.since.as_deref())?.unwrap_or(until - 90);
    if until <= since {
        return Err(ApiError::BadRequest("until must be after since".into()));
    }
    Ok((since, until))
}

/// `GET /api/v1/analysis/hotspots?resolution=&since=&until=&recent_days=`: GeoJSON.
pub(crate) async fn hotspots(
    State(s): State<AppState>,
    staff: Staff,
    ApiQuery(q): ApiQuery<WindowParams>,
) -> ApiResult<Json<Value>> {
    staff.require(&READERS)?;
    let (since, until) = window(&s, &q)?;
    let recent_days = q.recent_days.unwrap_or(7);
    if recent_days < 1 || recent_days >= until - since {
        return Err(ApiError::BadRequest(
            "recent_days must be at least 1 and shorter than the window".into(),
        ));
    }
    let query = HotspotQuery {
        resolution: q.resolution.unwrap_or(8),
        since,
        until,
        recent_days,
    };
    ready(&s).await?;
    let cells = s
        .analysis
        .query(move |f| f.hotspots(&query))
        .await
        .ok_or(ApiError::Unavailable)??;
    let mut geo = sentinel_analysis::cells_geojson(&cells);
    geo["resolution"] = json!(query.resolution);
    geo["since"] = json!(period::date_of(since).to_string());
    geo["until"] = json!(period::date_of(until).to_string());
    geo["recent_days"] = json!(recent_days);
    geo["emerging"] = json!(cells.iter().filter(|c| c.emerging).count());
    Ok(Json(geo))
}

/// `GET /api/v1/analysis/patterns?since=&until=`: reports by weekday and hour, and
/// the distribution of time to resolve.
pub(crate) async fn patterns(
    State(s): State<AppState>,
    staff: Staff,
    ApiQuery(q): ApiQuery<WindowParams>,
) -> ApiResult<Json<Value>> {
    staff.require(&READERS)?;
    if q.resolution.is_some() || q.recent_days.is_some() {
        return Err(ApiError::BadRequest(
            "patterns take since and until only".into(),
        ));
    }
    let (since, until) = window(&s, &q)?;
    ready(&s).await?;
    let (matrix, times) = s
        .analysis
        .query(move |f| {
            (
                f.hour_by_weekday(since, until),
                f.resolve_times(since, until),
            )
        })
        .await
        .ok_or(ApiError::Unavailable)?;
    Ok(Json(json!({
        "since": period::date_of(since).to_string(),
        "until": period::date_of(until).to_string(),
        "weekdays": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"],
        "hour_by_weekday": matrix,
        "resolve_times": times,
    })))
}
