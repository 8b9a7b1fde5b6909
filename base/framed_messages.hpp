// The message format of both privilege separations: feth-sshd's monitor and
// its unprivileged child (server/privsep_wire.hpp), and feth-ssh's root part
// and its SSH part (client/privsep.cpp). Each keeps its own message set;
// the framing, its bounds and the descriptor rules are these, once. Both
// ends trust nothing about the other's bytes beyond this format: every
// message is
//
//   uint32 type      (big-endian; one of the protocol's message types)
//   uint32 length    (of the payload that follows, at most kMaxPayload)
//   payload          (fields: uint32 big-endian, or string = uint32 length
//                     then bytes, each bounded by the message)
//
// on a SOCK_STREAM unix socketpair; descriptors travel with SCM_RIGHTS
// attached to the header (at most kMaxFds per message), from the privileged
// side to the unprivileged one only: the privileged side reads without a
// control buffer and treats a descriptor (or credentials) as a protocol
// violation. A reader that sees a length, a field or a descriptor count out
// of bounds treats the peer as hostile and ends the connection; the
// privileged side also gives every message a deadline, so that half a
// message cannot hold it.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "base/error.hpp"
#include "base/fd.hpp"

namespace feth::framing {

inline constexpr std::size_t kMaxPayload = 32 * 1024;
inline constexpr std::size_t kMaxFds = 2;
// Bounds of the fields both protocols carry when they hand over a device:
// a name or a reason (kMaxText), and the backend's name ("tap", "feth"...).
inline constexpr std::size_t kMaxText = 1024;
inline constexpr std::size_t kMaxBackendName = 16;

class Message {
public:
    Message() = default;
    explicit Message(std::uint32_t type) : type_(type) {}
    // A protocol's own enum of message types.
    template <typename Type>
        requires std::is_enum_v<Type>
    explicit Message(Type type) : type_(static_cast<std::uint32_t>(type))
    {
    }

    std::uint32_t type() const { return type_; }
    void set_type(std::uint32_t t) { type_ = t; }

    // Writing.
    void put_u32(std::uint32_t v);
    void put_u64(std::uint64_t v);
    void put_string(std::string_view s);
    void add_fd(int fd) { send_fds_.push_back(fd); } // borrowed: the caller keeps it

    // Reading: each throws InputError("message type N: ...") on a field out
    // of bounds (the reader adds the peer); `max` bounds a string.
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
    InputError field_error(const std::string& problem) const;

    std::uint32_t type_ = 0;
    std::vector<std::uint8_t> payload_;
    std::size_t pos_ = 0;
    std::vector<int> send_fds_;
    std::vector<UniqueFd> fds_; // received
};

// The protocol's name for a message type, for errors ("sending TunUp to
// ..."); nullptr for a type it does not know.
using TypeNamer = const char* (*)(std::uint32_t type);

// Sends one message (blocking; the socket may carry SO_SNDTIMEO). Throws
// SystemError naming the message (through `names`) and `peer` on failure.
void send_message(int sock, const Message& msg, const char* peer, TypeNamer names);

// A message that did not arrive whole before its deadline.
class MessageTimeout : public InputError {
public:
    using InputError::InputError;
};

struct RecvOptions {
    // false (the privileged side): no control buffer; a descriptor or
    // credentials sent along (MSG_CTRUNC) make the message malformed.
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

} // namespace feth::framing
