//! perch-auth against the real emulator, in process on 127.0.0.1:0, with an HTTP client
//! playing the browser.

mod custody_scan;
mod device;
mod flows;
mod negatives;
mod proxy;
mod refresh_errors;
mod support;
