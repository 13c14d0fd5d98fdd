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

/// How to read a layer file.
#[derive(Debug, Clone)]
pub struct LayerImport {
    /// Layer name (an existing layer of that name is replaced at the end).
    pub name: String,
    /// What it holds.
    pub kind: sentinel_geo::layers::LayerKind,
    /// Datum of the coordinates.
    pub crs: sentinel_geo::Crs,
    /// Properties to rename on the way in: (`to`, `from`).
    pub rename: Vec<(String, String)>,
}

/// A layer file, opened.
pub enum LayerSource {
    /// A GeoJSON FeatureCollection (streamed).
    GeoJson(Box<dyn std::io::Read + Send>),
    /// A CSV with latitude and longitude columns (streamed).
    Csv {
        /// The file.
        reader: Box<dyn std::io::Read + Send>,
        /// The latitude column.
        lat: String,
        /// The longitude column.
        lon: String,
    },
    /// A KML document.
    Kml(Box<dyn std::io::Read + Send>),
    /// A shapefile: `.shp` with its `.dbf`, and `.prj` / `.cpg` when present.
    Shapefile(
        sentinel_geo::layers::ShapefileParts<
            std::io::BufReader<std::fs::File>,
            std::io::BufReader<std::fs::File>,
        >,
    ),
}

impl LayerSource {
    /// Opens `path` by its extension: `.geojson`/`.json`, `.csv`, `.kml`, `.shp`
    /// (with its sibling files). The error is a sentence naming the file.
    pub fn open(path: &std::path::Path, lat: &str, lon: &str) -> Result<Self, String> {
        use std::fs::File;
        use std::io::BufReader;
        let shown = path.display();
        let open = |p: &std::path::Path| {
            File::open(p).map_err(|e| format!("{}: cannot open: {e}", p.display()))
        };
        let ext = path
            .extension()
            .and_then(|e| e.to_str())
            .unwrap_or_default()
            .to_ascii_lowercase();
        Ok(match ext.as_str() {
            "geojson" | "json" => Self::GeoJson(Box::new(open(path)?)),
            "csv" => Self::Csv {
                reader: Box::new(open(path)?),
                lat: lat.to_owned(),
                lon: lon.to_owned(),
            },
            "kml" => Self::Kml(Box::new(open(path)?)),
            "kmz" => {
                return Err(format!(
                    "{shown}: KMZ is a zipped KML; unzip it and import its doc.kml"
                ));
            }
            "shp" => {
                // Sibling files may be spelled .DBF as well as .dbf.
                let sibling = |e: &str| {
                    [e.to_owned(), e.to_ascii_uppercase()]
                        .into_iter()
                        .map(|e| path.with_extension(e))
                        .find(|p| p.is_file())
                };
                let dbf = sibling("dbf").ok_or_else(|| {
                    format!(
                        "{shown}: the attribute table {} is missing; a shapefile needs its .shp and .dbf side by side",
                        path.with_extension("dbf").display()
                    )
                })?;
                let text = |p: Option<std::path::PathBuf>| -> Result<Option<String>, String> {
                    p.map(|p| {
                        std::fs::read(&p)
                            .map(|b| String::from_utf8_lossy(&b).into_owned())
                            .map_err(|e| format!("{}: cannot read: {e}", p.display()))
                    })
                    .transpose()
                };
                Self::Shapefile(sentinel_geo::layers::ShapefileParts {
                    shp: BufReader::new(open(path)?),
                    dbf: BufReader::new(open(&dbf)?),
                    prj: text(sibling("prj"))?,
                    cpg: text(sibling("cpg"))?,
                })
            }
            "zip" => {
                return Err(format!(
                    "{shown}: unzip the archive and import the .shp (its .dbf beside it)"
                ));
            }
            other => {
                return Err(format!(
                    "{shown}: unknown layer format {other:?}; use .geojson, .csv, .kml or .shp"
                ));
            }
        })
    }
}

const LAYER_BATCH: usize = 2_000;

/// Imports a layer from `reader` with bounded memory: a blocking thread parses and
/// hands batches to the store; the layer becomes visible only when the whole file
/// went in, replacing a layer of the same name. Returns the feature count.
pub async fn import_layer(
    store: &dyn Store,
    source: LayerSource,
    how: LayerImport,
) -> Result<usize, ApiError> {
    use sentinel_geo::layers::{LayerError, read_csv, read_geojson, read_kml, read_shapefile};
    use sentinel_store::NewLayerFeature;
    let layer = store
        .begin_layer(&how.name, how.kind.as_str(), OffsetDateTime::now_utc())
        .await?;
    let (tx, mut rx) = tokio::sync::mpsc::channel::<Vec<NewLayerFeature>>(2);
    let spec = sentinel_geo::layers::LayerSpec {
        kind: how.kind,
        crs: how.crs,
        rename: how.rename,
    };
    let parser = tokio::task::spawn_blocking(move || -> Result<usize, LayerError> {
        let mut batch = Vec::with_capacity(LAYER_BATCH);
        let stopped = || LayerError {
            place: "import".into(),
            message: "stopped".into(),
        };
        let mut sink = |f: sentinel_geo::layers::LayerFeature| -> Result<(), LayerError> {
            batch.push(NewLayerFeature {
                geometry: f.geometry,
                properties: serde_json::Value::Object(f.properties).to_string(),
                bbox: f.bbox,
            });
            if batch.len() == LAYER_BATCH {
                tx.blocking_send(std::mem::take(&mut batch))
                    .map_err(|_| stopped())?;
            }
            Ok(())
        };
        let n = match source {
            LayerSource::GeoJson(r) => read_geojson(r, &spec, &mut sink)?,
            LayerSource::Csv { reader, lat, lon } => {
                read_csv(reader, &spec, &lat, &lon, &mut sink)?
            }
            LayerSource::Kml(r) => read_kml(r, &spec, &mut sink)?,
            LayerSource::Shapefile(parts) => read_shapefile(parts, &spec, &mut sink)?,
        };
        if !batch.is_empty() {
            tx.blocking_send(batch).map_err(|_| stopped())?;
        }
        Ok(n)
    });
    let mut write_error = None;
    while let Some(batch) = rx.recv().await {
        if let Err(e) = store.add_layer_features(layer, batch).await {
            write_error = Some(e);
            break;
        }
    }
    drop(rx);
    let parsed = parser
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    let outcome = match (write_error, parsed) {
        (Some(e), _) => Err(ApiError::from(e)),
        (None, Err(e)) => Err(ApiError::Unprocessable(e.to_string())),
        (None, Ok(n)) => Ok(n),
    };
    match outcome {
        Ok(n) => {
            store.finish_layer(layer).await?;
            Ok(n)
        }
        Err(e) => {
            store.abort_layer(layer).await?;
            Err(e)
        }
    }
}
