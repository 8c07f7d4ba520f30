//! Generated PNG images for hosted contents and profile photos.
