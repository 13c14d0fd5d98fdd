//! CenterFace: a heat map of face centres at a quarter of the input's resolution,
//! with each centre's box size (log scale) and offset. The network takes any size
//! that is a multiple of 32; tract runs a fixed size far faster than a symbolic one,
//! so one plan is prepared per input size and kept.

use crate::{Plan, RedactError, Region, RegionKind, Settings, fit, model_error, suppress, tensor};
use image::RgbImage;
use std::collections::HashMap;
use std::sync::Mutex;
use tract_onnx::prelude::*;

/// Plans kept at once (each holds the network's weights, about 7 MB).
const KEEP: usize = 6;

pub(crate) struct FaceModel {
    model: InferenceModel,
    plans: Mutex<HashMap<(u32, u32), Plan>>,
}

impl FaceModel {
    pub(crate) fn new(bytes: &[u8]) -> Result<FaceModel, RedactError> {
        let model = tract_onnx::onnx()
            .model_for_read(&mut std::io::Cursor::new(bytes))
            .map_err(model_error("face"))?;
        if model.output_outlets().map_err(model_error("face"))?.len() < 3 {
            return Err(RedactError::Model {
                what: "face",
                reason: "expected a heat map, scales and offsets".into(),
            });
        }
        Ok(FaceModel {
            model,
            plans: Mutex::new(HashMap::new()),
        })
    }

    fn plan(&self, w: u32, h: u32) -> Result<Plan, RedactError> {
        let mut plans = self.plans.lock().expect("face plans");
        if let Some(p) = plans.get(&(w, h)) {
            return Ok(p.clone());
        }
        let plan = self
            .model
            .clone()
            .with_input_fact(0, f32::fact([1, 3, h as usize, w as usize]).into())
            .and_then(|m| m.into_optimized())
            .and_then(|m| m.into_runnable())
            .map_err(model_error("face"))?;
        if plans.len() >= KEEP {
            plans.clear();
        }
        plans.insert((w, h), plan.clone());
        Ok(plan)
    }

    pub(crate) fn detect(&self, img: &RgbImage, s: &Settings) -> Result<Vec<Region>, RedactError> {
        let (iw, ih) = img.dimensions();
        let side = s.face_side as f32;
        let scale = (side / iw.max(ih) as f32).min(1.0);
        // The network takes multiples of 32; each shape of photo gets its own plan
        // (prepared once, about 0.1 s), and a few are kept.
        let up = |v: f32| (((v.ceil() as u32).max(1)).div_ceil(32) * 32).max(32);
        let (w, h) = (up(iw as f32 * scale), up(ih as f32 * scale));
        let (canvas, k) = fit(img, w, h, 0);
        let plan = self.plan(w, h)?;
        let out = plan
            .run(tvec!(tensor(&canvas, 1.0).into()))
            .map_err(|e| RedactError::Inference(format!("{e:#}")))?;
        let view = |i: usize| {
            out[i]
                .to_plain_array_view::<f32>()
                .map_err(|e| RedactError::Inference(format!("{e:#}")))
        };
        let (heat, scales, offsets) = (view(0)?, view(1)?, view(2)?);
        let shape = heat.shape();
        if shape.len() != 4 || scales.shape()[1] != 2 || offsets.shape()[1] != 2 {
            return Err(RedactError::Inference(format!(
                "unexpected face outputs {shape:?}"
            )));
        }
        let (gh, gw) = (shape[2], shape[3]);
        let mut found = Vec::new();
        for y in 0..gh {
            for x in 0..gw {
                let score = heat[[0, 0, y, x]];
                if score <= s.face_threshold {
                    continue;
                }
                let bh = scales[[0, 0, y, x]].exp() * 4.0;
                let bw = scales[[0, 1, y, x]].exp() * 4.0;
                let cy = (y as f32 + offsets[[0, 0, y, x]] + 0.5) * 4.0;
                let cx = (x as f32 + offsets[[0, 1, y, x]] + 0.5) * 4.0;
                let x0 = ((cx - bw / 2.0) / k).max(0.0);
                let y0 = ((cy - bh / 2.0) / k).max(0.0);
                let x1 = ((cx + bw / 2.0) / k).min(iw as f32);
                let y1 = ((cy + bh / 2.0) / k).min(ih as f32);
                if x1 - x0 < 1.0 || y1 - y0 < 1.0 {
                    continue;
                }
                found.push(Region {
                    kind: RegionKind::Face,
                    x: x0 as u32,
                    y: y0 as u32,
                    w: (x1 - x0).round().max(1.0) as u32,
                    h: (y1 - y0).round().max(1.0) as u32,
                    score,
                });
            }
        }
        Ok(suppress(found, 0.3))
    }
}
