//! Human units for messages: `5.0 s`, `2 min 3 s`.

use std::time::Duration;

/// A duration as a person reads it: `0.4 s`, `5.0 s`, `2 min 3 s`, `1 h 5 min`.
pub(crate) fn duration(d: Duration) -> String {
    let seconds = d.as_secs();
    if seconds < 60 {
        return format!("{:.1} s", d.as_secs_f64());
    }
    if seconds < 3600 {
        return format!("{} min {} s", seconds / 60, seconds % 60);
    }
    format!("{} h {} min", seconds / 3600, (seconds % 3600) / 60)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_as_people_write_them() {
        assert_eq!(duration(Duration::from_millis(5000)), "5.0 s");
        assert_eq!(duration(Duration::from_millis(430)), "0.4 s");
        assert_eq!(duration(Duration::from_secs(123)), "2 min 3 s");
        assert_eq!(duration(Duration::from_secs(3900)), "1 h 5 min");
        assert!(duration(Duration::MAX).ends_with(" min"));
    }
}
