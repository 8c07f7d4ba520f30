//! Files a run leaves behind in `tests/artifacts/` (ignored by git): screenshots, and the
//! logs of `tauri-driver`, `WebKitWebDriver` and the app. It also judges a screenshot, because
//! a blank window is the classic silent failure of WebKitGTK under Xvfb.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use crate::Error;

/// The artifact folder, created if needed.
pub fn ensure_dir(dir: &Path) -> Result<(), Error> {
    std::fs::create_dir_all(dir).map_err(|source| Error::Io {
        step: "create the artifacts folder",
        path: dir.display().to_string(),
        source,
    })
}

/// Writes `bytes` to `dir/name` and returns the path.
pub fn save(dir: &Path, name: &str, bytes: &[u8]) -> Result<PathBuf, Error> {
    ensure_dir(dir)?;
    let path = dir.join(name);
    std::fs::write(&path, bytes).map_err(|source| Error::Io {
        step: "write an artifact",
        path: path.display().to_string(),
        source,
    })?;
    Ok(path)
}

/// What a screenshot shows, roughly.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PngSummary {
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// Distinct pixel values, counted up to [`PngSummary::COUNT_LIMIT`].
    pub colours: usize,
}

impl PngSummary {
    /// Counting stops here: enough to tell a rendered page from a flat rectangle.
    pub const COUNT_LIMIT: usize = 1024;

    /// Decodes a PNG and counts its colours.
    pub fn of(png_bytes: &[u8]) -> Result<PngSummary, Error> {
        let invalid = |detail: String| Error::Protocol {
            step: "decode the screenshot".to_owned(),
            detail,
        };
        let mut decoder = png::Decoder::new(png_bytes);
        decoder.set_transformations(png::Transformations::EXPAND);
        let mut reader = decoder
            .read_info()
            .map_err(|e| invalid(format!("not a PNG: {e}")))?;
        let mut buffer = vec![0; reader.output_buffer_size()];
        let info = reader
            .next_frame(&mut buffer)
            .map_err(|e| invalid(format!("broken PNG: {e}")))?;
        let bytes_per_pixel = info.color_type.samples()
            * if info.bit_depth == png::BitDepth::Sixteen {
                2
            } else {
                1
            };
        let mut colours = HashSet::new();
        for pixel in buffer[..info.buffer_size()].chunks_exact(bytes_per_pixel) {
            colours.insert(pixel);
            if colours.len() >= Self::COUNT_LIMIT {
                break;
            }
        }
        Ok(PngSummary {
            width: info.width,
            height: info.height,
            colours: colours.len(),
        })
    }

    /// Whether the image is one flat colour (or nearly: a border and a fill).
    pub fn is_blank(&self) -> bool {
        self.colours <= 2
    }
}

/// The last `lines` lines of a text file, or a note saying why it could not be read.
pub fn tail(path: &Path, lines: usize) -> String {
    match std::fs::read(path) {
        Ok(bytes) => {
            let text = String::from_utf8_lossy(&bytes);
            let all: Vec<&str> = text.lines().collect();
            let start = all.len().saturating_sub(lines);
            all[start..].join("\n")
        }
        Err(error) => format!("({} could not be read: {error})", path.display()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn png_of(width: u32, height: u32, pixel: impl Fn(u32, u32) -> [u8; 3]) -> Vec<u8> {
        let mut out = Vec::new();
        let mut encoder = png::Encoder::new(&mut out, width, height);
        encoder.set_color(png::ColorType::Rgb);
        encoder.set_depth(png::BitDepth::Eight);
        let mut writer = encoder.write_header().expect("header");
        let pixel = &pixel;
        let data: Vec<u8> = (0..height)
            .flat_map(|y| (0..width).flat_map(move |x| pixel(x, y)))
            .collect();
        writer.write_image_data(&data).expect("data");
        drop(writer);
        out
    }

    #[test]
    fn a_flat_image_is_blank() {
        let summary = PngSummary::of(&png_of(8, 4, |_, _| [255, 255, 255])).expect("png");
        assert_eq!((summary.width, summary.height, summary.colours), (8, 4, 1));
        assert!(summary.is_blank());
    }

    #[test]
    fn an_image_with_detail_is_not_blank() {
        let summary =
            PngSummary::of(&png_of(16, 16, |x, y| [x as u8 * 10, y as u8 * 10, 0])).expect("png");
        assert!(!summary.is_blank(), "{summary:?}");
    }

    #[test]
    fn garbage_is_not_a_png() {
        assert!(PngSummary::of(b"not a png").is_err());
    }
}
