//! A WebSocket client that offers permessage-deflate (RFC 7692) the way
//! Chromium does, so the bench sees what a browser's server sees.
//! tokio-tungstenite cannot negotiate the extension, hence this client:
//! a hand-made HTTP/1.1 upgrade, then frames read from a buffered socket
//! and inflated when the server compressed them. It only sends
//! uncompressed (RSV1 = 0), which RFC 7692 allows.

use anyhow::{anyhow, bail, ensure, Context, Result};
use bytes::{Buf, Bytes, BytesMut};
use flate2::{Decompress, FlushDecompress, Status};
use std::fmt;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::handshake::{client::generate_key, derive_accept_key};

use crate::term::SILENCE;

/// What Chromium offers.
const OFFER: &str = "permessage-deflate; client_max_window_bits";
/// Read buffer: large reads, so the client is not the bottleneck.
const READ_BUF: usize = 256 * 1024;
/// Longest response head the client accepts.
const MAX_HEAD: usize = 64 * 1024;
/// Largest message (compressed or not) the client accepts: far above any
/// terminal frame, and a bound should a server misbehave.
const MAX_MESSAGE: usize = 64 * 1024 * 1024;
/// Appended to every compressed message before inflating (RFC 7692 7.2.2).
const TAIL: [u8; 4] = [0x00, 0x00, 0xff, 0xff];

const OP_CONT: u8 = 0x0;
const OP_TEXT: u8 = 0x1;
const OP_BINARY: u8 = 0x2;
const OP_CLOSE: u8 = 0x8;
const OP_PING: u8 = 0x9;
const OP_PONG: u8 = 0xA;

/// The permessage-deflate parameters the server answered with.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Negotiated {
    /// The server resets its compressor per message: so must the inflater.
    pub(crate) server_no_context_takeover: bool,
    /// Meaningless to a client that never compresses; recorded for the log.
    pub(crate) client_no_context_takeover: bool,
    /// The server's window; a 15-bit inflater reads every smaller one.
    pub(crate) server_max_window_bits: Option<u8>,
    /// The window the client may use (it sends uncompressed anyway).
    pub(crate) client_max_window_bits: Option<u8>,
}

impl fmt::Display for Negotiated {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("permessage-deflate")?;
        if self.server_no_context_takeover {
            f.write_str("; server_no_context_takeover")?;
        }
        if self.client_no_context_takeover {
            f.write_str("; client_no_context_takeover")?;
        }
        if let Some(b) = self.server_max_window_bits {
            write!(f, "; server_max_window_bits={b}")?;
        }
        if let Some(b) = self.client_max_window_bits {
            write!(f, "; client_max_window_bits={b}")?;
        }
        Ok(())
    }
}

/// Parses the server's `Sec-WebSocket-Extensions` (all values, comma
/// separated): `None` when it declined the offer. Anything but one
/// permessage-deflate with known parameters fails the connection (RFC 7692 5).
pub(crate) fn parse_extensions(value: &str) -> Result<Option<Negotiated>> {
    let mut out: Option<Negotiated> = None;
    for ext in value.split(',').map(str::trim).filter(|e| !e.is_empty()) {
        let mut parts = ext.split(';').map(str::trim);
        let name = parts.next().unwrap_or_default();
        ensure!(
            name.eq_ignore_ascii_case("permessage-deflate"),
            "the server answered an extension that was not offered: {ext}"
        );
        ensure!(out.is_none(), "permessage-deflate answered twice: {value}");
        let mut n = Negotiated::default();
        for param in parts.filter(|p| !p.is_empty()) {
            let (key, val) = match param.split_once('=') {
                Some((k, v)) => (k.trim(), Some(v.trim().trim_matches('"'))),
                None => (param, None),
            };
            let bits = |v: Option<&str>| -> Result<u8> {
                let b: u8 = v
                    .ok_or_else(|| anyhow!("{key} without a value"))?
                    .parse()
                    .with_context(|| format!("{key} is not a number"))?;
                ensure!((8..=15).contains(&b), "{key}={b} is out of 8..=15");
                Ok(b)
            };
            match key.to_ascii_lowercase().as_str() {
                "server_no_context_takeover" => n.server_no_context_takeover = true,
                "client_no_context_takeover" => n.client_no_context_takeover = true,
                "server_max_window_bits" => n.server_max_window_bits = Some(bits(val)?),
                // We offered it without a value; the server may name one.
                "client_max_window_bits" => n.client_max_window_bits = Some(bits(val)?),
                _ => bail!("unknown permessage-deflate parameter {param:?}"),
            }
        }
        out = Some(n);
    }
    Ok(out)
}

/// One frame as it came off the wire (server frames are never masked).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Frame {
    pub(crate) fin: bool,
    pub(crate) rsv1: bool,
    pub(crate) opcode: u8,
    pub(crate) payload: Bytes,
}

/// Takes one whole frame off the front of `buf`, or `None` (and reserves
/// room for the rest) when it is not all there yet.
pub(crate) fn parse_frame(buf: &mut BytesMut) -> Result<Option<Frame>> {
    if buf.len() < 2 {
        return Ok(None);
    }
    let (b0, b1) = (buf[0], buf[1]);
    ensure!(b0 & 0x30 == 0, "RSV2/RSV3 set: no extension defines them");
    ensure!(b1 & 0x80 == 0, "a masked frame from the server");
    let (head, len) = match b1 & 0x7f {
        126 if buf.len() < 4 => return Ok(None),
        126 => (4, u64::from(u16::from_be_bytes([buf[2], buf[3]]))),
        127 if buf.len() < 10 => return Ok(None),
        127 => {
            let mut l = [0u8; 8];
            l.copy_from_slice(&buf[2..10]);
            (10, u64::from_be_bytes(l))
        }
        l => (2, u64::from(l)),
    };
    ensure!(
        len <= MAX_MESSAGE as u64,
        "a {len}-byte frame is over the limit"
    );
    let total = head + len as usize;
    if buf.len() < total {
        // One read can then take the whole frame.
        buf.reserve(total - buf.len());
        return Ok(None);
    }
    buf.advance(head);
    Ok(Some(Frame {
        fin: b0 & 0x80 != 0,
        rsv1: b0 & 0x40 != 0,
        opcode: b0 & 0x0f,
        payload: buf.split_to(len as usize).freeze(),
    }))
}

/// A client frame: FIN set, masked with `mask`, never compressed.
pub(crate) fn encode_frame(opcode: u8, payload: &[u8], mask: [u8; 4]) -> Vec<u8> {
    let mut out = Vec::with_capacity(payload.len() + 14);
    out.push(0x80 | opcode);
    match payload.len() {
        n if n < 126 => out.push(0x80 | n as u8),
        n if n <= usize::from(u16::MAX) => {
            out.push(0x80 | 126);
            out.extend_from_slice(&(n as u16).to_be_bytes());
        }
        n => {
            out.push(0x80 | 127);
            out.extend_from_slice(&(n as u64).to_be_bytes());
        }
    }
    out.extend_from_slice(&mask);
    out.extend(payload.iter().enumerate().map(|(i, b)| b ^ mask[i % 4]));
    out
}

/// The raw-deflate decompressor of one connection.
struct Inflater {
    d: Decompress,
    /// `server_no_context_takeover`: every message starts a fresh window.
    reset_each: bool,
}

impl Inflater {
    fn new(n: &Negotiated) -> Self {
        Self {
            // Raw deflate, 15-bit window: reads any server_max_window_bits.
            d: Decompress::new(false),
            reset_each: n.server_no_context_takeover,
        }
    }

    /// Inflates one whole message (its payload, tail not yet appended).
    fn inflate(&mut self, payload: &[u8]) -> Result<Bytes> {
        let mut out = Vec::with_capacity((payload.len() * 4).clamp(4096, MAX_MESSAGE));
        for input in [payload, &TAIL[..]] {
            let mut pos = 0;
            loop {
                if out.capacity() - out.len() < 4096 {
                    out.reserve(out.len().max(16 * 1024));
                }
                let (in0, out0) = (self.d.total_in(), out.len());
                let room = out.capacity() - out.len();
                let status = self
                    .d
                    .decompress_vec(&input[pos..], &mut out, FlushDecompress::Sync)
                    .context("inflating a message")?;
                pos += (self.d.total_in() - in0) as usize;
                let produced = out.len() - out0;
                ensure!(
                    out.len() <= MAX_MESSAGE,
                    "a message inflates past the limit"
                );
                // Done with this input once it is consumed and the output
                // had room to spare (nothing left inside the inflater).
                if (pos == input.len() && produced < room) || status == Status::StreamEnd {
                    break;
                }
                ensure!(
                    produced > 0 || self.d.total_in() > in0,
                    "the inflater made no progress"
                );
            }
        }
        if self.reset_each {
            self.d.reset(false);
        }
        Ok(out.into())
    }
}

/// What the frames of the socket amount to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Event {
    /// A whole data message, inflated if it was compressed.
    Message {
        text: bool,
        data: Bytes,
    },
    Ping(Bytes),
    Pong,
    /// The server's close frame (its payload).
    Close(Bytes),
}

/// What came over the wire, to show whether the server compressed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct WireStats {
    /// Data messages received.
    pub(crate) messages: u64,
    /// Of which compressed (RSV1).
    pub(crate) compressed: u64,
    /// Payload bytes of the data frames, as sent.
    pub(crate) wire_bytes: u64,
    /// Payload bytes of the data messages, inflated.
    pub(crate) data_bytes: u64,
}

/// A message whose later fragments are still to come.
struct Partial {
    text: bool,
    compressed: bool,
    data: BytesMut,
}

/// Turns received bytes into [`Event`]s: frames, fragments, inflation.
/// No I/O, so the tests feed it bytes directly.
pub(crate) struct Decoder {
    /// Received bytes not yet decoded.
    pub(crate) buf: BytesMut,
    inflater: Option<Inflater>,
    partial: Option<Partial>,
    stats: WireStats,
}

impl Decoder {
    /// A decoder for a connection that negotiated `deflate` (or not).
    pub(crate) fn new(deflate: Option<&Negotiated>) -> Self {
        Self {
            buf: BytesMut::with_capacity(READ_BUF),
            inflater: deflate.map(Inflater::new),
            partial: None,
            stats: WireStats::default(),
        }
    }

    /// The next event from the bytes in `buf`; `None` when more are needed.
    pub(crate) fn next_event(&mut self) -> Result<Option<Event>> {
        while let Some(f) = parse_frame(&mut self.buf)? {
            if let Some(ev) = self.frame(f)? {
                return Ok(Some(ev));
            }
        }
        Ok(None)
    }

    fn frame(&mut self, f: Frame) -> Result<Option<Event>> {
        if f.opcode & 0x8 != 0 {
            // Control frames: whole, small, never compressed; they may
            // arrive between the fragments of a message.
            ensure!(
                f.fin && !f.rsv1 && f.payload.len() <= 125,
                "a malformed control frame"
            );
            return Ok(Some(match f.opcode {
                OP_CLOSE => Event::Close(f.payload),
                OP_PING => Event::Ping(f.payload),
                OP_PONG => Event::Pong,
                op => bail!("unknown control opcode {op:#x}"),
            }));
        }
        let compressed = match (f.opcode, &mut self.partial) {
            (OP_CONT, None) => bail!("a continuation frame without a message"),
            (OP_CONT, Some(p)) => {
                // RSV1 marks only the first frame of a compressed message.
                ensure!(!f.rsv1, "RSV1 on a continuation frame");
                ensure!(
                    p.data.len() + f.payload.len() <= MAX_MESSAGE,
                    "a fragmented message over the limit"
                );
                p.data.extend_from_slice(&f.payload);
                if !f.fin {
                    return Ok(None);
                }
                let Some(p) = self.partial.take() else {
                    unreachable!("matched Some above")
                };
                return self
                    .message(p.text, p.compressed, p.data.freeze())
                    .map(Some);
            }
            (OP_TEXT | OP_BINARY, Some(_)) => bail!("a new message inside a fragmented one"),
            (OP_TEXT | OP_BINARY, None) => f.rsv1,
            (op, _) => bail!("unknown data opcode {op:#x}"),
        };
        let text = f.opcode == OP_TEXT;
        if !f.fin {
            self.partial = Some(Partial {
                text,
                compressed,
                data: BytesMut::from(&f.payload[..]),
            });
            return Ok(None);
        }
        self.message(text, compressed, f.payload).map(Some)
    }

    fn message(&mut self, text: bool, compressed: bool, payload: Bytes) -> Result<Event> {
        self.stats.messages += 1;
        self.stats.compressed += u64::from(compressed);
        self.stats.wire_bytes += payload.len() as u64;
        let data = if compressed {
            self.inflater
                .as_mut()
                .context("RSV1 set, but permessage-deflate was not negotiated")?
                .inflate(&payload)?
        } else {
            payload
        };
        self.stats.data_bytes += data.len() as u64;
        Ok(Event::Message { text, data })
    }
}

/// A message the caller sees.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Msg {
    Binary(Bytes),
    Text(Bytes),
    /// The server closed the socket.
    Close,
}

/// A client socket that offered permessage-deflate.
pub(crate) struct DeflateWs {
    stream: TcpStream,
    decoder: Decoder,
    negotiated: Option<Negotiated>,
    /// xorshift state for the masks: RFC 6455 wants them unpredictable to
    /// proxies; a bench on loopback only needs them to vary.
    mask_state: u32,
    close_sent: bool,
}

impl DeflateWs {
    /// Connects to `ws://addr{path}`, offering permessage-deflate, with
    /// `extra` request headers (authorization, subprotocol).
    pub(crate) async fn connect(addr: &str, path: &str, extra: &[(&str, &str)]) -> Result<Self> {
        tokio::time::timeout(SILENCE, Self::handshake(addr, path, extra))
            .await
            .with_context(|| format!("WebSocket handshake with {addr} took over {SILENCE:?}"))?
    }

    async fn handshake(addr: &str, path: &str, extra: &[(&str, &str)]) -> Result<Self> {
        let mut stream = TcpStream::connect(addr)
            .await
            .with_context(|| format!("connecting to {addr}"))?;
        // Keys are typed one at a time in the echo workload.
        stream.set_nodelay(true)?;
        let key = generate_key();
        let mut req = format!(
            "GET {path} HTTP/1.1\r\nHost: {addr}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Extensions: {OFFER}\r\n"
        );
        for (name, value) in extra {
            req.push_str(&format!("{name}: {value}\r\n"));
        }
        req.push_str("\r\n");
        stream.write_all(req.as_bytes()).await?;

        let mut buf = BytesMut::with_capacity(READ_BUF);
        let head_len = loop {
            if let Some(i) = memchr::memmem::find(&buf, b"\r\n\r\n") {
                break i + 4;
            }
            ensure!(
                buf.len() < MAX_HEAD,
                "the response head is over {MAX_HEAD} bytes"
            );
            if stream.read_buf(&mut buf).await? == 0 {
                bail!("the server closed the connection during the handshake");
            }
        };
        let head = buf.split_to(head_len);
        let negotiated = check_response(&String::from_utf8_lossy(&head), &key)?;
        let mut decoder = Decoder::new(negotiated.as_ref());
        // Frames that came with the head.
        decoder.buf.extend_from_slice(&buf);
        let seed = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(1, |d| d.subsec_nanos());
        Ok(Self {
            stream,
            decoder,
            negotiated,
            mask_state: seed | 1,
            close_sent: false,
        })
    }

    /// The extension's parameters, if the server accepted the offer.
    pub(crate) fn negotiated(&self) -> Option<&Negotiated> {
        self.negotiated.as_ref()
    }

    /// What came over the wire so far.
    pub(crate) fn stats(&self) -> WireStats {
        self.decoder.stats
    }

    fn mask(&mut self) -> [u8; 4] {
        let mut x = self.mask_state;
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        self.mask_state = x;
        x.to_ne_bytes()
    }

    async fn send_frame(&mut self, opcode: u8, payload: &[u8]) -> Result<()> {
        let frame = encode_frame(opcode, payload, self.mask());
        tokio::time::timeout(SILENCE, self.stream.write_all(&frame))
            .await
            .with_context(|| format!("the server did not read for {SILENCE:?}"))??;
        Ok(())
    }

    /// Sends one binary message, uncompressed.
    pub(crate) async fn send_binary(&mut self, data: &[u8]) -> Result<()> {
        self.send_frame(OP_BINARY, data).await
    }

    /// The next message; `None` once the connection ended. Answers pings.
    /// Unbounded in time: the caller bounds it.
    pub(crate) async fn next(&mut self) -> Result<Option<Msg>> {
        loop {
            match self.decoder.next_event()? {
                Some(Event::Message { text: true, data }) => return Ok(Some(Msg::Text(data))),
                Some(Event::Message { text: false, data }) => return Ok(Some(Msg::Binary(data))),
                Some(Event::Ping(p)) => self.send_frame(OP_PONG, &p).await?,
                Some(Event::Pong) => {}
                Some(Event::Close(p)) => {
                    if !self.close_sent {
                        // Echo the status code, as RFC 6455 5.5.1 asks.
                        self.close_sent = true;
                        let code = p.get(..2).unwrap_or_default().to_vec();
                        let _ = self.send_frame(OP_CLOSE, &code).await;
                    }
                    return Ok(Some(Msg::Close));
                }
                None => {
                    if self.decoder.buf.capacity() - self.decoder.buf.len() < READ_BUF / 4 {
                        self.decoder.buf.reserve(READ_BUF);
                    }
                    if self.stream.read_buf(&mut self.decoder.buf).await? == 0 {
                        return Ok(None);
                    }
                }
            }
        }
    }

    /// Sends a close frame (1000, normal); best effort.
    pub(crate) async fn close(&mut self) {
        if !self.close_sent {
            self.close_sent = true;
            let _ = self.send_frame(OP_CLOSE, &1000u16.to_be_bytes()).await;
        }
        let _ = tokio::time::timeout(SILENCE, self.stream.shutdown()).await;
    }
}

/// Checks a 101 response head; the negotiated extension, if any.
fn check_response(head: &str, key: &str) -> Result<Option<Negotiated>> {
    let mut lines = head.split("\r\n");
    let status = lines.next().unwrap_or_default();
    ensure!(
        status.split_whitespace().nth(1) == Some("101"),
        "the server did not switch protocols: {status}"
    );
    let (mut upgrade, mut connection, mut accept, mut extensions) =
        (false, false, None, Vec::new());
    for line in lines.filter(|l| !l.is_empty()) {
        let Some((name, value)) = line.split_once(':') else {
            bail!("a malformed header line: {line:?}");
        };
        let value = value.trim();
        match name.trim().to_ascii_lowercase().as_str() {
            "upgrade" => upgrade = value.eq_ignore_ascii_case("websocket"),
            "connection" => {
                connection = value
                    .split(',')
                    .any(|t| t.trim().eq_ignore_ascii_case("upgrade"));
            }
            "sec-websocket-accept" => accept = Some(value.to_owned()),
            "sec-websocket-extensions" => extensions.push(value.to_owned()),
            _ => {}
        }
    }
    ensure!(upgrade && connection, "no WebSocket upgrade in: {status}");
    ensure!(
        accept.as_deref() == Some(derive_accept_key(key.as_bytes()).as_str()),
        "a wrong Sec-WebSocket-Accept"
    );
    parse_extensions(&extensions.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;
    use flate2::{Compress, Compression, FlushCompress};

    /// A server frame (unmasked) with the given first-byte bits.
    fn server_frame(fin: bool, rsv1: bool, opcode: u8, payload: &[u8]) -> Vec<u8> {
        let mut out = vec![u8::from(fin) << 7 | u8::from(rsv1) << 6 | opcode];
        match payload.len() {
            n if n < 126 => out.push(n as u8),
            n if n <= 0xffff => {
                out.push(126);
                out.extend_from_slice(&(n as u16).to_be_bytes());
            }
            n => {
                out.push(127);
                out.extend_from_slice(&(n as u64).to_be_bytes());
            }
        }
        out.extend_from_slice(payload);
        out
    }

    /// What a permessage-deflate server sends: sync-flushed raw deflate
    /// without the trailing 00 00 ff ff.
    fn deflate_message(c: &mut Compress, data: &[u8]) -> Vec<u8> {
        let mut out = Vec::with_capacity(data.len() + 64);
        let start = c.total_in();
        loop {
            let pos = (c.total_in() - start) as usize;
            c.compress_vec(&data[pos..], &mut out, FlushCompress::Sync)
                .unwrap();
            if c.total_in() - start == data.len() as u64 && out.len() < out.capacity() {
                break;
            }
            out.reserve(data.len() + 64);
        }
        assert!(out.ends_with(&TAIL));
        out.truncate(out.len() - 4);
        out
    }

    fn events(d: &mut Decoder) -> Vec<Event> {
        std::iter::from_fn(|| d.next_event().unwrap()).collect()
    }

    #[test]
    fn frames_with_7_16_and_64_bit_lengths() {
        let mut d = Decoder::new(None);
        let mid = vec![b'm'; 300];
        let big = vec![b'b'; 70_000];
        for p in [&b"small"[..], &mid, &big] {
            d.buf
                .extend_from_slice(&server_frame(true, false, OP_BINARY, p));
        }
        let ev = events(&mut d);
        assert_eq!(ev.len(), 3);
        for (e, p) in ev.iter().zip([&b"small"[..], &mid, &big]) {
            assert_eq!(
                e,
                &Event::Message {
                    text: false,
                    data: Bytes::copy_from_slice(p)
                }
            );
        }
        assert!(d.buf.is_empty());
    }

    #[test]
    fn a_frame_split_across_reads_waits_for_its_end() {
        let wire = server_frame(true, false, OP_TEXT, &[b'x'; 1000]);
        let mut d = Decoder::new(None);
        for chunk in wire.chunks(7) {
            assert!(d.buf.is_empty() || d.next_event().unwrap().is_none());
            d.buf.extend_from_slice(chunk);
        }
        assert_eq!(
            d.next_event().unwrap(),
            Some(Event::Message {
                text: true,
                data: Bytes::from(vec![b'x'; 1000])
            })
        );
    }

    #[test]
    fn fragments_are_joined_and_pings_may_come_between() {
        let mut d = Decoder::new(None);
        d.buf
            .extend_from_slice(&server_frame(false, false, OP_BINARY, b"ab"));
        d.buf
            .extend_from_slice(&server_frame(true, false, OP_PING, b"p"));
        d.buf
            .extend_from_slice(&server_frame(false, false, OP_CONT, b"cd"));
        d.buf
            .extend_from_slice(&server_frame(true, false, OP_CONT, b"ef"));
        d.buf
            .extend_from_slice(&server_frame(true, false, OP_CLOSE, &[3, 232]));
        assert_eq!(
            events(&mut d),
            vec![
                Event::Ping(Bytes::from_static(b"p")),
                Event::Message {
                    text: false,
                    data: Bytes::from_static(b"abcdef")
                },
                Event::Close(Bytes::from_static(&[3, 232])),
            ]
        );
    }

    #[test]
    fn protocol_errors_are_refused() {
        for wire in [
            server_frame(true, false, OP_CONT, b"x"),
            server_frame(true, true, OP_BINARY, b"x"), // RSV1 without the extension
            vec![0x82, 0x81, 0, 0, 0, 0, b'x'],        // masked
        ] {
            let mut d = Decoder::new(None);
            d.buf.extend_from_slice(&wire);
            assert!(d.next_event().is_err(), "{wire:?}");
        }
    }

    #[test]
    fn inflates_with_context_takeover_across_messages() {
        let mut c = Compress::new(Compression::default(), false);
        let first = b"BENCH-READY\r\n".repeat(50);
        let a = deflate_message(&mut c, &first);
        // The second message refers back into the first one's window.
        let b = deflate_message(&mut c, &first);
        assert!(b.len() < a.len(), "{} vs {}", b.len(), a.len());
        let mut d = Decoder::new(Some(&Negotiated::default()));
        d.buf
            .extend_from_slice(&server_frame(true, true, OP_BINARY, &a));
        // The second one fragmented: RSV1 on the first fragment only.
        let (b1, b2) = b.split_at(b.len() / 2);
        d.buf
            .extend_from_slice(&server_frame(false, true, OP_BINARY, b1));
        d.buf
            .extend_from_slice(&server_frame(true, false, OP_CONT, b2));
        let want = Event::Message {
            text: false,
            data: Bytes::from(first),
        };
        assert_eq!(events(&mut d), vec![want.clone(), want]);
        assert_eq!(
            d.stats,
            WireStats {
                messages: 2,
                compressed: 2,
                wire_bytes: (a.len() + b.len()) as u64,
                data_bytes: 2 * 650,
            }
        );
    }

    #[test]
    fn inflates_large_messages_and_resets_without_context_takeover() {
        let n = Negotiated {
            server_no_context_takeover: true,
            ..Negotiated::default()
        };
        let mut d = Decoder::new(Some(&n));
        let big = b"QUFBQUFB".repeat(200_000); // 1.6 MB from a few KiB
        for _ in 0..2 {
            // A fresh compressor per message, as the server promised.
            let mut c = Compress::new(Compression::default(), false);
            let z = deflate_message(&mut c, &big);
            d.buf
                .extend_from_slice(&server_frame(true, true, OP_TEXT, &z));
        }
        let ev = events(&mut d);
        assert_eq!(ev.len(), 2);
        for e in ev {
            assert_eq!(
                e,
                Event::Message {
                    text: true,
                    data: Bytes::from(big.clone())
                }
            );
        }
    }

    #[test]
    fn client_frames_are_masked() {
        let mask = [1, 2, 3, 4];
        for len in [5usize, 200, 70_000] {
            let payload = vec![b'k'; len];
            let wire = encode_frame(OP_BINARY, &payload, mask);
            assert_eq!(wire[0], 0x82);
            assert_eq!(wire[1] & 0x80, 0x80);
            let head = match wire[1] & 0x7f {
                126 => 4,
                127 => 10,
                _ => 2,
            };
            assert_eq!(&wire[head..head + 4], &mask);
            let unmasked: Vec<u8> = wire[head + 4..]
                .iter()
                .enumerate()
                .map(|(i, b)| b ^ mask[i % 4])
                .collect();
            assert_eq!(unmasked, payload);
        }
    }

    #[test]
    fn extension_answers() {
        assert_eq!(parse_extensions("").unwrap(), None);
        assert_eq!(
            parse_extensions(
                "permessage-deflate; server_no_context_takeover; client_max_window_bits=15"
            )
            .unwrap(),
            Some(Negotiated {
                server_no_context_takeover: true,
                client_max_window_bits: Some(15),
                ..Negotiated::default()
            })
        );
        assert_eq!(
            parse_extensions(
                "permessage-deflate; server_max_window_bits=\"10\"; client_no_context_takeover"
            )
            .unwrap()
            .map(|n| n.to_string()),
            Some(
                "permessage-deflate; client_no_context_takeover; server_max_window_bits=10".into()
            )
        );
        assert!(parse_extensions("x-webkit-deflate-frame").is_err());
        assert!(parse_extensions("permessage-deflate; foo").is_err());
        assert!(parse_extensions("permessage-deflate; server_max_window_bits=20").is_err());
        assert!(parse_extensions("permessage-deflate, permessage-deflate").is_err());
    }

    #[test]
    fn the_101_response_is_checked() {
        let key = "dGhlIHNhbXBsZSBub25jZQ==";
        let ok = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\nSec-WebSocket-Extensions: permessage-deflate\r\n\r\n";
        assert_eq!(
            check_response(ok, key).unwrap(),
            Some(Negotiated::default())
        );
        assert!(check_response(&ok.replace("s3pPL", "xxxxx"), key).is_err());
        assert!(check_response("HTTP/1.1 401 Unauthorized\r\n\r\n", key).is_err());
    }
}
