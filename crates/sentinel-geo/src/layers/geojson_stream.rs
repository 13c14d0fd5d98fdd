//! GeoJSON layers, streamed: the FeatureCollection is walked with a serde visitor
//! that hands each feature on as soon as it is parsed, so a file of any size takes
//! the memory of one feature, whatever the order of the top-level members.

use super::{LayerError, LayerFeature, LayerSpec, err, feature};
use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use std::fmt;
use std::io::Read;

/// Shared state of one read: the sink, the count, and the first error the sink or
/// a feature raised (serde only carries text, so the typed error waits here).
struct Walk<'a, E> {
    spec: &'a LayerSpec,
    sink: &'a mut dyn FnMut(LayerFeature) -> Result<(), E>,
    count: usize,
    failed: Option<E>,
    saw_features: bool,
}

impl<E: From<LayerError>> Walk<'_, E> {
    fn stop<X: de::Error>(&mut self, e: E) -> X {
        self.failed = Some(e);
        X::custom("stopped")
    }
}

struct Root<'w, 'a, E>(&'w mut Walk<'a, E>);
struct Features<'w, 'a, E>(&'w mut Walk<'a, E>);

impl<'de, E: From<LayerError>> DeserializeSeed<'de> for Root<'_, '_, E> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de, E: From<LayerError>> Visitor<'de> for Root<'_, '_, E> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a GeoJSON FeatureCollection object")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while let Some(key) = map.next_key::<String>()? {
            match key.as_str() {
                "type" => {
                    let t: String = map.next_value()?;
                    if t != "FeatureCollection" {
                        let e = err(
                            "file",
                            format!("is a GeoJSON {t:?}; a FeatureCollection is expected"),
                        );
                        return Err(self.0.stop(e.into()));
                    }
                }
                "features" => {
                    self.0.saw_features = true;
                    map.next_value_seed(Features(&mut *self.0))?;
                }
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(())
    }
}

impl<'de, E: From<LayerError>> DeserializeSeed<'de> for Features<'_, '_, E> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de, E: From<LayerError>> Visitor<'de> for Features<'_, '_, E> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an array of features")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        loop {
            let place = format!("feature {}", self.0.count);
            let f = match seq.next_element::<geojson::Feature>() {
                Ok(Some(f)) => f,
                Ok(None) => return Ok(()),
                Err(e) => {
                    let e = err(&place, format!("not valid GeoJSON: {e}"));
                    return Err(self.0.stop(e.into()));
                }
            };
            let geojson::Feature {
                geometry,
                properties,
                ..
            } = f;
            let Some(g) = geometry else {
                return Err(self.0.stop(err(&place, "has no geometry").into()));
            };
            let checked = match feature(
                &g.value,
                properties.unwrap_or_default(),
                self.0.spec,
                &place,
            ) {
                Ok(c) => c,
                Err(e) => return Err(self.0.stop(e.into())),
            };
            if let Err(e) = (self.0.sink)(checked) {
                return Err(self.0.stop(e));
            }
            self.0.count += 1;
        }
    }
}

/// Reads a GeoJSON FeatureCollection feature by feature, handing each checked
/// feature to `sink`. Returns the count.
pub fn read_geojson<R: Read, E: From<LayerError>>(
    reader: R,
    spec: &LayerSpec,
    mut sink: impl FnMut(LayerFeature) -> Result<(), E>,
) -> Result<usize, E> {
    let mut walk = Walk {
        spec,
        sink: &mut sink,
        count: 0,
        failed: None,
        saw_features: false,
    };
    let mut de = serde_json::Deserializer::from_reader(std::io::BufReader::new(reader));
    let parsed = Root(&mut walk).deserialize(&mut de).and_then(|()| de.end());
    if let Some(e) = walk.failed.take() {
        return Err(e);
    }
    if let Err(e) = parsed {
        let place = if walk.saw_features {
            format!("after feature {}", walk.count)
        } else {
            "file".to_owned()
        };
        return Err(err(&place, format!("not valid GeoJSON: {e}")).into());
    }
    if !walk.saw_features {
        return Err(err(
            "file",
            "has no \"features\" array: a FeatureCollection is expected",
        )
        .into());
    }
    if walk.count == 0 {
        return Err(err("file", "has no features").into());
    }
    Ok(walk.count)
}
