// Builds bpf read buffers as xnu lays them out, for the tests of the bpf
// record walker and of everything that reads through it.
#pragma once

#include <cstdint>
#include <cstring>
#include <limits>
#include <vector>

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

} // namespace feth::test
