//! A perceptual hash (dHash, 64 bits) so near-identical photos of the same hazard
//! can be flagged as likely duplicates: re-encoding, resizing or small edits change
//! few bits, a different scene about half of them.

/// Bits that may differ for two photos to count as near-identical.
pub const NEAR_IDENTICAL_BITS: u32 = 10;

/// dHash of a greyscale image: a 9×8 box-filtered thumbnail, one bit per
/// horizontally neighbouring pair (is the left one brighter?).
pub fn dhash(luma: &[u8], width: usize, height: usize) -> u64 {
    if width == 0 || height == 0 || luma.len() < width * height {
        return 0;
    }
    const W: usize = 9;
    const H: usize = 8;
    let mut sums = [[0u64; W]; H];
    let mut counts = [[0u64; W]; H];
    for y in 0..height {
        let cy = y * H / height;
        let row = &luma[y * width..(y + 1) * width];
        for (x, v) in row.iter().enumerate() {
            let cx = x * W / width;
            sums[cy][cx] += u64::from(*v);
            counts[cy][cx] += 1;
        }
    }
    let mut bits = 0u64;
    for y in 0..H {
        for x in 0..W - 1 {
            let avg = |x: usize| sums[y][x] * 1024 / counts[y][x].max(1);
            bits = (bits << 1) | u64::from(avg(x) > avg(x + 1));
        }
    }
    bits
}

/// How many bits two hashes differ in.
pub fn distance(a: u64, b: u64) -> u32 {
    (a ^ b).count_ones()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing;

    fn hash_of(jpeg: &[u8]) -> u64 {
        crate::process(jpeg, &crate::PhotoLimits::default())
            .unwrap()
            .phash
    }

    #[test]
    fn a_recompressed_photo_is_near_identical_and_another_scene_is_not() {
        let a = hash_of(&testing::jpeg(640, 480, 1, None, 92));
        let a_low_quality = hash_of(&testing::jpeg(640, 480, 1, None, 40));
        let small = image::imageops::resize(
            &testing::picture(640, 480, 1),
            320,
            240,
            image::imageops::FilterType::Triangle,
        );
        let mut small_jpeg = std::io::Cursor::new(Vec::new());
        image::codecs::jpeg::JpegEncoder::new_with_quality(&mut small_jpeg, 85)
            .encode_image(&small)
            .unwrap();
        let a_smaller = hash_of(small_jpeg.get_ref());
        // Another scene: the same test card mirrored, so its brightness runs the other way.
        let mirrored = image::imageops::flip_horizontal(&testing::picture(640, 480, 1));
        let mut other_jpeg = std::io::Cursor::new(Vec::new());
        image::codecs::jpeg::JpegEncoder::new_with_quality(&mut other_jpeg, 92)
            .encode_image(&mirrored)
            .unwrap();
        let other = hash_of(other_jpeg.get_ref());
        assert!(
            distance(a, a_low_quality) <= NEAR_IDENTICAL_BITS,
            "{}",
            distance(a, a_low_quality)
        );
        assert!(
            distance(a, a_smaller) <= NEAR_IDENTICAL_BITS,
            "{}",
            distance(a, a_smaller)
        );
        assert!(
            distance(a, other) > NEAR_IDENTICAL_BITS,
            "{}",
            distance(a, other)
        );
    }
}
