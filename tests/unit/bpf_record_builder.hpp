// Builds bpf read buffers as xnu lays them out, for the tests of the bpf
// record walker and of everything that reads through it; and a descriptor
// that hands them over as bpf does, one whole buffer per read().
#pragma once

#include <sys/socket.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <limits>
#include <optional>
#include <utility>
#include <vector>

#include "base/error.hpp"
#include "base/fd.hpp"

namespace feth::test {

using Bytes = std::vector<std::uint8_t>;

// Appends one record as xnu lays it out for 64-bit userland: timeval32,
// caplen, datalen, hdrlen (host order), header padding up to hdrlen, the
// packet, then padding to 4 bytes unless `pad` is false (the last record of
// a read has none).
inline void add_record(Bytes& buf, const Bytes& packet, std::uint16_t hdrlen = 18, bool pad = true,
                       std::uint32_t datalen = std::numeric_limits<std::uint32_t>::max(),
                       std::uint32_t caplen = std::numeric_limits<std::uint32_t>::max())
{
    if (caplen == std::numeric_limits<std::uint32_t>::max()) caplen = static_cast<std::uint32_t>(packet.size());
    if (datalen == std::numeric_limits<std::uint32_t>::max()) datalen = caplen;
    std::uint8_t h[18];
    std::int32_t sec = 1700000000, usec = 12345;
    std::memcpy(h, &sec, 4);
    std::memcpy(h + 4, &usec, 4);
    std::memcpy(h + 8, &caplen, 4);
    std::memcpy(h + 12, &datalen, 4);
    std::memcpy(h + 16, &hdrlen, 2);
    buf.insert(buf.end(), h, h + 18);
    if (hdrlen > 18) buf.insert(buf.end(), hdrlen - 18u, 0xee);
    buf.insert(buf.end(), packet.begin(), packet.end());
    if (pad)
        while (buf.size() % 4 != 0) buf.push_back(0xaa);
}

// A non-blocking AF_UNIX SOCK_SEQPACKET pair: each message sent into the
// second is one read() of the first, whole, like a bpf hold buffer.
// nullopt where the platform has no such socket (macOS's AF_UNIX knows
// only streams and datagrams): the caller reports itself skipped.
inline std::optional<std::pair<UniqueFd, UniqueFd>> hold_buffer_pair()
{
    int sv[2];
    if (::socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv) < 0) {
        if (errno == EPROTONOSUPPORT || errno == EPROTOTYPE || errno == ESOCKTNOSUPPORT) return std::nullopt;
        throw_errno("test descriptor", "socketpair(SOCK_SEQPACKET)");
    }
    std::pair<UniqueFd, UniqueFd> pair{UniqueFd(sv[0]), UniqueFd(sv[1])};
    set_nonblocking_cloexec(pair.first.get(), "test descriptor");
    set_nonblocking_cloexec(pair.second.get(), "test descriptor");
    return pair;
}

} // namespace feth::test
