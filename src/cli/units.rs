//! Sizes for the command line's messages: `512 B`, `27.9 KiB`, `190.7 MiB`.

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
    use super::bytes;

    #[test]
    fn sizes_read_as_people_write_them() {
        assert_eq!(bytes(512), "512 B");
        assert_eq!(bytes(28_556), "27.9 KiB");
        assert_eq!(bytes(200_000_000), "190.7 MiB");
        assert_eq!(bytes(u64::MAX), "16384.0 PiB");
        for shift in 0..64 {
            let shown = bytes(1u64 << shift);
            assert!(!shown.is_empty() && shown.len() <= 16, "{shown}");
        }
    }
}
