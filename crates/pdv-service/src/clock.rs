//! Time as a dependency: the service asks a `Clock`, so tests can fix the date.

use std::sync::Mutex;

pub trait Clock: Send + Sync + std::fmt::Debug {
    fn now(&self) -> jiff::Timestamp;
}

#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> jiff::Timestamp {
        jiff::Timestamp::now()
    }
}

/// A clock that stays where it is set; for tests and reproducible demos.
#[derive(Debug)]
pub struct FixedClock(Mutex<jiff::Timestamp>);

impl FixedClock {
    pub fn new(at: jiff::Timestamp) -> FixedClock {
        FixedClock(Mutex::new(at))
    }

    pub fn set(&self, at: jiff::Timestamp) {
        *self.0.lock().unwrap_or_else(|e| e.into_inner()) = at;
    }
}

impl Clock for FixedClock {
    fn now(&self) -> jiff::Timestamp {
        *self.0.lock().unwrap_or_else(|e| e.into_inner())
    }
}
