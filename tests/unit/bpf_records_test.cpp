#include "tunnel/bpf_records.hpp"

#include <cstring>
#include <limits>
#include <vector>

#include "catch.hpp"

using feth::bpf::walk_records;
using Bytes = std::vector<std::uint8_t>;

namespace {

// Appends one record as xnu lays it out for 64-bit userland: timeval32,
// caplen, datalen, hdrlen (host order), header padding up to hdrlen, the
// packet, then padding to 4 bytes unless `pad` is false (the last record of
// a read has none).
void add_record(Bytes& buf, const Bytes& packet, std::uint16_t hdrlen = 18, bool pad = true,
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

Bytes packet(std::size_t size, std::uint8_t first)
{
    Bytes p(size);
    for (std::size_t i = 0; i < size; ++i) p[i] = static_cast<std::uint8_t>(first + i);
    return p;
}

struct Collected {
    std::vector<Bytes> frames;
    feth::bpf::WalkResult result;
};

Collected walk(const Bytes& buf, std::size_t stop_after = 0, std::size_t start = 0)
{
    Collected c;
    c.result = walk_records(
        buf,
        [&](std::span<const std::uint8_t> frame) {
            c.frames.emplace_back(frame.begin(), frame.end());
            return stop_after == 0 || c.frames.size() < stop_after;
        },
        start);
    return c;
}

} // namespace

TEST_CASE("bpf word alignment is 4 bytes", "[bpf]")
{
    CHECK(feth::bpf::word_align(0) == 0);
    CHECK(feth::bpf::word_align(1) == 4);
    CHECK(feth::bpf::word_align(4) == 4);
    CHECK(feth::bpf::word_align(18 + 60) == 80);
    CHECK(feth::bpf::word_align(18 + 61) == 80);
    CHECK(feth::bpf::word_align(18 + 62) == 80);
    CHECK(feth::bpf::word_align(18 + 63) == 84);
}

TEST_CASE("bpf header fields are read in host order at xnu's offsets", "[bpf]")
{
    Bytes buf;
    add_record(buf, packet(60, 1));
    auto h = feth::bpf::parse_header(buf);
    REQUIRE(h);
    CHECK(h->tv_sec == 1700000000);
    CHECK(h->tv_usec == 12345);
    CHECK(h->caplen == 60);
    CHECK(h->datalen == 60);
    CHECK(h->hdrlen == 18);
    CHECK_FALSE(feth::bpf::parse_header(std::span(buf).first(17)));
}

TEST_CASE("bpf walker visits every record", "[bpf]")
{
    SECTION("empty buffer")
    {
        auto c = walk({});
        CHECK(c.frames.empty());
        CHECK_FALSE(c.result.malformed);
        CHECK(c.result.offset == 0);
    }
    SECTION("several records of odd sizes, last one unpadded")
    {
        Bytes buf;
        add_record(buf, packet(60, 0x10));
        add_record(buf, packet(61, 0x20));
        add_record(buf, packet(1514, 0x30));
        add_record(buf, packet(63, 0x40), 18, false);
        REQUIRE(buf.size() % 4 != 0);
        auto c = walk(buf);
        REQUIRE(c.frames.size() == 4);
        CHECK(c.frames[0] == packet(60, 0x10));
        CHECK(c.frames[1] == packet(61, 0x20));
        CHECK(c.frames[2] == packet(1514, 0x30));
        CHECK(c.frames[3] == packet(63, 0x40));
        CHECK(c.result.frames == 4);
        CHECK(c.result.truncated == 0);
        CHECK_FALSE(c.result.malformed);
        CHECK_FALSE(c.result.stopped);
        CHECK(c.result.offset == buf.size());
    }
    SECTION("last record padded")
    {
        Bytes buf;
        add_record(buf, packet(61, 1));
        auto c = walk(buf);
        REQUIRE(c.frames.size() == 1);
        CHECK_FALSE(c.result.malformed);
        CHECK(c.result.offset == buf.size());
    }
    SECTION("a larger hdrlen (extended header) is honoured")
    {
        Bytes buf;
        add_record(buf, packet(60, 1), 20);
        add_record(buf, packet(64, 2), 76);
        auto c = walk(buf);
        REQUIRE(c.frames.size() == 2);
        CHECK(c.frames[0] == packet(60, 1));
        CHECK(c.frames[1] == packet(64, 2));
    }
    SECTION("a zero-length capture is a valid, empty frame")
    {
        Bytes buf;
        add_record(buf, {});
        add_record(buf, packet(14, 9));
        auto c = walk(buf);
        REQUIRE(c.frames.size() == 2);
        CHECK(c.frames[0].empty());
        CHECK(c.frames[1] == packet(14, 9));
    }
}

TEST_CASE("bpf walker drops records whose capture is short", "[bpf]")
{
    Bytes buf;
    add_record(buf, packet(60, 1));
    add_record(buf, packet(100, 2), 18, true, 1514); // caplen 100, datalen 1514
    add_record(buf, packet(62, 3));
    auto c = walk(buf);
    REQUIRE(c.frames.size() == 2);
    CHECK(c.frames[0] == packet(60, 1));
    CHECK(c.frames[1] == packet(62, 3));
    CHECK(c.result.truncated == 1);
    CHECK(c.result.frames == 2);
    CHECK_FALSE(c.result.malformed);
    CHECK(c.result.offset == buf.size());
}

TEST_CASE("bpf walker stops on malformed records without reading past the end", "[bpf]")
{
    Bytes good;
    add_record(good, packet(60, 1));
    const std::size_t first_end = good.size();

    SECTION("trailing bytes shorter than a header")
    {
        Bytes buf = good;
        buf.insert(buf.end(), {1, 2, 3, 4, 5});
        auto c = walk(buf);
        CHECK(c.frames.size() == 1);
        CHECK(c.result.malformed);
        CHECK(c.result.offset == first_end);
    }
    SECTION("hdrlen too small")
    {
        Bytes buf = good;
        add_record(buf, packet(60, 2), 17);
        auto c = walk(buf);
        CHECK(c.frames.size() == 1);
        CHECK(c.result.malformed);
        CHECK(c.result.offset == first_end);
    }
    SECTION("hdrlen zero would loop forever if accepted")
    {
        Bytes buf;
        add_record(buf, {}, 0);
        auto c = walk(buf);
        CHECK(c.frames.empty());
        CHECK(c.result.malformed);
        CHECK(c.result.offset == 0);
    }
    SECTION("hdrlen past the end of the buffer")
    {
        Bytes buf = good;
        add_record(buf, packet(4, 2), 18);
        const std::uint16_t huge = 0xffff;
        std::memcpy(buf.data() + first_end + 16, &huge, 2);
        auto c = walk(buf);
        CHECK(c.frames.size() == 1);
        CHECK(c.result.malformed);
    }
    SECTION("caplen past the end of the buffer")
    {
        Bytes buf = good;
        add_record(buf, packet(60, 2), 18, false);
        buf.resize(buf.size() - 1); // one byte of the packet missing
        auto c = walk(buf);
        CHECK(c.frames.size() == 1);
        CHECK(c.result.malformed);
        CHECK(c.result.offset == first_end);
    }
    SECTION("caplen near 2^32 cannot overflow the bound check")
    {
        Bytes buf = good;
        add_record(buf, packet(8, 2), 18, true, 0xfffffff0u, 0xfffffff0u);
        auto c = walk(buf);
        CHECK(c.frames.size() == 1);
        CHECK(c.result.malformed);
    }
    SECTION("garbage")
    {
        Bytes buf(200);
        for (std::size_t i = 0; i < buf.size(); ++i) buf[i] = static_cast<std::uint8_t>(i * 37 + 11);
        auto c = walk(buf);
        CHECK(c.result.malformed);
        CHECK(c.result.offset <= buf.size());
    }
    SECTION("a start offset beyond the buffer")
    {
        auto c = walk(good, 0, good.size() + 4);
        CHECK(c.result.malformed);
        CHECK(c.frames.empty());
    }
}

TEST_CASE("bpf walker stops when asked and resumes from the offset", "[bpf]")
{
    Bytes buf;
    for (std::uint8_t i = 0; i < 5; ++i) add_record(buf, packet(60u + i, static_cast<std::uint8_t>(i * 16)));
    auto first = walk(buf, 2);
    REQUIRE(first.frames.size() == 2);
    CHECK(first.result.stopped);
    CHECK(first.result.frames == 2);
    CHECK(first.result.offset < buf.size());
    CHECK(first.result.offset % 4 == 0);

    auto rest = walk(buf, 0, first.result.offset);
    REQUIRE(rest.frames.size() == 3);
    CHECK(rest.frames[0] == packet(62, 32));
    CHECK(rest.frames[2] == packet(64, 64));
    CHECK_FALSE(rest.result.stopped);
    CHECK(rest.result.offset == buf.size());
}
