#include "tunnel/bpf_records.hpp"

#include <sys/socket.h>

#include <cerrno>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include "bpf_record_builder.hpp"
#include "catch.hpp"
#include "base/error.hpp"
#include "base/fd.hpp"

using feth::bpf::walk_records;
using feth::test::add_record;
using feth::test::Bytes;

namespace {

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

namespace {

// A descriptor that hands over one whole message per read(), as bpf hands
// over its hold buffer.
struct HoldBuffers {
    HoldBuffers()
    {
        if (auto p = feth::test::hold_buffer_pair()) {
            device = std::move(p->first);
            feed = std::move(p->second);
        }
    }
    bool usable() const { return device.valid(); }
    void deliver(const Bytes& buf)
    {
        REQUIRE(::send(feed.get(), buf.data(), buf.size(), 0) == static_cast<ssize_t>(buf.size()));
    }
    feth::UniqueFd device, feed;
};

std::vector<Bytes> read_some(feth::bpf::ReadBuffer& rb, int fd, std::size_t max_frames)
{
    std::vector<Bytes> out;
    rb.read(
        fd,
        [&](std::span<const std::uint8_t> frame) {
            out.emplace_back(frame.begin(), frame.end());
            return true;
        },
        max_frames);
    return out;
}

} // namespace

TEST_CASE("bpf read buffer hands out one read's records across calls before reading again", "[bpf]")
{
    HoldBuffers fd;
    if (!fd.usable()) {
        WARN("skipped: no AF_UNIX SOCK_SEQPACKET on this platform");
        return;
    }
    Bytes first, second;
    for (int i = 0; i < 5; ++i)
        add_record(first, packet(60 + static_cast<std::size_t>(i), static_cast<std::uint8_t>(i)), 18, i < 4);
    add_record(second, packet(70, 100), 18, false);
    fd.deliver(first);
    fd.deliver(second);

    feth::bpf::ReadBuffer rb(65536, "device test (bpf)");
    CHECK_FALSE(rb.has_records());
    auto a = read_some(rb, fd.device.get(), 3);
    REQUIRE(a.size() == 3);
    CHECK(a[2] == packet(62, 2));
    CHECK(rb.has_records()); // two records of the first read wait here, not in the kernel

    // The rest of the first read, then (same call) the second read.
    auto b = read_some(rb, fd.device.get(), 10);
    REQUIRE(b.size() == 3);
    CHECK(b[0] == packet(63, 3));
    CHECK(b[1] == packet(64, 4));
    CHECK(b[2] == packet(70, 100));
    CHECK_FALSE(rb.has_records());
    CHECK(read_some(rb, fd.device.get(), 10).empty()); // EAGAIN: nothing ready
}

TEST_CASE("bpf read buffer drops the rest of a malformed read and names the device on errors", "[bpf]")
{
    HoldBuffers fd;
    if (!fd.usable()) {
        WARN("skipped: no AF_UNIX SOCK_SEQPACKET on this platform");
        return;
    }
    Bytes bad;
    add_record(bad, packet(60, 1));
    add_record(bad, packet(60, 2), 18, false, 60, 4000); // caplen past the end
    fd.deliver(bad);
    feth::bpf::ReadBuffer rb(65536, "device test (bpf)");
    auto got = read_some(rb, fd.device.get(), 10);
    CHECK(got.size() == 1);
    CHECK(rb.malformed() == 1);
    CHECK_FALSE(rb.has_records());

    fd.feed.reset(); // the other end is gone: read() returns 0, not an error
    CHECK(read_some(rb, fd.device.get(), 10).empty());
    feth::bpf::ReadBuffer closed(65536, "device test (bpf)");
    try {
        read_some(closed, -1, 1);
        FAIL("read of a closed descriptor did not throw");
    } catch (const feth::SystemError& e) {
        CHECK(std::string(e.what()).find("device test (bpf): read") != std::string::npos);
        CHECK(e.code() == EBADF);
    }
}
