#include "bpf_records.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "base/error.hpp"

namespace feth::bpf {
namespace {

template <typename T> T load(const std::uint8_t* p)
{
    T value;
    std::memcpy(&value, p, sizeof value); // host byte order, any alignment
    return value;
}

} // namespace

std::optional<RecordHeader> parse_header(std::span<const std::uint8_t> bytes)
{
    if (bytes.size() < kMinHeaderLen) return std::nullopt;
    const std::uint8_t* p = bytes.data();
    RecordHeader h;
    h.tv_sec = load<std::int32_t>(p);
    h.tv_usec = load<std::int32_t>(p + 4);
    h.caplen = load<std::uint32_t>(p + kOffsetCaplen);
    h.datalen = load<std::uint32_t>(p + kOffsetDatalen);
    h.hdrlen = load<std::uint16_t>(p + kOffsetHdrlen);
    return h;
}

WalkResult walk_records(std::span<const std::uint8_t> buf, FrameCallback on_frame, std::size_t start)
{
    WalkResult result;
    std::size_t off = start;
    if (off > buf.size()) {
        result.malformed = true;
        result.offset = buf.size();
        return result;
    }
    while (off < buf.size()) {
        const std::size_t remaining = buf.size() - off;
        auto header = parse_header(buf.subspan(off));
        // Lengths are compared by subtraction from what is left, never by
        // adding untrusted values, so nothing can overflow even where
        // size_t is 32 bits.
        if (!header || header->hdrlen < kMinHeaderLen || header->hdrlen > remaining ||
            header->caplen > remaining - header->hdrlen) {
            result.malformed = true;
            break;
        }
        const std::size_t record_len = std::size_t{header->hdrlen} + header->caplen; // <= remaining
        // The kernel does not pad after the last record of a read.
        const std::size_t advance = std::min(word_align(record_len), remaining);
        const std::size_t frame_at = off + header->hdrlen;
        off += advance;
        if (header->caplen != header->datalen) {
            ++result.truncated; // cut by the buffer or a snap length: useless
            continue;
        }
        ++result.frames;
        if (!on_frame(buf.subspan(frame_at, header->caplen))) {
            result.stopped = true;
            break;
        }
    }
    result.offset = off;
    return result;
}

ReadBuffer::ReadBuffer(std::size_t size, std::string what, ReadFunction read_fd)
    : what_(std::move(what)), size_(size), read_fd_(read_fd)
{
}

std::size_t ReadBuffer::read(int fd, FrameCallback on_frame, std::size_t max_frames)
{
    std::size_t count = 0;
    while (count < max_frames) {
        if (!has_records()) {
            // Allocated on the first read: an opener that only passes the
            // descriptor on (the privilege-separation monitor) never pays.
            if (buf_.empty()) buf_.resize(size_);
            // bpf insists on a read of exactly its buffer size (else EINVAL).
            ssize_t n = read_fd_(fd, buf_.data(), buf_.size());
            if (n < 0) {
                if (errno == EINTR) continue;
                if (errno == EAGAIN || errno == EWOULDBLOCK) break;
                throw_errno(what_, "read"); // ENXIO: the interface is gone
            }
            if (n == 0) break;
            filled_ = static_cast<std::size_t>(n);
            offset_ = 0;
        }
        bool stop = false;
        WalkResult result = walk_records(
            std::span<const std::uint8_t>(buf_.data(), filled_),
            [&](std::span<const std::uint8_t> frame) {
                ++count;
                if (!on_frame(frame)) stop = true;
                return !stop && count < max_frames;
            },
            offset_);
        truncated_ += result.truncated;
        if (result.malformed) {
            ++malformed_;
            offset_ = filled_; // the rest of this read is unusable
        } else {
            offset_ = result.offset;
        }
        if (stop) break;
    }
    return count;
}

} // namespace feth::bpf
