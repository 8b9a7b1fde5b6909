// The message format between a connection's privileged monitor and its
// unprivileged child (see docs/security.md). Both ends trust nothing about
// the other's bytes beyond this format: every message is
//
//   uint32 type      (big-endian; one of MsgType)
//   uint32 length    (of the payload that follows, at most kMaxPayload)
//   payload          (fields: uint32 big-endian, or string = uint32 length
//                     then bytes, each bounded by the message)
//
// on a SOCK_STREAM unix socketpair; descriptors travel with SCM_RIGHTS
// attached to the header (at most kMaxFds per message), from the monitor to
// the child only: the monitor reads without a control buffer and treats a
// descriptor (or credentials) as a protocol violation. A reader that sees a
// length, a field or a descriptor count out of bounds treats the peer as
// hostile and ends the connection; the monitor also gives every message a
// deadline, so that half a message cannot hold it.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.hpp"

#include "base/fd.hpp"

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
                             //   string backend ("tap", "pair", "feth", ...), with 1
                             //   or 2 fds (read, write); refused (the hook failed;
                             //   the device is gone): string debug line for the
                             //   peer, string reason. None after the child's TunClose
                             //   of that id.
};

inline constexpr std::size_t kMaxPayload = 32 * 1024;
inline constexpr std::size_t kMaxUserName = 256;
inline constexpr std::size_t kMaxKeyBlob = 16 * 1024;
inline constexpr std::size_t kMaxSignature = 16 * 1024;
inline constexpr std::size_t kMaxName = 64;     // algorithm, service, method
inline constexpr std::size_t kMaxHashLen = 64;  // SHA-512
inline constexpr std::size_t kMaxText = 1024;
inline constexpr std::size_t kMaxBackendName = 16;
inline constexpr std::size_t kMaxFds = 2;
inline constexpr std::size_t kTunStatsCounters = 7;

const char* msg_type_name(std::uint32_t type);

class Message {
public:
    Message() = default;
    explicit Message(MsgType type) : type_(static_cast<std::uint32_t>(type)) {}

    std::uint32_t type() const { return type_; }
    void set_type(std::uint32_t t) { type_ = t; }

    // Writing.
    void put_u32(std::uint32_t v);
    void put_u64(std::uint64_t v);
    void put_string(std::string_view s);
    void add_fd(int fd) { send_fds_.push_back(fd); } // borrowed: the caller keeps it

    // Reading: each throws InputError("monitor message: ...") on a field out
    // of bounds; `max` bounds a string.
    std::uint32_t get_u32();
    std::uint64_t get_u64();
    std::string get_string(std::size_t max);
    // Throws unless every payload byte was consumed.
    void expect_end() const;

    const std::vector<std::uint8_t>& payload() const { return payload_; }
    std::vector<std::uint8_t>& payload() { return payload_; }
    const std::vector<int>& send_fds() const { return send_fds_; }
    std::vector<UniqueFd>& fds() { return fds_; }

private:
    std::uint32_t type_ = 0;
    std::vector<std::uint8_t> payload_;
    std::size_t pos_ = 0;
    std::vector<int> send_fds_;
    std::vector<UniqueFd> fds_; // received
};

// Sends one message (blocking; the socket may carry SO_SNDTIMEO). Throws
// SystemError naming `peer` on failure.
void send_message(int sock, const Message& msg, const char* peer);

// A message that did not arrive whole before its deadline.
class MessageTimeout : public InputError {
public:
    using InputError::InputError;
};

struct RecvOptions {
    // false (the monitor): no control buffer; a descriptor or credentials
    // sent along (MSG_CTRUNC) make the message malformed.
    bool descriptors = true;
    // When set, the whole message must have arrived by then (MessageTimeout).
    std::optional<std::chrono::steady_clock::time_point> deadline;
};

// Receives one message; returns false on a clean EOF before any byte.
// Throws InputError for a malformed message (MessageTimeout past the
// deadline), SystemError on I/O errors.
bool recv_message(int sock, Message& msg, const char* peer, const RecvOptions& options = {});

// Asks the kernel to refuse descriptors sent to `sock` (SO_PASSRIGHTS off:
// the sender's sendmsg fails with EPERM, and no reference to the sender's
// file ever reaches this process). Linux 6.16 and later; returns false
// where the kernel has no such option, and then the reader's own check
// (RecvOptions::descriptors) is all there is.
bool refuse_descriptors_in_kernel(int sock);

} // namespace feth::server::privsep
