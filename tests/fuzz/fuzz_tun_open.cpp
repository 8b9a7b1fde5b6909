// The tun channel-open payload as the privileged side sees it. libssh (with
// our patch) parses the peer's type-specific bytes into mode and unit in the
// unprivileged child; the child forwards them to the root monitor as a
// TunOpen message, and the monitor must assume a compromised child wrote
// those bytes. So: the input is a byte stream on the monitor's socket
// (recv_message framing, any number of messages), and every TunOpen in it
// goes through the monitor's own checks (server/tunnel_policy decide_tunnel) under a PermitTunnel
// and key options taken from the input's first bytes. Besides not crashing,
// the decision must keep its promises: nothing but ethernet/point-to-point
// within PermitTunnel, never with "restrict", and tunnel="n" pins the unit.
//
// Every input is also read as the peer's own type-specific bytes (mode,
// unit, trailing bytes) by tunnel/tun_open.hpp, the check the child makes:
// its result must match the bytes, and the monitor's decision with
// everything permitted must agree with it (same verdict, same debug line).
#include <sys/socket.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <exception>
#include <span>
#include <string>

#include "config/key_options.hpp"
#include "server/privsep_wire.hpp"
#include "server/tunnel_policy.hpp"
#include "base/fd.hpp"
#include "tunnel/tun_open.hpp"
#include "tunnel/wire.hpp"

namespace {

using feth::config::KeyOptions;
namespace privsep = feth::server::privsep;

void check(bool ok)
{
    if (!ok) __builtin_trap();
}

void decide(unsigned permit, const KeyOptions& key, privsep::Message& m)
{
    const std::uint32_t mode = m.get_u32();
    const std::uint32_t unit = m.get_u32();
    m.expect_end();
    const auto d = feth::server::decide_tunnel({mode, unit}, permit, &key, 0);
    if (!d.allowed) {
        check(!d.debug_line.empty() && !d.reason.empty());
        return;
    }
    check(mode == 1 || mode == 2);
    check((permit & mode) != 0);
    check(!key.restricted);
    check(d.unit == feth::kTunUnitAny || d.unit <= feth::kTunUnitMax);
    if (key.tunnel) {
        check(d.unit == *key.tunnel);
        check(unit == feth::kTunUnitAny || unit == *key.tunnel);
    } else {
        check(d.unit == unit);
    }
}

void parse(const std::uint8_t* data, std::size_t size)
{
    const auto r = feth::parse_tun_open(std::span<const std::uint8_t>(data, size));
    check(feth::tun_open_error_name(r.error) != nullptr);
    if (size < 8) {
        check(r.error == feth::TunOpenError::Truncated);
        return;
    }
    const std::uint32_t mode = feth::wire::load_be32(data);
    const std::uint32_t unit = feth::wire::load_be32(data + 4);
    const auto d = feth::server::decide_tunnel({mode, unit}, 3, nullptr, 0);
    if (r.ok()) {
        check(static_cast<std::uint32_t>(r.mode) == mode && r.unit == unit);
        check(unit == feth::kTunUnitAny || unit <= feth::kTunUnitMax);
        check(d.allowed && d.unit == unit);
    } else {
        check(r.error == feth::TunOpenError::UnsupportedMode || r.error == feth::TunOpenError::UnitOutOfRange);
        check(!d.allowed && d.debug_line == feth::tun_open_debug_line(r.error));
    }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    parse(data, size);
    // Policy bytes: PermitTunnel (0-3), "restrict", tunnel= (none, any or a
    // unit, possibly out of range as a file could not say but a bug could).
    if (size < 6) return 0;
    const unsigned permit = data[0] & 3u;
    KeyOptions key;
    key.restricted = (data[1] & 1u) != 0;
    if ((data[1] & 2u) != 0) key.tunnel = feth::wire::load_be32(data + 2);
    data += 6;
    size -= 6;
    if (size > 64 * 1024) return 0;

    // The stream, as the monitor reads it from the child's socket.
    feth::UniqueFd ends[2];
    if (feth::open_socketpair(AF_UNIX, SOCK_STREAM, feth::IoMode::blocking, ends[0], ends[1]) != 0) return 0;
    const int sv[2] = {ends[0].get(), ends[1].get()};
    const int buf = 256 * 1024;
    ::setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &buf, sizeof buf);
    ::setsockopt(sv[1], SOL_SOCKET, SO_RCVBUF, &buf, sizeof buf);
    std::size_t sent = 0;
    while (sent < size) {
        ssize_t n = ::send(sv[0], data + sent, size - sent, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n <= 0) break; // the rest would not fit: fuzz the part that did
        sent += static_cast<std::size_t>(n);
    }
    ::shutdown(sv[0], SHUT_WR);
    try {
        privsep::Message m;
        for (int i = 0; i < 4096 && privsep::recv_message(sv[1], m, "fuzz child"); ++i) {
            check(m.payload().size() <= privsep::kMaxPayload);
            if (m.type() != static_cast<std::uint32_t>(privsep::MsgType::TunOpen)) continue;
            try {
                decide(permit, key, m);
            } catch (const std::exception&) {
                // a malformed TunOpen: the monitor ends the connection
            }
        }
    } catch (const std::exception&) {
        // malformed framing: the monitor ends the connection
    }
    return 0;
}
