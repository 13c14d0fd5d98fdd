//! Blurring beyond recovery: each box is first reduced to coarse blocks (about six
//! across its longer side, so no feature survives), then smoothed so the blocks do
//! not themselves form a readable pattern.

use crate::Region;
use image::RgbImage;

/// Blurs every region of `img` in place.
pub fn apply(img: &mut RgbImage, regions: &[Region]) {
    for r in regions {
        one(img, r);
    }
}

fn one(img: &mut RgbImage, r: &Region) {
    let (iw, ih) = img.dimensions();
    let x0 = r.x.min(iw);
    let y0 = r.y.min(ih);
    let x1 = (r.x + r.w).min(iw);
    let y1 = (r.y + r.h).min(ih);
    if x1 <= x0 || y1 <= y0 {
        return;
    }
    let block = ((x1 - x0).max(y1 - y0) / 6).max(4);
    // Pixelate: every block takes its mean colour.
    let mut by = y0;
    while by < y1 {
        let ey = (by + block).min(y1);
        let mut bx = x0;
        while bx < x1 {
            let ex = (bx + block).min(x1);
            let mut sum = [0u64; 3];
            for y in by..ey {
                for x in bx..ex {
                    let p = img.get_pixel(x, y).0;
                    for c in 0..3 {
                        sum[c] += u64::from(p[c]);
                    }
                }
            }
            let n = u64::from((ex - bx) * (ey - by));
            let mean = image::Rgb(sum.map(|v| (v / n) as u8));
            for y in by..ey {
                for x in bx..ex {
                    img.put_pixel(x, y, mean);
                }
            }
            bx = ex;
        }
        by = ey;
    }
    // Smooth: a box blur as wide as a block, horizontally then vertically, inside
    // the region only.
    let radius = (block / 2).max(1) as i64;
    let (w, h) = ((x1 - x0) as i64, (y1 - y0) as i64);
    let mut buf: Vec<[f32; 3]> = Vec::with_capacity((w * h) as usize);
    for y in y0..y1 {
        for x in x0..x1 {
            let p = img.get_pixel(x, y).0;
            buf.push([f32::from(p[0]), f32::from(p[1]), f32::from(p[2])]);
        }
    }
    // Each pass is a running sum along its lines: constant cost per pixel whatever
    // the radius, so a large staff box costs no more than a small one.
    let pass = |src: &[[f32; 3]], horizontal: bool| -> Vec<[f32; 3]> {
        let mut out = vec![[0f32; 3]; src.len()];
        let (lines, len) = if horizontal { (h, w) } else { (w, h) };
        let at = |line: i64, i: i64| -> usize {
            if horizontal {
                (line * w + i) as usize
            } else {
                (i * w + line) as usize
            }
        };
        let mut prefix = vec![[0f32; 3]; len as usize + 1];
        for line in 0..lines {
            for i in 0..len {
                let p = src[at(line, i)];
                let q = prefix[i as usize];
                prefix[i as usize + 1] = [q[0] + p[0], q[1] + p[1], q[2] + p[2]];
            }
            for i in 0..len {
                let lo = (i - radius).max(0) as usize;
                let hi = (i + radius + 1).min(len) as usize;
                let n = (hi - lo) as f32;
                let (a, b) = (prefix[hi], prefix[lo]);
                out[at(line, i)] = [(a[0] - b[0]) / n, (a[1] - b[1]) / n, (a[2] - b[2]) / n];
            }
        }
        out
    };
    let smoothed = pass(&pass(&buf, true), false);
    for y in 0..h {
        for x in 0..w {
            let p = smoothed[(y * w + x) as usize];
            img.put_pixel(
                x0 + x as u32,
                y0 + y as u32,
                image::Rgb(p.map(|v| v.round().clamp(0.0, 255.0) as u8)),
            );
        }
    }
}
