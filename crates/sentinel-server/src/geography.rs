//! Jurisdictions between the store and the spatial index: loading the index the
//! server locates points with, and importing boundary files (shared by the command
//! line and, later, the admin API).

use crate::error::ApiError;
use sentinel_core::Catalog;
use sentinel_core::routing::{Place, Routing, route};
use sentinel_geo::import::{
    ImportOptions, area_from_geojson, area_to_geojson, assign_parents_by_containment,
    parse_jurisdictions,
};
use sentinel_geo::{Jurisdiction, JurisdictionIndex, Point};
use sentinel_store::{NewJurisdiction, Store};
use time::OffsetDateTime;

/// Where a point lies (its innermost jurisdiction's code) and where a report of
/// `category` there is routed.
pub fn route_at(
    catalog: &Catalog,
    index: &JurisdictionIndex,
    category: &str,
    p: Point,
) -> (Option<String>, Routing) {
    let chain = index.locate(p);
    let places: Vec<Place<'_>> = chain
        .iter()
        .map(|j| Place {
            code: &j.code,
            level: j.level,
        })
        .collect();
    (
        chain.last().map(|j| j.code.clone()),
        route(catalog, category, &places),
    )
}

/// Checks a configuration (TOML or JSON) against itself and the stored
/// jurisdictions, then stores it as the new version. Shared by the command line
/// and the admin API.
pub async fn save_config(
    store: &dyn Store,
    text: &str,
    by: &str,
) -> Result<(i64, Catalog), ApiError> {
    let catalog = Catalog::parse(text).map_err(|e| ApiError::Unprocessable(e.to_string()))?;
    let known: std::collections::HashSet<String> = store
        .jurisdictions()
        .await?
        .into_iter()
        .map(|j| j.code)
        .collect();
    for (i, r) in catalog.rules.iter().enumerate() {
        if let Some(code) = &r.jurisdiction
            && !known.contains(code)
        {
            return Err(ApiError::Unprocessable(format!(
                "rule {i} names unknown jurisdiction {code:?}"
            )));
        }
    }
    let document =
        serde_json::to_string(&catalog).map_err(|e| ApiError::Internal(e.to_string()))?;
    let version = store
        .save_config(document, by, OffsetDateTime::now_utc())
        .await?;
    Ok((version, catalog))
}

/// Builds the spatial index from what is stored.
pub async fn load_index(store: &dyn Store) -> Result<JurisdictionIndex, ApiError> {
    let records = store.jurisdictions().await?;
    let mut items = Vec::with_capacity(records.len());
    for r in records {
        let area = area_from_geojson(&r.area_geojson).map_err(|e| {
            ApiError::Internal(format!("stored area of jurisdiction {}: {e}", r.code))
        })?;
        items.push(Jurisdiction {
            id: r.id,
            name: r.name,
            name_en: r.name_en,
            code: r.code,
            level: r.level,
            parent: r.parent_id,
            area,
        });
    }
    Ok(JurisdictionIndex::new(items))
}

/// Imports a GeoJSON file of jurisdictions: every feature or none. Without a
/// parent field, parents are found by containment in the level above.
pub async fn import_jurisdictions(
    store: &dyn Store,
    text: &str,
    opts: &ImportOptions,
) -> Result<usize, ApiError> {
    let mut items =
        parse_jurisdictions(text, opts).map_err(|e| ApiError::Unprocessable(e.to_string()))?;
    if opts.parent_field.is_none() {
        let existing = load_index(store).await?;
        assign_parents_by_containment(&mut items, &existing)
            .map_err(|e| ApiError::Unprocessable(e.to_string()))?;
    }
    let records = items
        .into_iter()
        .map(|j| NewJurisdiction {
            area_geojson: area_to_geojson(&j.area),
            code: j.code,
            name: j.name,
            name_en: j.name_en,
            level: j.level,
            parent_code: j.parent_code,
        })
        .collect();
    Ok(store
        .import_jurisdictions(records, OffsetDateTime::now_utc())
        .await?)
}
