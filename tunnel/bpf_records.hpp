// Walks the records of one read() from a Darwin /dev/bpf descriptor.
//
// A bpf read returns several records back to back. Each record is a
// `struct bpf_hdr`, the captured bytes, then padding to a 4-byte boundary
// (xnu bsd/net/bpf.h: BPF_ALIGNMENT is sizeof(int32_t)). For 64-bit
// userland the header's time stamp is `struct timeval32` (two int32), so the
// header is, in host byte order:
//   offset 0  int32  tv_sec
//   offset 4  int32  tv_usec
//   offset 8  uint32 caplen   bytes captured (and present in the buffer)
//   offset 12 uint32 datalen  bytes the packet had on the wire
//   offset 16 uint16 hdrlen   where the packet starts (18 for Ethernet)
// sizeof(struct bpf_hdr) is 20 because of tail padding, which is why only
// hdrlen may be trusted for the packet offset.
//
// The walker parses this by hand from bytes so that it builds and is tested
// on every platform. The buffer comes from the kernel, but it is still
// treated as hostile: every length is checked against the bytes actually
// read, and a malformed record stops the walk without reading past the end.
#pragma once

#include <sys/types.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

namespace feth::bpf {

inline constexpr std::size_t kAlignment = 4; // BPF_ALIGNMENT = sizeof(int32_t)

constexpr std::size_t word_align(std::size_t x)
{
    return (x + (kAlignment - 1)) & ~(kAlignment - 1);
}

// offsetof(struct bpf_hdr, bh_hdrlen) + sizeof(bh_hdrlen): the smallest
// header a record can have (xnu's own bpf_movein_batch uses the same bound).
inline constexpr std::size_t kMinHeaderLen = 18;
inline constexpr std::size_t kOffsetCaplen = 8;
inline constexpr std::size_t kOffsetDatalen = 12;
inline constexpr std::size_t kOffsetHdrlen = 16;

struct RecordHeader {
    std::int32_t tv_sec = 0;
    std::int32_t tv_usec = 0;
    std::uint32_t caplen = 0;
    std::uint32_t datalen = 0;
    std::uint16_t hdrlen = 0;
};

// Reads the fixed fields at the start of `bytes`; nullopt when fewer than
// kMinHeaderLen bytes are there. Does not validate the values.
std::optional<RecordHeader> parse_header(std::span<const std::uint8_t> bytes);

struct WalkResult {
    std::size_t frames = 0;    // records handed to the callback
    std::size_t truncated = 0; // records dropped because caplen != datalen
    bool malformed = false;    // a record's lengths did not fit: walk stopped
    bool stopped = false;      // the callback asked to stop
    // Where the walk ended: the start of the next record to visit. Equal to
    // the buffer size when everything was consumed; when `stopped`, resume
    // from here; when `malformed`, the bytes from here on are unusable.
    std::size_t offset = 0;
};

// A non-owning reference to a callable, so the walker needs no template and
// no allocation.
template <typename Signature> class FunctionRef;

template <typename R, typename... Args> class FunctionRef<R(Args...)> {
public:
    template <typename F>
        requires(!std::is_same_v<std::remove_cvref_t<F>, FunctionRef> &&
                 std::is_invocable_r_v<R, F&, Args...>)
    FunctionRef(F&& f) noexcept // NOLINT: implicit on purpose, like std::function_ref
        : object_(const_cast<void*>(static_cast<const void*>(std::addressof(f)))),
          call_([](void* object, Args... args) -> R {
              return (*static_cast<std::remove_reference_t<F>*>(object))(std::forward<Args>(args)...);
          })
    {
    }

    R operator()(Args... args) const { return call_(object_, std::forward<Args>(args)...); }

private:
    void* object_;
    R (*call_)(void*, Args...);
};

// Called with each complete frame; returns false to stop after this record.
using FrameCallback = FunctionRef<bool(std::span<const std::uint8_t>)>;

// Visits the records of `buf` from `start` (a record boundary: 0, or a
// previous result's offset). The frame span points into `buf`.
WalkResult walk_records(std::span<const std::uint8_t> buf, FrameCallback on_frame, std::size_t start = 0);

// The user-space half of a bpf descriptor: the records of the last read()
// and where the walk stands. One read() hands over the kernel's whole hold
// buffer (xnu bsd/net/bpf.c bpfread), often hundreds of records; a caller
// that takes only some of them gets the rest from here on its next call,
// without a new read. poll() cannot tell it that they are waiting: it sees
// only the kernel's buffers, so the caller asks has_records().
// Only open() and the ioctls are Darwin's (tunnel/darwin/bpf_reader.cpp):
// this part runs in the Linux tests over any descriptor that hands over
// many records per read.
class ReadBuffer {
public:
    // The call that reads the descriptor: read(2) here, the Darwin backends'
    // sys::read (tunnel/darwin/sys.hpp), which the model of xnu replaces.
    using ReadFunction = ssize_t (*)(int fd, void* buf, std::size_t len);

    // `size`: exactly the kernel's buffer size (BIOCSBLEN's answer or
    // BIOCGBLEN): bpf refuses a read() of any other size. `what` names the
    // device in errors, e.g. "device feth5000 (bpf)".
    ReadBuffer(std::size_t size, std::string what, ReadFunction read_fd = ::read);

    // Hands up to `max_frames` frames to `on_frame` (which returns false to
    // stop): first what is left of the last read, then from new reads of
    // the non-blocking `fd`. Returns the frames handed out; 0 when nothing
    // is ready. Throws SystemError when read() fails (ENXIO: the interface
    // is gone).
    std::size_t read(int fd, FrameCallback on_frame, std::size_t max_frames);

    // Records of the last read not handed out yet.
    bool has_records() const { return offset_ < filled_; }
    std::size_t size() const { return size_; }
    std::uint64_t truncated() const { return truncated_; }
    std::uint64_t malformed() const { return malformed_; }

private:
    std::string what_;
    std::size_t size_;
    ReadFunction read_fd_;
    std::vector<std::uint8_t> buf_; // size_ bytes from the first read on
    std::size_t filled_ = 0; // bytes of the last read
    std::size_t offset_ = 0; // the next record to visit
    std::uint64_t truncated_ = 0;
    std::uint64_t malformed_ = 0;
};

} // namespace feth::bpf
