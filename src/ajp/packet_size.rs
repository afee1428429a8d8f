//! The negotiated packet size P and the limits derived from it (spec §1.2).

use std::fmt;

/// Length of the packet header: two magic bytes and a u16 payload length.
pub const HEADER_LEN: usize = 4;

/// The AJP packet size P (Tomcat `packetSize`, mod_jk `max_packet_size`), validated to
/// lie in `8192..=65536`. Both ends must use the same value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PacketSize(u32);

/// A packet size outside `8192..=65536`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("AJP packet size {0} is outside the supported range 8192..=65536")]
pub struct InvalidPacketSize(pub u64);

impl PacketSize {
    /// The smallest (and default) packet size, 8192.
    pub const MIN: PacketSize = PacketSize(8192);
    /// The largest packet size, 65536.
    pub const MAX: PacketSize = PacketSize(65536);
    /// The default packet size of Tomcat and mod_jk, 8192.
    pub const DEFAULT: PacketSize = Self::MIN;

    /// Validates a packet size.
    pub const fn new(size: u32) -> Result<Self, InvalidPacketSize> {
        if size >= Self::MIN.0 && size <= Self::MAX.0 {
            Ok(PacketSize(size))
        } else {
            Err(InvalidPacketSize(size as u64))
        }
    }

    /// P in bytes.
    pub const fn get(self) -> usize {
        self.0 as usize
    }

    /// Largest payload (bytes after the 4-byte header) of any packet: P − 4. The
    /// decoders of both directions reject a declared length above this before reading
    /// the payload.
    pub const fn max_payload(self) -> usize {
        self.get() - HEADER_LEN
    }

    /// Largest data size of one request-body packet: P − 6 (8186 for P = 8192).
    pub const fn max_request_body_data(self) -> usize {
        self.get() - 6
    }

    /// Largest data size of one SEND_BODY_CHUNK with its trailing NUL: P − 8.
    pub const fn max_response_body_data(self) -> usize {
        self.get() - 8
    }

    /// The `requested_length` Tomcat puts into GET_BODY_CHUNK: P − 6 (fits a u16).
    pub const fn get_body_chunk_len(self) -> u16 {
        // P ≤ 65536, so P − 6 ≤ 65530 fits a u16.
        (self.0 - 6) as u16
    }
}

impl Default for PacketSize {
    fn default() -> Self {
        Self::DEFAULT
    }
}

impl TryFrom<u32> for PacketSize {
    type Error = InvalidPacketSize;
    fn try_from(size: u32) -> Result<Self, Self::Error> {
        PacketSize::new(size)
    }
}

impl TryFrom<usize> for PacketSize {
    type Error = InvalidPacketSize;
    fn try_from(size: usize) -> Result<Self, Self::Error> {
        let size64 = u64::try_from(size).unwrap_or(u64::MAX);
        u32::try_from(size)
            .map_err(|_| InvalidPacketSize(size64))
            .and_then(PacketSize::new)
    }
}

impl fmt::Display for PacketSize {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_match_the_spec_table() {
        let default = PacketSize::DEFAULT;
        assert_eq!(default.max_payload(), 8188);
        assert_eq!(default.max_request_body_data(), 8186);
        assert_eq!(default.max_response_body_data(), 8184);
        assert_eq!(default.get_body_chunk_len(), 0x1FFA);
        let p16000 = PacketSize::new(16000).expect("valid");
        assert_eq!(p16000.get_body_chunk_len(), 0x3E7A);
        assert_eq!(PacketSize::MAX.get_body_chunk_len(), 0xFFFA);
        assert_eq!(PacketSize::MAX.max_payload(), 65532);
    }

    #[test]
    fn out_of_range_sizes_are_refused() {
        assert_eq!(PacketSize::new(8191), Err(InvalidPacketSize(8191)));
        assert_eq!(PacketSize::new(65537), Err(InvalidPacketSize(65537)));
        assert!(PacketSize::try_from(usize::MAX).is_err());
        assert!(PacketSize::try_from(65536usize).is_ok());
    }
}
