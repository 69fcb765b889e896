//! Given: the codecs of chunk files. [`compress`] and [`decompress`] turn a chunk's content
//! into the stored bytes of its file and back, and a [`Compressor`] compresses every chunk of
//! one save. The course keeps this file: the grade builds its own copy, so edit
//! [`crate::format`], not this.

use std::fmt;

use crate::format::{Codec, FormatError};

/// Given: `content` compressed with `codec` (the stored bytes of a chunk file).
pub fn compress(content: &[u8], codec: Codec) -> Result<Vec<u8>, FormatError> {
    match codec {
        Codec::None => Ok(content.to_vec()),
        Codec::Lz4 => Ok(lz4_flex::block::compress(content)),
        Codec::Zstd { level } => zstd_compress(content, level),
    }
}

/// Given: a compressor for one codec that keeps its state from one chunk to the next. A save
/// makes one and compresses every chunk it writes with it: for zstd that is one compression
/// context per save, where [`compress`] makes (and frees) a new one for every chunk.
pub struct Compressor {
    codec: Codec,
    #[cfg(feature = "zstd")]
    zstd: Option<zstd::bulk::Compressor<'static>>,
}

impl fmt::Debug for Compressor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Compressor").field("codec", &self.codec).finish()
    }
}

impl Compressor {
    /// A compressor for `codec`. Zstd without the `zstd` feature is
    /// [`FormatError::CodecUnavailable`].
    pub fn new(codec: Codec) -> Result<Compressor, FormatError> {
        match codec {
            #[cfg(feature = "zstd")]
            Codec::Zstd { level } => {
                let context = zstd::bulk::Compressor::new(level).map_err(|e| FormatError::Decompress(e.to_string()))?;
                Ok(Compressor { codec, zstd: Some(context) })
            }
            #[cfg(not(feature = "zstd"))]
            Codec::Zstd { .. } => Err(FormatError::CodecUnavailable("zstd")),
            _ => Ok(Compressor {
                codec,
                #[cfg(feature = "zstd")]
                zstd: None,
            }),
        }
    }

    /// The codec.
    pub fn codec(&self) -> Codec {
        self.codec
    }

    /// `content` compressed: the same bytes [`compress`] returns for this codec.
    pub fn compress(&mut self, content: &[u8]) -> Result<Vec<u8>, FormatError> {
        #[cfg(feature = "zstd")]
        if let Some(context) = &mut self.zstd {
            return context.compress(content).map_err(|e| FormatError::Decompress(e.to_string()));
        }
        compress(content, self.codec)
    }
}

/// Given: the content of a chunk file's stored bytes, by its codec byte `tag` and its
/// `raw_len` (a result of another length is an error). It checks nothing else: the content
/// must still be checked against the chunk's id.
pub fn decompress(stored: &[u8], tag: u8, raw_len: usize) -> Result<Vec<u8>, FormatError> {
    let content = match tag {
        0 => stored.to_vec(),
        1 => lz4_flex::block::decompress(stored, raw_len).map_err(|e| FormatError::Decompress(e.to_string()))?,
        2 => zstd_decompress(stored, raw_len)?,
        other => return Err(FormatError::UnknownCodec(other)),
    };
    if content.len() != raw_len {
        return Err(FormatError::Decompress(format!("{} bytes, the header says {raw_len}", content.len())));
    }
    Ok(content)
}

#[cfg(feature = "zstd")]
fn zstd_compress(content: &[u8], level: i32) -> Result<Vec<u8>, FormatError> {
    zstd::bulk::compress(content, level).map_err(|e| FormatError::Decompress(e.to_string()))
}

#[cfg(feature = "zstd")]
fn zstd_decompress(stored: &[u8], raw_len: usize) -> Result<Vec<u8>, FormatError> {
    zstd::bulk::decompress(stored, raw_len).map_err(|e| FormatError::Decompress(e.to_string()))
}

#[cfg(not(feature = "zstd"))]
fn zstd_compress(_content: &[u8], _level: i32) -> Result<Vec<u8>, FormatError> {
    Err(FormatError::CodecUnavailable("zstd"))
}

#[cfg(not(feature = "zstd"))]
fn zstd_decompress(_stored: &[u8], _raw_len: usize) -> Result<Vec<u8>, FormatError> {
    Err(FormatError::CodecUnavailable("zstd"))
}
