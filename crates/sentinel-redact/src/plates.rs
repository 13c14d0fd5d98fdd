//! HyperLPR's plate detector: YOLOv5 at 640×640 (letterboxed, grey padding,
//! values 0–1); each of its 25,200 rows is a candidate: centre, size, objectness,
//! four corners and two classes (single- and double-row plates). A far-away plate
//! is a few pixels at 640, so photos larger than `tile_above` are also searched in
//! four overlapping quarters.

use crate::{Plan, RedactError, Region, RegionKind, Settings, fit, model_error, suppress, tensor};
use image::RgbImage;
use tract_onnx::prelude::*;

const SIDE: u32 = 640;

pub(crate) fn prepare(bytes: &[u8]) -> Result<Plan, RedactError> {
    tract_onnx::onnx()
        .model_for_read(&mut std::io::Cursor::new(bytes))
        .and_then(|m| m.with_input_fact(0, f32::fact([1, 3, SIDE as usize, SIDE as usize]).into()))
        .and_then(|m| m.into_optimized())
        .and_then(|m| m.into_runnable())
        .map_err(model_error("plate"))
}

pub(crate) fn detect(
    plan: &Plan,
    img: &RgbImage,
    s: &Settings,
) -> Result<Vec<Region>, RedactError> {
    let (iw, ih) = img.dimensions();
    let mut found = run(plan, img, 0, 0, s)?;
    if iw.max(ih) > s.tile_above {
        // 2×2 tiles, each overlapping its neighbour by a tenth of the photo.
        let tw = (iw / 2 + iw / 10).min(iw);
        let th = (ih / 2 + ih / 10).min(ih);
        for (x, y) in [(0, 0), (iw - tw, 0), (0, ih - th), (iw - tw, ih - th)] {
            let tile = image::imageops::crop_imm(img, x, y, tw, th).to_image();
            found.extend(run(plan, &tile, x, y, s)?);
        }
    }
    Ok(suppress(found, 0.4))
}

fn run(
    plan: &Plan,
    img: &RgbImage,
    ox: u32,
    oy: u32,
    s: &Settings,
) -> Result<Vec<Region>, RedactError> {
    let (iw, ih) = img.dimensions();
    let (canvas, k) = fit(img, SIDE, SIDE, 114);
    let out = plan
        .run(tvec!(tensor(&canvas, 1.0 / 255.0).into()))
        .map_err(|e| RedactError::Inference(format!("{e:#}")))?;
    let rows = out[0]
        .to_plain_array_view::<f32>()
        .map_err(|e| RedactError::Inference(format!("{e:#}")))?;
    let shape = rows.shape();
    if shape.len() != 3 || shape[2] < 15 {
        return Err(RedactError::Inference(format!(
            "unexpected plate outputs {shape:?}"
        )));
    }
    let mut found = Vec::new();
    for i in 0..shape[1] {
        let obj = rows[[0, i, 4]];
        if obj <= s.plate_threshold {
            continue;
        }
        let class = rows[[0, i, 13]].max(rows[[0, i, 14]]);
        let score = obj * class;
        if score <= s.plate_threshold {
            continue;
        }
        let (cx, cy, w, h) = (
            rows[[0, i, 0]],
            rows[[0, i, 1]],
            rows[[0, i, 2]],
            rows[[0, i, 3]],
        );
        let x0 = ((cx - w / 2.0) / k).max(0.0);
        let y0 = ((cy - h / 2.0) / k).max(0.0);
        let x1 = ((cx + w / 2.0) / k).min(iw as f32);
        let y1 = ((cy + h / 2.0) / k).min(ih as f32);
        if x1 - x0 < 1.0 || y1 - y0 < 1.0 {
            continue;
        }
        found.push(Region {
            kind: RegionKind::Plate,
            x: ox + x0 as u32,
            y: oy + y0 as u32,
            w: (x1 - x0).round() as u32,
            h: (y1 - y0).round() as u32,
            score,
        });
    }
    Ok(suppress(found, 0.4))
}
