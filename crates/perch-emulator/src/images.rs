//! Generated PNG images: profile photos (a coloured disc with the user's initials) and the
//! pictures behind inline images (`hostedContents`), a chart or a landscape drawn from a seed.
//!
//! Everything here is deterministic and cheap (a few hundred microseconds per image) so the
//! seed can make its handful of distinct pictures at start. It does no I/O and knows nothing of
//! the tenant; callers decide which colour, initials or seed to draw.

/// Side of a profile photo in pixels.
pub const AVATAR_SIZE: u32 = 96;

/// Images are clamped to this many pixels per side so a caller cannot ask for gigabytes.
const MAX_SIDE: u32 = 2048;

/// A 96×96 profile photo: a disc in `rgb` on a transparent background with up to two
/// `initials` (letters, accents dropped; anything else is skipped) in white or dark grey,
/// whichever reads better on the colour.
pub fn avatar_png(rgb: [u8; 3], initials: &str) -> Vec<u8> {
    let size = AVATAR_SIZE as usize;
    let mut pixels = vec![0u8; size * size * 4];
    let centre = (size as f32 - 1.0) / 2.0;
    let radius = size as f32 / 2.0;
    for y in 0..size {
        for x in 0..size {
            let dx = x as f32 - centre;
            let dy = y as f32 - centre;
            let distance = (dx * dx + dy * dy).sqrt();
            // One pixel of anti-aliasing at the rim.
            let coverage = (radius - distance).clamp(0.0, 1.0);
            if coverage > 0.0 {
                let at = (y * size + x) * 4;
                pixels[at..at + 3].copy_from_slice(&rgb);
                pixels[at + 3] = (coverage * 255.0) as u8;
            }
        }
    }

    let luminance =
        0.299 * f32::from(rgb[0]) + 0.587 * f32::from(rgb[1]) + 0.114 * f32::from(rgb[2]);
    let ink: [u8; 3] = if luminance > 170.0 {
        [32, 32, 32]
    } else {
        [255, 255, 255]
    };
    // Accented letters are drawn without their accent (É → E); other characters are skipped.
    let glyphs: Vec<&[u8; 7]> = crate::seed::names::fold(initials)
        .chars()
        .filter_map(|c| glyph(c.to_ascii_uppercase()))
        .take(2)
        .collect();
    if !glyphs.is_empty() {
        // Each glyph is 5×7 cells of `scale` pixels, with one cell of space between glyphs.
        let scale = 5usize;
        let width = glyphs.len() * 5 * scale + (glyphs.len() - 1) * scale;
        let height = 7 * scale;
        let left = (size - width) / 2;
        let top = (size - height) / 2;
        for (g, rows) in glyphs.iter().enumerate() {
            let glyph_left = left + g * 6 * scale;
            for (row, bits) in rows.iter().enumerate() {
                for col in 0..5 {
                    if bits & (0x10 >> col) == 0 {
                        continue;
                    }
                    for py in 0..scale {
                        for px in 0..scale {
                            let x = glyph_left + col * scale + px;
                            let y = top + row * scale + py;
                            let at = (y * size + x) * 4;
                            pixels[at..at + 3].copy_from_slice(&ink);
                            pixels[at + 3] = 255;
                        }
                    }
                }
            }
        }
    }
    encode(AVATAR_SIZE, AVATAR_SIZE, png::ColorType::Rgba, &pixels)
}

/// A deterministic picture for inline images: depending on `seed`, a bar chart with grid lines
/// or a landscape with sky, sun, mountains and a lake. The same seed and size always give the
/// same bytes. Sides are clamped to 1..=2048 pixels.
pub fn picture_png(seed: u64, width: u32, height: u32) -> Vec<u8> {
    let width = width.clamp(1, MAX_SIDE);
    let height = height.clamp(1, MAX_SIDE);
    let mut rng = SplitMix(seed ^ 0x5EED_1A6E_u64);
    let mut canvas = Canvas::new(width as usize, height as usize);
    if seed.is_multiple_of(2) {
        draw_chart(&mut canvas, &mut rng);
    } else {
        draw_landscape(&mut canvas, &mut rng);
    }
    encode(width, height, png::ColorType::Rgb, &canvas.pixels)
}

/// An RGB pixel buffer.
struct Canvas {
    width: usize,
    height: usize,
    pixels: Vec<u8>,
}

impl Canvas {
    fn new(width: usize, height: usize) -> Self {
        Self {
            width,
            height,
            pixels: vec![255; width * height * 3],
        }
    }

    /// Fills the rectangle `[x0, x1) × [y0, y1)`, clipped to the canvas.
    fn fill(&mut self, x0: usize, y0: usize, x1: usize, y1: usize, rgb: [u8; 3]) {
        let x1 = x1.min(self.width);
        let y1 = y1.min(self.height);
        for y in y0.min(y1)..y1 {
            let row = y * self.width * 3;
            for x in x0.min(x1)..x1 {
                let at = row + x * 3;
                self.pixels[at..at + 3].copy_from_slice(&rgb);
            }
        }
    }

    fn set(&mut self, x: usize, y: usize, rgb: [u8; 3]) {
        if x < self.width && y < self.height {
            let at = (y * self.width + x) * 3;
            self.pixels[at..at + 3].copy_from_slice(&rgb);
        }
    }
}

/// Colours of Fluent-like charts.
const PALETTE: [[u8; 3]; 6] = [
    [0, 120, 212],
    [0, 183, 195],
    [142, 86, 217],
    [232, 17, 35],
    [255, 185, 0],
    [16, 124, 16],
];

fn draw_chart(canvas: &mut Canvas, rng: &mut SplitMix) {
    let (w, h) = (canvas.width, canvas.height);
    canvas.fill(0, 0, w, h, [250, 250, 250]);
    let margin_x = (w / 10).max(1);
    let margin_y = (h / 8).max(1);
    let plot_bottom = h.saturating_sub(margin_y);
    let plot_top = margin_y;
    // Grid lines.
    for i in 0..=4 {
        let y = plot_top + (plot_bottom.saturating_sub(plot_top)) * i / 4;
        canvas.fill(
            margin_x,
            y,
            w.saturating_sub(margin_x / 2),
            y + 1,
            [220, 220, 220],
        );
    }
    // Axis.
    canvas.fill(
        margin_x,
        plot_top,
        margin_x + 1,
        plot_bottom + 1,
        [120, 120, 120],
    );
    let bars = 4 + (rng.next() % 5) as usize;
    let colour = PALETTE[(rng.next() % PALETTE.len() as u64) as usize];
    let accent = PALETTE[(rng.next() % PALETTE.len() as u64) as usize];
    let plot_width = w.saturating_sub(margin_x * 2).max(1);
    let slot = (plot_width / bars).max(1);
    let plot_height = plot_bottom.saturating_sub(plot_top);
    for b in 0..bars {
        let fraction = 20 + rng.next() % 80;
        let bar_height = plot_height * fraction as usize / 100;
        let x0 = margin_x + 2 + b * slot + slot / 6;
        let x1 = x0 + (slot * 2 / 3).max(1);
        let fill = if b + 1 == bars { accent } else { colour };
        canvas.fill(
            x0,
            plot_bottom.saturating_sub(bar_height),
            x1,
            plot_bottom,
            fill,
        );
    }
    // A title bar.
    canvas.fill(
        margin_x,
        margin_y / 3,
        margin_x + w / 3,
        margin_y / 3 + 3,
        [60, 60, 60],
    );
}

fn draw_landscape(canvas: &mut Canvas, rng: &mut SplitMix) {
    let (w, h) = (canvas.width, canvas.height);
    let horizon = h * (55 + (rng.next() % 15) as usize) / 100;
    // Sky gradient.
    let dusk = rng.next().is_multiple_of(3);
    for y in 0..horizon {
        let t = y as f32 / horizon.max(1) as f32;
        let rgb = if dusk {
            [lerp(70, 250, t), lerp(60, 160, t), lerp(140, 120, t)]
        } else {
            [lerp(70, 190, t), lerp(140, 220, t), lerp(220, 250, t)]
        };
        canvas.fill(0, y, w, y + 1, rgb);
    }
    // Sun.
    let sun_x = (rng.next() % w.max(1) as u64) as f32;
    let sun_y = horizon as f32 * 0.35;
    let sun_r = (h as f32 * 0.1).max(2.0);
    let sun = if dusk {
        [255, 210, 120]
    } else {
        [255, 240, 170]
    };
    for y in 0..horizon {
        for x in 0..w {
            let dx = x as f32 - sun_x;
            let dy = y as f32 - sun_y;
            if dx * dx + dy * dy <= sun_r * sun_r {
                canvas.set(x, y, sun);
            }
        }
    }
    // Two mountain ranges: a random walk of heights.
    for (layer, rgb) in [[96u8, 110, 130], [60, 90, 70]].into_iter().enumerate() {
        let mut height = (h / 5 + layer * h / 12) as i64;
        let max = (horizon as i64 - 2).max(2);
        for x in 0..w {
            let step = (rng.next() % 5) as i64 - 2;
            height = (height + step).clamp(2, max);
            let top = horizon.saturating_sub(height as usize);
            canvas.fill(x, top, x + 1, horizon, rgb);
        }
    }
    // Lake with ripples.
    for y in horizon..h {
        let t = (y - horizon) as f32 / (h - horizon).max(1) as f32;
        canvas.fill(
            0,
            y,
            w,
            y + 1,
            [lerp(50, 20, t), lerp(100, 60, t), lerp(150, 110, t)],
        );
        if y % 6 == 0 {
            let x0 = (rng.next() % w.max(1) as u64) as usize;
            canvas.fill(x0, y, x0 + w / 8, y + 1, [140, 170, 200]);
        }
    }
}

fn lerp(a: u8, b: u8, t: f32) -> u8 {
    (f32::from(a) + (f32::from(b) - f32::from(a)) * t).round() as u8
}

/// A tiny, fast, seedable generator (SplitMix64); pictures need variety, not quality.
struct SplitMix(u64);

impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

fn encode(width: u32, height: u32, color: png::ColorType, data: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len() / 8);
    let mut encoder = png::Encoder::new(&mut out, width, height);
    encoder.set_color(color);
    encoder.set_depth(png::BitDepth::Eight);
    encoder.set_compression(png::Compression::Fast);
    // Writing into a Vec cannot fail on I/O, and `data` always has exactly
    // width × height × channels bytes, which is all the encoder checks.
    let mut writer = encoder
        .write_header()
        .expect("PNG header for a valid size and colour type");
    writer
        .write_image_data(data)
        .expect("PNG data of exactly the declared size");
    writer.finish().expect("PNG end chunk into a Vec");
    out
}

/// A 5×7 bitmap of an uppercase ASCII letter, one byte per row, bit 4 the leftmost column.
fn glyph(c: char) -> Option<&'static [u8; 7]> {
    const FONT: [[u8; 7]; 26] = [
        [0x0E, 0x11, 0x11, 0x1F, 0x11, 0x11, 0x11], // A
        [0x1E, 0x11, 0x11, 0x1E, 0x11, 0x11, 0x1E], // B
        [0x0E, 0x11, 0x10, 0x10, 0x10, 0x11, 0x0E], // C
        [0x1E, 0x11, 0x11, 0x11, 0x11, 0x11, 0x1E], // D
        [0x1F, 0x10, 0x10, 0x1E, 0x10, 0x10, 0x1F], // E
        [0x1F, 0x10, 0x10, 0x1E, 0x10, 0x10, 0x10], // F
        [0x0E, 0x11, 0x10, 0x17, 0x11, 0x11, 0x0F], // G
        [0x11, 0x11, 0x11, 0x1F, 0x11, 0x11, 0x11], // H
        [0x0E, 0x04, 0x04, 0x04, 0x04, 0x04, 0x0E], // I
        [0x07, 0x02, 0x02, 0x02, 0x02, 0x12, 0x0C], // J
        [0x11, 0x12, 0x14, 0x18, 0x14, 0x12, 0x11], // K
        [0x10, 0x10, 0x10, 0x10, 0x10, 0x10, 0x1F], // L
        [0x11, 0x1B, 0x15, 0x15, 0x11, 0x11, 0x11], // M
        [0x11, 0x11, 0x19, 0x15, 0x13, 0x11, 0x11], // N
        [0x0E, 0x11, 0x11, 0x11, 0x11, 0x11, 0x0E], // O
        [0x1E, 0x11, 0x11, 0x1E, 0x10, 0x10, 0x10], // P
        [0x0E, 0x11, 0x11, 0x11, 0x15, 0x12, 0x0D], // Q
        [0x1E, 0x11, 0x11, 0x1E, 0x14, 0x12, 0x11], // R
        [0x0F, 0x10, 0x10, 0x0E, 0x01, 0x01, 0x1E], // S
        [0x1F, 0x04, 0x04, 0x04, 0x04, 0x04, 0x04], // T
        [0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x0E], // U
        [0x11, 0x11, 0x11, 0x11, 0x11, 0x0A, 0x04], // V
        [0x11, 0x11, 0x11, 0x15, 0x15, 0x15, 0x0A], // W
        [0x11, 0x11, 0x0A, 0x04, 0x0A, 0x11, 0x11], // X
        [0x11, 0x11, 0x11, 0x0A, 0x04, 0x04, 0x04], // Y
        [0x1F, 0x01, 0x02, 0x04, 0x08, 0x10, 0x1F], // Z
    ];
    if c.is_ascii_uppercase() {
        Some(&FONT[(c as u8 - b'A') as usize])
    } else {
        None
    }
}

/// Two initials from a display name: the first letters of the first and last words.
pub fn initials(display_name: &str) -> String {
    let mut words = display_name.split_whitespace();
    let first = words.next().and_then(|w| w.chars().next());
    let last = words.last().and_then(|w| w.chars().next());
    first.into_iter().chain(last).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const SIGNATURE: &[u8] = &[0x89, b'P', b'N', b'G', b'\r', b'\n', 0x1A, b'\n'];

    #[test]
    fn avatars_are_pngs_and_differ_by_colour_and_initials() {
        let a = avatar_png([0, 120, 212], "AV");
        let b = avatar_png([232, 17, 35], "AV");
        let c = avatar_png([0, 120, 212], "MB");
        assert!(a.starts_with(SIGNATURE));
        assert_ne!(a, b);
        assert_ne!(a, c);
        assert_eq!(a, avatar_png([0, 120, 212], "AV"));
        assert_eq!(
            avatar_png([0, 120, 212], "Éa"),
            avatar_png([0, 120, 212], "EA")
        );
        assert_ne!(avatar_png([0, 120, 212], ""), a);
    }

    #[test]
    fn pictures_are_deterministic_pngs() {
        for seed in 0..4 {
            let p = picture_png(seed, 320, 180);
            assert!(p.starts_with(SIGNATURE));
            assert_eq!(p, picture_png(seed, 320, 180));
        }
        assert_ne!(picture_png(0, 320, 180), picture_png(2, 320, 180));
        assert!(picture_png(1, 0, 0).starts_with(SIGNATURE));
        for w in 1..12 {
            for h in 1..12 {
                assert!(picture_png(u64::from(w * h), w, h).starts_with(SIGNATURE));
                assert!(picture_png(u64::from(w * h) + 1, w, h).starts_with(SIGNATURE));
            }
        }
    }

    fn size_of(bytes: &[u8]) -> (u32, u32) {
        let reader = png::Decoder::new(bytes).read_info().expect("decodes");
        (reader.info().width, reader.info().height)
    }

    #[test]
    fn images_decode_with_the_asked_size() {
        assert_eq!(size_of(&avatar_png([10, 20, 30], "PW")), (96, 96));
        assert_eq!(size_of(&picture_png(3, 320, 180)), (320, 180));
        assert_eq!(size_of(&picture_png(4, 200, 100)), (200, 100));
        assert_eq!(size_of(&picture_png(5, 99_999, 1)), (2048, 1));
    }

    #[test]
    fn initials_take_first_and_last_word() {
        assert_eq!(initials("Adele Vance"), "AV");
        assert_eq!(initials("Mary Ann O'Brien"), "MO");
        assert_eq!(initials("Cher"), "C");
    }
}
