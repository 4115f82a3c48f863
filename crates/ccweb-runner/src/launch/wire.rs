//! The launcher's wire format: one JSON document per `SOCK_SEQPACKET`
//! message, with the descriptors it needs (`SCM_RIGHTS`) in the same
//! message. Message boundaries come from the socket type, so a reader
//! never sees half a request or two requests glued together.

use nix::sys::socket::{
    recvmsg, sendmsg, socketpair, AddressFamily, ControlMessage, ControlMessageOwned, MsgFlags,
    SockFlag, SockType,
};
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::io::{self, IoSlice, IoSliceMut};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

/// Largest request (a spawn request with its environment and arguments).
pub(crate) const MAX_REQUEST: usize = 1024 * 1024;
/// Largest message on a request's channel (reports and signals are small).
pub(crate) const MAX_REPORT: usize = 64 * 1024;
/// Most descriptors one message carries.
const MAX_FDS: usize = 8;

/// A connected pair of close-on-exec `SOCK_SEQPACKET` sockets.
pub(crate) fn pair() -> io::Result<(OwnedFd, OwnedFd)> {
    Ok(socketpair(
        AddressFamily::Unix,
        SockType::SeqPacket,
        None,
        SockFlag::SOCK_CLOEXEC,
    )?)
}

/// Sends `message` with `fds` (which the receiver gets copies of).
pub(crate) fn send<T: Serialize>(
    socket: &impl AsRawFd,
    message: &T,
    fds: &[RawFd],
) -> io::Result<()> {
    let bytes = serde_json::to_vec(message).map_err(io::Error::other)?;
    let iov = [IoSlice::new(&bytes)];
    let rights = [ControlMessage::ScmRights(fds)];
    let cmsgs: &[ControlMessage<'_>] = if fds.is_empty() { &[] } else { &rights };
    loop {
        match sendmsg::<()>(
            socket.as_raw_fd(),
            &iov,
            cmsgs,
            MsgFlags::MSG_NOSIGNAL,
            None,
        ) {
            Ok(_) => return Ok(()),
            Err(nix::errno::Errno::EINTR) => continue,
            Err(e) => return Err(e.into()),
        }
    }
}

/// Receives one message of at most `max` bytes and the descriptors that
/// came with it (close-on-exec). `Ok(None)`: the other end closed. A
/// message that is too large or not what was expected is an
/// `InvalidData` error (its descriptors are closed).
pub(crate) fn recv<T: DeserializeOwned>(
    socket: &impl AsRawFd,
    max: usize,
) -> io::Result<Option<(T, Vec<OwnedFd>)>> {
    let mut buf = vec![0u8; max];
    let mut space = nix::cmsg_space!([RawFd; MAX_FDS]);
    let (len, fds, truncated) = loop {
        let mut iov = [IoSliceMut::new(&mut buf)];
        match recvmsg::<()>(
            socket.as_raw_fd(),
            &mut iov,
            Some(&mut space),
            MsgFlags::MSG_CMSG_CLOEXEC,
        ) {
            Ok(msg) => {
                let mut fds = Vec::new();
                for cmsg in msg.cmsgs()? {
                    if let ControlMessageOwned::ScmRights(received) = cmsg {
                        // Safety: the kernel just installed these descriptors
                        // in this process for this message; nothing else owns them.
                        #[allow(unsafe_code)]
                        fds.extend(
                            received
                                .into_iter()
                                .map(|fd| unsafe { OwnedFd::from_raw_fd(fd) }),
                        );
                    }
                }
                let truncated = msg
                    .flags
                    .intersects(MsgFlags::MSG_TRUNC | MsgFlags::MSG_CTRUNC);
                break (msg.bytes, fds, truncated);
            }
            Err(nix::errno::Errno::EINTR) => continue,
            Err(e) => return Err(e.into()),
        }
    };
    if len == 0 && fds.is_empty() {
        return Ok(None);
    }
    if truncated {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            "message too large",
        ));
    }
    let message = serde_json::from_slice(&buf[..len])
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
    Ok(Some((message, fds)))
}
