// The "pair" backend: the Linux twin of macOS's feth pairs, so the same
// two-interface design runs (and is tested) on Linux.
//
// A tunnel unit N is a veth pair made through rtnetlink: the visible end
// `feth<N>` is the user's (addresses, bridge membership), the peer
// `feth<N + 5000>` is where the tunnel does its I/O, like a feth peer on
// macOS. Frames are read from the peer through one AF_PACKET socket
// (recvmmsg batches) and written through another, two descriptors like
// bpf + NDRV. Frames are bare Ethernet frames, as on the wire.
//
// A unit has one owner: its two names are reserved (device_lock.hpp) before
// anything is looked at, for the device's life, so a second tunnel asking
// for a unit in use is refused and "any" skips it. A pair this tunnel
// created is deleted when the device closes. A pair found with this host's
// MAC marks (veth::is_ours) was left by a tunnel that died: it is removed
// and made anew, and sweep_linux_pairs() removes such pairs at start. Any
// other existing pair (both names present and linked to each other) is the
// administrator's: used only when the request allows it (adopt_existing),
// and then as found and left as found, but for a TunnelMTU set on both
// ends.
//
// One file per job, as tunnel/darwin/ is split: veth_pair.cpp makes, finds
// and removes the pair (rtnetlink.cpp carries its requests), packet_io.cpp
// moves the frames, and this file is the Device that joins them.
#include <net/if.h>

#include <memory>
#include <optional>
#include <string>
#include <utility>

#include "tunnel/backends.hpp"
#include "base/error.hpp"
#include "base/log.hpp"
#include "tunnel/device_lock.hpp"
#include "tunnel/feth_naming.hpp"
#include "tunnel/linux/packet_io.hpp"
#include "tunnel/linux/veth_pair.hpp"
#include "tunnel/mtu.hpp"

namespace feth::backends {
namespace {

using packet::PacketIo;
using packet::PacketSockets;
using veth::VethPair;

// The I/O, plus the pair itself and its names' reservation when this
// process owns it (both absent in an adopted device: the opener keeps and
// removes the pair).
class PairDevice final : public Device {
public:
    PairDevice(naming::PairNames names, std::optional<device_lock::Reservation> held, std::optional<VethPair> pair,
               PacketSockets sockets)
        : held_(std::move(held)), pair_(std::move(pair)), names_(std::move(names)),
          io_(names_.peer, std::move(sockets))
    {
    }

    const std::string& name() const override { return names_.visible; }
    const std::string& io_name() const override { return names_.peer; }
    TunMode mode() const override { return TunMode::Ethernet; }
    const char* backend() const override { return "pair"; }
    bool created() const override { return pair_ && pair_->created(); }
    int read_fd() const override { return io_.read_fd(); }
    int write_fd() const override { return io_.write_fd(); }

    std::size_t read_frames(FrameSink& sink, std::size_t max_frames) override
    {
        return io_.read_frames(sink, max_frames);
    }
    WriteResult write_frame(std::span<const std::uint8_t> frame) override { return io_.write_frame(frame); }

private:
    // Destroyed in reverse: the sockets close, the pair goes, and only
    // then are its names free for another tunnel.
    std::optional<device_lock::Reservation> held_;
    std::optional<VethPair> pair_;
    naming::PairNames names_;
    PacketIo io_;
};

// Opens the sockets on a pair and hands both to a device; if the sockets
// fail, `pair` removes what it created.
std::unique_ptr<Device> open_on(device_lock::Reservation held, VethPair pair)
{
    naming::PairNames names = pair.names();
    PacketSockets sockets = packet::open_packet_sockets(names.visible, names.peer);
    return std::make_unique<PairDevice>(std::move(names), std::move(held), std::optional<VethPair>(std::move(pair)),
                                        std::move(sockets));
}

// A unit asked for by number, its names reserved: our own leftover is
// removed and made anew, an administrator's pair is used only when the
// request allows it, anything else in the way is an error.
std::unique_ptr<Device> open_unit(const naming::PairNames& names, device_lock::Reservation held,
                                  const DeviceRequest& request)
{
    if (veth::is_existing_pair(names) && veth::is_ours(names)) {
        // Nobody holds it (we do now): a process that made it died first.
        LOG_INFO("device %s: removing the pair %s/%s a tunnel that ended left behind", names.visible.c_str(),
                 names.visible.c_str(), names.peer.c_str());
        veth::remove_pair(names);
    } else if (veth::is_existing_pair(names)) {
        if (!request.adopt_existing)
            throw SystemError("device " + names.visible + " (peer " + names.peer +
                                  ") exists and was not made by feth-ssh; using an existing pair is not allowed "
                                  "(TunnelAdoptExisting)",
                              "RTM_NEWLINK(veth)", EEXIST);
        veth::adjust_existing_mtu(names, request.mtu);
        return open_on(std::move(held), VethPair(names, false)); // as found, but for the MTU asked for
    }
    const bool visible_exists = ::if_nametoindex(names.visible.c_str()) != 0;
    if (visible_exists || ::if_nametoindex(names.peer.c_str()) != 0) {
        const std::string& there = visible_exists ? names.visible : names.peer;
        throw SystemError("device " + there + " exists but is not half of the veth pair " + names.visible + "/" +
                              names.peer,
                          "RTM_NEWLINK(veth)", EEXIST);
    }
    return open_on(std::move(held), veth::create_pair(names, request.mtu));
}

} // namespace

std::unique_ptr<Device> open_linux_pair(const DeviceRequest& request)
{
    if (request.mode != TunMode::Ethernet) throw InputError("the pair backend carries ethernet tunnels only");
    if (request.mtu != 0 && (request.mtu < mtu::kLinux.min || request.mtu > mtu::kLinux.max))
        throw InputError("device pair: MTU " + std::to_string(request.mtu) + " is out of range (" +
                         std::to_string(mtu::kLinux.min) + " to " + std::to_string(mtu::kLinux.max) + ")");

    device_lock::Busy busy;
    if (request.unit != kTunUnitAny) {
        auto names = naming::pair_names(request.unit);
        if (!names)
            throw InputError("device feth" + std::to_string(request.unit) + ": unit too large for a pair (max " +
                             std::to_string(naming::kMaxUnit - naming::kDefaultPeerOffset) + ")");
        auto held = device_lock::reserve_pair(*names, request.owner, busy);
        if (!held) device_lock::throw_busy(busy);
        return open_unit(*names, std::move(*held), request);
    }

    // "any": the lowest pair whose names neither exist nor are reserved;
    // another process may take it first, so pick again without it.
    std::vector<std::string> taken = veth::interface_names();
    for (int attempt = 0;; ++attempt) {
        auto names = naming::pick_free_pair(taken);
        if (!names) throw SystemError("device pair: no free feth unit", "RTM_NEWLINK(veth)", ENOSPC);
        auto held = device_lock::reserve_pair(*names, request.owner, busy);
        if (!held) {
            taken.push_back(names->visible);
            continue;
        }
        try {
            return open_on(std::move(*held), veth::create_pair(*names, request.mtu));
        } catch (const SystemError& e) {
            if (e.code() != EEXIST || attempt >= 4) throw;
            taken.push_back(names->visible);
        }
    }
}

std::size_t sweep_linux_pairs()
{
    std::size_t removed = 0;
    for (const auto& name : veth::interface_names()) {
        auto unit = naming::parse_unit(name, naming::kFethPrefix);
        if (!unit || *unit >= naming::kDefaultPeerOffset) continue;
        auto names = naming::pair_names(*unit);
        if (!names || !veth::is_existing_pair(*names) || !veth::is_ours(*names)) continue;
        device_lock::Busy busy;
        auto held = device_lock::reserve_pair(*names, "removing a leftover pair", busy);
        if (!held) continue; // a live tunnel's
        veth::remove_pair(*names);
        LOG_INFO("device %s: removed the pair %s/%s a tunnel that ended left behind", names->visible.c_str(),
                 names->visible.c_str(), names->peer.c_str());
        ++removed;
    }
    return removed;
}

std::unique_ptr<Device> adopt_linux_pair(AdoptRequest& request)
{
    if (request.io_name.empty()) throw InputError("device " + request.name + ": an adopted pair needs its I/O end's name");
    const std::string what = "device " + request.name + " (peer " + request.io_name + ", adopted)";
    PacketSockets sockets{std::move(request.fds.at(0)), std::move(request.fds.at(1))};
    packet::expect_packet_socket(sockets.read.get(), what);
    packet::expect_packet_socket(sockets.write.get(), what);
    naming::PairNames names;
    names.visible = request.name;
    names.peer = request.io_name;
    return std::make_unique<PairDevice>(std::move(names), std::nullopt, std::nullopt, std::move(sockets));
}

} // namespace feth::backends
