//! Human units for messages: `5.0 s`, `2 min 3 s`, `27.9 KiB`, `190.7 MiB`.

use std::time::Duration;

/// A duration as a person reads it: `0.4 s`, `5.0 s`, `2 min 3 s`, `1 h 5 min`.
pub fn duration(d: Duration) -> String {
    let seconds = d.as_secs();
    if seconds < 60 {
        return format!("{:.1} s", d.as_secs_f64());
    }
    if seconds < 3600 {
        return format!("{} min {} s", seconds / 60, seconds % 60);
    }
    format!("{} h {} min", seconds / 3600, (seconds % 3600) / 60)
}

/// A byte count in binary units: `512 B`, `27.9 KiB`, `190.7 MiB`, `4.0 GiB`.
pub fn bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["KiB", "MiB", "GiB", "TiB", "PiB"];
    if n < 1024 {
        return format!("{n} B");
    }
    let mut value = n as f64 / 1024.0;
    let mut unit = UNITS[0];
    for next in &UNITS[1..] {
        if value < 1024.0 {
            break;
        }
        value /= 1024.0;
        unit = next;
    }
    format!("{value:.1} {unit}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_and_sizes_read_as_people_write_them() {
        assert_eq!(duration(Duration::from_millis(5000)), "5.0 s");
        assert_eq!(duration(Duration::from_millis(430)), "0.4 s");
        assert_eq!(duration(Duration::from_secs(123)), "2 min 3 s");
        assert_eq!(duration(Duration::from_secs(3900)), "1 h 5 min");
        assert!(duration(Duration::MAX).ends_with(" min"));
        assert_eq!(bytes(512), "512 B");
        assert_eq!(bytes(28_556), "27.9 KiB");
        assert_eq!(bytes(200_000_000), "190.7 MiB");
        assert_eq!(bytes(u64::MAX), "16384.0 PiB");
    }
}
