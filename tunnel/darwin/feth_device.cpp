// The "feth" backend (macOS, ethernet mode): a feth pair whose visible end
// fethN belongs to the user; the tunnel reads the peer feth(N+5000) through
// bpf and writes it through AF_NDRV. Two descriptors, like the Linux pair.
// An adopted device (privilege separation) has the I/O only: the opener
// keeps the FethPair and destroys it.
#include <optional>
#include <utility>

#include "tunnel/backends.hpp"
#include "tunnel/darwin/darwin_io.hpp"
#include "base/error.hpp"
#include "base/log.hpp"
#include "tunnel/wire.hpp"

namespace feth {
namespace darwin {

std::size_t FethIo::read_frames(FrameSink& sink, std::size_t max_frames)
{
    return reader_.read([&](std::span<const std::uint8_t> frame) { return sink.on_frame(frame); }, max_frames);
}

} // namespace darwin

namespace backends {
namespace {

// Room for many frames per read; bpf clamps it (512 KiB up to macOS 12).
constexpr unsigned kBpfBuffer = 512 * 1024;

class FethDevice final : public Device {
public:
    FethDevice(naming::PairNames names, std::optional<darwin::FethPair> pair, darwin::FethIo io)
        : pair_(std::move(pair)), names_(std::move(names)), io_(std::move(io))
    {
    }

    ~FethDevice() override
    {
        if (io_.truncated() != 0 || io_.malformed() != 0)
            LOG_VERBOSE("device %s: bpf dropped %llu truncated frames and %llu malformed reads", name().c_str(),
                        static_cast<unsigned long long>(io_.truncated()),
                        static_cast<unsigned long long>(io_.malformed()));
    }

    const std::string& name() const override { return names_.visible; }
    const std::string& io_name() const override { return names_.peer; }
    TunMode mode() const override { return TunMode::Ethernet; }
    const char* backend() const override { return "feth"; }
    unsigned mtu() const override { return darwin::interface_mtu(names_.visible); }
    bool created() const override { return pair_ && pair_->created(); }
    unsigned read_buffer_size() const override { return io_.buffer_size(); }
    int read_fd() const override { return io_.read_fd(); }
    int write_fd() const override { return io_.write_fd(); }

    std::size_t read_frames(FrameSink& sink, std::size_t max_frames) override
    {
        return io_.read_frames(sink, max_frames);
    }
    bool has_buffered_frames() const override { return io_.has_buffered_frames(); }

    WriteResult write_frame(std::span<const std::uint8_t> frame) override { return io_.write_frame(frame); }
    WriteRetry write_retry() const override { return WriteRetry::OnTimer; } // NDRV: POLLOUT is always set

private:
    // Members go in reverse order: the bpf and NDRV descriptors close
    // before the pair is destroyed.
    std::optional<darwin::FethPair> pair_; // first: destroyed last; absent when adopted
    naming::PairNames names_;
    darwin::FethIo io_;
};

} // namespace

std::unique_ptr<Device> open_darwin_feth(const DeviceRequest& request)
{
    if (request.mode != TunMode::Ethernet) throw InputError("the feth backend carries ethernet tunnels only");
    darwin::FethPair pair =
        darwin::FethPair::open(request.unit, request.mtu, request.adopt_existing, request.owner);
    naming::PairNames names = pair.names();
    // On a throw below, ~FethPair removes what open() made.
    darwin::FethIo io(darwin::BpfReader(names.peer, kBpfBuffer), darwin::NdrvWriter(names.peer, wire::kMaxFrame));
    LOG_VERBOSE("device %s: %s feth pair %s/%s (bpf buffer %u bytes)", names.visible.c_str(),
                pair.created() ? "created" : "using existing", names.visible.c_str(), names.peer.c_str(),
                io.buffer_size());
    return std::make_unique<FethDevice>(std::move(names), std::optional<darwin::FethPair>(std::move(pair)),
                                        std::move(io));
}

std::size_t sweep_darwin_feth()
{
    return darwin::FethPair::sweep_leftovers();
}

std::unique_ptr<Device> adopt_darwin_feth(AdoptRequest& request)
{
    if (request.io_name.empty())
        throw InputError("device " + request.name + ": an adopted feth pair needs its I/O end's name");
    naming::PairNames names;
    names.visible = request.name;
    names.peer = request.io_name;
    darwin::FethIo io(darwin::BpfReader(std::move(request.fds.at(0)), names.peer, request.read_buffer_size),
                      darwin::NdrvWriter(std::move(request.fds.at(1)), names.peer));
    return std::make_unique<FethDevice>(std::move(names), std::nullopt, std::move(io));
}

} // namespace backends
} // namespace feth
