//! How much of a member's stream to ask the kernel for at once.
//!
//! A large response arrives as a run of full AJP packets (8 KiB by default) that Tomcat
//! writes one after another. Reading one packet's worth per `recv` costs a system call per
//! packet: thirteen for a 100 KiB file. When a read fills all the room it was given, more is
//! very likely waiting, so the next read gets twice the room (up to [`MAX_READ`]); after
//! reads that come back well short of their room the size falls back towards one packet, so
//! a pooled connection that served one download does not keep a large buffer for the small
//! pages after it. This is hyper's adaptive read strategy applied to AJP.

/// The largest read: eight default packets, or one packet of the largest AJP size.
pub(crate) const MAX_READ: usize = 64 * 1024;

/// The room the next read of one connection gets.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ReadSize {
    next: usize,
    floor: usize,
    /// Reads in a row that used less than half of their room.
    short_reads: u8,
}

impl ReadSize {
    /// Starts at one packet of `packet_size` bytes, the least a read may have room for.
    pub(crate) fn new(packet_size: usize) -> Self {
        ReadSize {
            next: packet_size,
            floor: packet_size,
            short_reads: 0,
        }
    }

    /// The room to reserve before the next read.
    pub(crate) fn next(&self) -> usize {
        self.next
    }

    /// Records that a read given `room` bytes returned `got`.
    pub(crate) fn record(&mut self, got: usize, room: usize) {
        if got >= room {
            self.next = (self.next * 2).min(MAX_READ.max(self.floor));
            self.short_reads = 0;
        } else if got < room / 2 && self.next > self.floor {
            // One short read may be the last packet of a long body; two in a row are a
            // different kind of traffic.
            self.short_reads += 1;
            if self.short_reads >= 2 {
                self.next = (self.next / 2).max(self.floor);
                self.short_reads = 0;
            }
        } else {
            self.short_reads = 0;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn full_reads_double_the_room_up_to_the_limit() {
        let mut size = ReadSize::new(8192);
        let mut seen = vec![size.next()];
        for _ in 0..5 {
            let room = size.next();
            size.record(room, room);
            seen.push(size.next());
        }
        assert_eq!(seen, [8192, 16384, 32768, 65536, 65536, 65536]);
    }

    #[test]
    fn two_short_reads_in_a_row_halve_the_room_down_to_one_packet() {
        let mut size = ReadSize::new(8192);
        for _ in 0..3 {
            let room = size.next();
            size.record(room, room);
        }
        assert_eq!(size.next(), 65536);
        size.record(100, 65536);
        assert_eq!(size.next(), 65536, "one short read is a body's last packet");
        size.record(100, 65536);
        assert_eq!(size.next(), 32768);
        for _ in 0..10 {
            let room = size.next();
            size.record(100, room);
        }
        assert_eq!(size.next(), 8192);
    }

    #[test]
    fn a_read_between_half_and_full_keeps_the_room() {
        let mut size = ReadSize::new(8192);
        size.record(8192, 8192);
        size.record(100, 16384);
        size.record(12000, 16384);
        size.record(100, 16384);
        assert_eq!(size.next(), 16384, "the short reads were not in a row");
    }

    #[test]
    fn a_packet_larger_than_the_limit_is_still_one_read() {
        let mut size = ReadSize::new(65536);
        size.record(65536, 65536);
        assert_eq!(size.next(), 65536);
    }
}
