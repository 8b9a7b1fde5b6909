// The "feth" backend (macOS, ethernet mode): a feth pair whose visible end
// fethN belongs to the user; the tunnel reads the peer feth(N+5000) through
// bpf and writes it through AF_NDRV. Two descriptors, like the Linux pair.
#include "tunnel/backends.hpp"
#include "tunnel/darwin/darwin_io.hpp"
#include "tunnel/error.hpp"
#include "tunnel/log.hpp"
#include "tunnel/wire.hpp"

namespace feth::backends {
namespace {

// Room for many frames per read; bpf clamps it (512 KiB up to macOS 12).
constexpr unsigned kBpfBuffer = 512 * 1024;

class FethDevice final : public Device {
public:
    FethDevice(darwin::FethPair pair, darwin::BpfReader reader, darwin::NdrvWriter writer)
        : pair_(std::move(pair)), reader_(std::move(reader)), writer_(std::move(writer))
    {
    }

    ~FethDevice() override
    {
        if (reader_.truncated() != 0 || reader_.malformed() != 0)
            LOG_VERBOSE("device %s: bpf dropped %llu truncated frames and %llu malformed reads", name().c_str(),
                        static_cast<unsigned long long>(reader_.truncated()),
                        static_cast<unsigned long long>(reader_.malformed()));
        // Members go in reverse order: the bpf and NDRV descriptors close
        // before the pair is destroyed.
    }

    const std::string& name() const override { return pair_.names().visible; }
    const std::string& io_name() const override { return pair_.names().peer; }
    TunMode mode() const override { return TunMode::Ethernet; }
    bool created() const override { return pair_.created(); }
    int read_fd() const override { return reader_.fd(); }
    int write_fd() const override { return writer_.fd(); }

    std::size_t read_frames(FrameSink& sink, std::size_t max_frames) override
    {
        return reader_.read([&](std::span<const std::uint8_t> frame) { return sink.on_frame(frame); }, max_frames);
    }

    WriteResult write_frame(std::span<const std::uint8_t> frame) override { return writer_.write(frame); }

private:
    darwin::FethPair pair_; // first: destroyed last
    darwin::BpfReader reader_;
    darwin::NdrvWriter writer_;
};

} // namespace

std::unique_ptr<Device> open_darwin_feth(const DeviceRequest& request)
{
    if (request.mode != TunMode::Ethernet) throw InputError("the feth backend carries ethernet tunnels only");
    darwin::FethPair pair = darwin::FethPair::open(request.unit, request.mtu);
    const std::string& peer = pair.names().peer;
    darwin::BpfReader reader(peer, kBpfBuffer);
    darwin::NdrvWriter writer(peer, wire::kMaxFrame);
    LOG_VERBOSE("device %s: %s feth pair %s/%s (bpf buffer %u bytes)", pair.names().visible.c_str(),
                pair.created() ? "created" : "using existing", pair.names().visible.c_str(), peer.c_str(),
                reader.buffer_size());
    return std::make_unique<FethDevice>(std::move(pair), std::move(reader), std::move(writer));
}

} // namespace feth::backends
