// The message set between a connection's privileged monitor and its
// unprivileged child (see docs/security.md), in the framing of
// base/framed_messages.hpp: the types, the bounds of their fields, and the
// names used in errors.
#pragma once

#include <cstddef>
#include <cstdint>

#include "base/framed_messages.hpp"

namespace feth::server::privsep {

enum class MsgType : std::uint32_t {
    // child -> monitor, before authentication
    KeyAllowed = 1,    // string user, string public key blob (a query: no signature)
    // 3 was AuthDone ("libssh verified it"): the monitor verifies now.
    PubkeyVerify = 11, // string user, string service, string method,
                       //   string algorithm, string public key blob,
                       //   string host key blob (hostbound method, else empty),
                       //   string signature blob
    // child -> monitor, before and after authentication (re-keys)
    HostKeySign = 13,  // string algorithm, string host public key blob,
                       //   string exchange hash
    // child -> monitor, after authentication
    TunOpen = 5,       // uint32 mode, uint32 unit
    TunClose = 7,      // uint32 tunnel id (no answer)
    TunStats = 9,      // uint32 tunnel id, then kTunStatsCounters uint64 (big-endian):
                       //   frames out, bytes out, frames in, bytes in, dropped,
                       //   device busy, dropped above the MTU (no answer; 10 stays unused). At most one
                       //   per tunnel per second from an honest child.
    // monitor -> child
    KeyAllowedAnswer = 2,    // uint32 MonitorClient::AuthAnswer
    PubkeyVerifyAnswer = 12, // uint32 MonitorClient::AuthAnswer
    HostKeySignAnswer = 14,  // string signature blob
    TunOpenAnswer = 6,       // uint32 ok; ok: uint32 id (the device exists and its
                             //   TunnelUpCommand runs: TunUp follows, later, while
                             //   the monitor keeps serving other requests);
                             // refused: string debug line for the peer, string reason
    TunUp = 15,              // unsolicited, once per TunOpenAnswer ok: uint32 id,
                             //   uint32 ok; ok (the up hook succeeded, or there is
                             //   none): uint32 mode, string ifname, string io name,
                             //   string backend ("tap", "pair", "feth", ...),
                             //   uint32 read buffer size (a bpf descriptor's, else
                             //   0: Device::read_buffer_size), with 1 or 2 fds
                             //   (read, write), configured completely, O_NONBLOCK
                             //   included; refused (the hook failed;
                             //   the device is gone): string debug line for the
                             //   peer, string reason. None after the child's TunClose
                             //   of that id.
};

using framing::kMaxPayload;
inline constexpr std::size_t kMaxUserName = 256;
inline constexpr std::size_t kMaxKeyBlob = 16 * 1024;
inline constexpr std::size_t kMaxSignature = 16 * 1024;
inline constexpr std::size_t kMaxName = 64;     // algorithm, service, method
inline constexpr std::size_t kMaxHashLen = 64;  // SHA-512
using framing::kMaxText;
using framing::kMaxBackendName;
using framing::kMaxFds;
inline constexpr std::size_t kTunStatsCounters = 7;

const char* msg_type_name(std::uint32_t type);

using framing::Message;
using framing::MessageTimeout;
using framing::recv_message;
using framing::RecvOptions;
using framing::refuse_descriptors_in_kernel;

// framing::send_message, its errors naming this set's types.
inline void send_message(int sock, const Message& msg, const char* peer)
{
    framing::send_message(sock, msg, peer, msg_type_name);
}

} // namespace feth::server::privsep
