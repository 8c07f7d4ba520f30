//! perch-html's one integration-test binary: the safety oracle, the hostile corpus, the
//! formatting that must survive, and every body of the emulator's seeded tenant.

mod formatting;
mod hostile;
mod paths;
mod review;
mod safety;
mod seeded;
