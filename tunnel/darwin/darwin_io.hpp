// The macOS pieces of a feth tunnel, each a thin wrapper over the system
// calls; the decisions (names, MACs, the creation order, the bpf record
// walk, family numbers) live in portable files tested on Linux:
// feth_naming.hpp, bpf_records.hpp, darwin_structs.hpp.
//
//  - FethPair: creates (or adopts) fethN and its peer feth(N+5000).
//  - BpfReader: reads the peer's frames from /dev/bpfN.
//  - NdrvWriter: writes frames out of the peer through an AF_NDRV socket;
//    the kernel hands them to fethN as received frames.
//  - FethIo: a BpfReader and an NdrvWriter, the I/O of a pair without the
//    pair itself (what a privilege-separated child gets).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "tunnel/bpf_records.hpp"
#include "tunnel/device.hpp"
#include "tunnel/device_lock.hpp"
#include "base/fd.hpp"
#include "tunnel/feth_naming.hpp"

namespace feth::darwin {

class FethPair {
public:
    // `unit` is a unit number or kTunUnitAny; `mtu` 0 keeps the default.
    // The unit's two names are reserved first (device_lock.hpp), for the
    // pair's life: a unit another live tunnel holds is refused (EBUSY),
    // "any" skips it. An existing fethN peered with feth(N+5000) that
    // carries this Mac's MAC marks was left by a tunnel that died: it is
    // destroyed and made anew. Any other such pair is used as found only
    // when `adopt_existing` (and left as found, but for a requested MTU,
    // set on both halves); anything else in the way is an error naming it.
    // `owner` says who holds it, for another opener's refusal.
    static FethPair open(std::uint32_t unit, unsigned mtu, bool adopt_existing, const std::string& owner);
    // Destroys the pairs with this Mac's MAC marks that no live process
    // holds; returns how many.
    static std::size_t sweep_leftovers();

    FethPair(FethPair&& other) noexcept;
    FethPair& operator=(FethPair&&) = delete;
    FethPair(const FethPair&) = delete;
    ~FethPair(); // destroys only the interfaces it created

    const naming::PairNames& names() const { return names_; }
    bool created() const { return created_visible_ || created_peer_; }

private:
    FethPair(naming::PairNames names, device_lock::Reservation held)
        : held_(std::move(held)), names_(std::move(names))
    {
    }
    void execute(const std::vector<naming::PlanStep>& steps);
    void destroy_created() noexcept;

    // Released last, once ~FethPair has destroyed what it created.
    std::optional<device_lock::Reservation> held_;
    naming::PairNames names_;
    bool created_visible_ = false;
    bool created_peer_ = false;
};

class BpfReader {
public:
    // Opens the first free /dev/bpfN and attaches it to `ifname`.
    BpfReader(const std::string& ifname, unsigned buffer_size);
    // Adopts a bpf descriptor someone else opened, attached to `ifname` and
    // made non-blocking, with the buffer size it chose: no ioctl (the
    // network child's Seatbelt profile allows none on /dev/bpf*).
    BpfReader(UniqueFd fd, std::string ifname, unsigned buffer_size);

    int fd() const { return fd_.get(); }
    unsigned buffer_size() const { return static_cast<unsigned>(buffer_.size()); }

    // Hands up to `max_frames` frames to `on_frame` (which returns false to
    // stop), first from what is left of the last read, then from new reads
    // (bpf::ReadBuffer). Returns the frames handed out; 0 when nothing is
    // ready. Throws SystemError (ENXIO: the interface is gone).
    std::size_t read(bpf::FrameCallback on_frame, std::size_t max_frames)
    {
        return buffer_.read(fd_.get(), on_frame, max_frames);
    }
    // Frames of the last read not handed out yet (poll() cannot see them).
    bool has_buffered_frames() const { return buffer_.has_records(); }

    std::uint64_t truncated() const { return buffer_.truncated(); }
    std::uint64_t malformed() const { return buffer_.malformed(); }

private:
    std::string ifname_;
    UniqueFd fd_;
    bpf::ReadBuffer buffer_; // exactly the kernel's buffer size
};

class NdrvWriter {
public:
    // Binds and connects an AF_NDRV socket to `ifname`; frames up to
    // `max_frame` bytes can be sent.
    NdrvWriter(const std::string& ifname, std::size_t max_frame);
    // Adopts an AF_NDRV socket someone else bound and connected to `ifname`.
    NdrvWriter(UniqueFd fd, std::string ifname);

    int fd() const { return fd_.get(); }
    // Sends one whole Ethernet frame; WouldBlock (ENOBUFS) is for a timer to
    // retry, POLLOUT being always set on NDRV. Throws SystemError naming the
    // interface when it is down or gone (the tunnel ends).
    WriteResult write(std::span<const std::uint8_t> frame);

private:
    std::string ifname_;
    UniqueFd fd_;
};

class FethIo {
public:
    FethIo(BpfReader reader, NdrvWriter writer) : reader_(std::move(reader)), writer_(std::move(writer)) {}

    int read_fd() const { return reader_.fd(); }
    int write_fd() const { return writer_.fd(); }
    unsigned buffer_size() const { return reader_.buffer_size(); }
    std::size_t read_frames(FrameSink& sink, std::size_t max_frames);
    bool has_buffered_frames() const { return reader_.has_buffered_frames(); }
    WriteResult write_frame(std::span<const std::uint8_t> frame) { return writer_.write(frame); }
    std::uint64_t truncated() const { return reader_.truncated(); }
    std::uint64_t malformed() const { return reader_.malformed(); }

private:
    BpfReader reader_;
    NdrvWriter writer_;
};

// A stable identity of this Mac for the MAC addresses (the host UUID).
std::string host_seed();

// The MTU of interface `name` (SIOCGIFMTU on an AF_INET datagram socket),
// or 0 when the kernel will not tell (logged at debug level 2): what
// Device::mtu() of the feth and utun backends answers. Never throws.
unsigned interface_mtu(const std::string& name) noexcept;

// Opens, once per process, the socket interface_mtu() asks through, for a
// process that may not open one later (the sandboxed network child, which
// calls prepare_device_queries() before its sandbox). Never throws.
void prepare_mtu_queries() noexcept;

} // namespace feth::darwin
