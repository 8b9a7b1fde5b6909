// A tunnel device: where a channel's frames come from and go to.
// One interface for every platform (tap and tun on Linux, feth pairs and
// utun on macOS, the veth "pair" twin on Linux). Devices speak the wire
// format (see wire.hpp): in point-to-point mode each backend adds or
// translates the 4-byte family header itself, so the pump never cares which
// device it drives.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/fd.hpp"
#include "wire.hpp"

namespace feth {

class FrameSink {
public:
    // Called once per frame read from the device. The span is valid only
    // during the call. Returns false to end the current batch early.
    virtual bool on_frame(std::span<const std::uint8_t> frame) = 0;

protected:
    ~FrameSink() = default;
};

enum class WriteResult {
    Written,
    WouldBlock, // the device is full right now; keep the frame and retry
    Rejected,   // the device refused this frame (size, format): drop it
};

// When to try again after WouldBlock.
enum class WriteRetry {
    OnPollout, // POLLOUT on write_fd() says when there is room
    // A short timer: the kernel never says. An AF_NDRV socket hands each
    // frame straight to the driver and queues nothing (xnu ndrv_output ->
    // ifnet_output_raw), so its POLLOUT is always set and waiting for it
    // after ENOBUFS would spin.
    OnTimer,
};

class Device {
public:
    virtual ~Device() = default;

    // The interface the user configures (tap0, feth0, utun3).
    virtual const std::string& name() const = 0;
    // The interface the tunnel does its I/O on, where that differs from
    // name() (the feth or veth peer); empty otherwise.
    virtual const std::string& io_name() const = 0;
    virtual TunMode mode() const = 0;
    // The backend that made this device ("tap", "tun", "pair", "feth",
    // "utun"): what adopt_device() needs to wrap its descriptors again.
    virtual const char* backend() const = 0;
    // True when this tunnel made the interface and will remove it.
    virtual bool created() const = 0;

    // Non-blocking descriptors; they may be the same fd.
    virtual int read_fd() const = 0;
    virtual int write_fd() const = 0;

    // Reads up to max_frames frames, handing each to `sink` in wire format.
    // Returns how many frames were read (0: nothing was ready). Throws
    // SystemError when the device is gone or broken.
    virtual std::size_t read_frames(FrameSink& sink, std::size_t max_frames) = 0;

    // True while frames read from the kernel wait in user space for the
    // next read_frames(): a bpf read() hands over many at once, and poll()
    // sees only what the kernel still holds, so the pump asks this instead
    // of waiting for POLLIN.
    virtual bool has_buffered_frames() const { return false; }

    // Writes one frame in wire format, already checked with
    // wire::check_frame. Throws SystemError when the device is gone.
    virtual WriteResult write_frame(std::span<const std::uint8_t> frame) = 0;
    virtual WriteRetry write_retry() const { return WriteRetry::OnPollout; }

    // The interface's MTU as the kernel reports it now, 0 when this backend
    // cannot tell (or the kernel refused to say). The pump asks about once
    // a second, for its oversize rule.
    virtual unsigned mtu() const { return 0; }

    // The size every read of read_fd() must ask for, where the kernel fixes
    // it (a bpf descriptor's buffer, macOS); 0 for any size. Handed over
    // with the descriptors (AdoptRequest), so that the adopter need not
    // ask the device (an ioctl the network child's sandbox refuses).
    virtual unsigned read_buffer_size() const { return 0; }
};

// What a tunnel asks for. `backend` is "auto" (the platform's default for the
// mode) or a backend's name ("tap", "tun", "pair", "feth", "utun").
struct DeviceRequest {
    DeviceRequest() = default;
    DeviceRequest(TunMode m, std::uint32_t u, std::string b, unsigned t)
        : mode(m), unit(u), backend(std::move(b)), mtu(t)
    {
    }

    TunMode mode = TunMode::Ethernet;
    std::uint32_t unit = kTunUnitAny;
    std::string backend = "auto";
    unsigned mtu = 0; // 0: leave the interface's default
    // Whether an existing pair this host's feth-ssh did not make (an
    // administrator's, or the user's own) may carry the tunnel, as found.
    // feth-sshd: TunnelAdoptExisting (off by default); feth-ssh: on. A
    // pair another live tunnel holds is refused either way.
    bool adopt_existing = false;
    // Who opens it, for the refusal another opener of the unit sees
    // (device_lock.hpp): "alice from 198.18.0.2 port 51000".
    std::string owner;
};

// Every backend's name on any platform, as a config names it: a config
// written for macOS still parses on Linux, and open_device() says which of
// them this system has. device_factory.cpp's table takes its names from
// here.
inline constexpr std::string_view kBackendNames[] = {"tap", "tun", "pair", "feth", "utun"};

// True for "auto" and for each of kBackendNames.
bool is_backend_name(std::string_view name);

// "auto, tap, tun, pair, feth or utun", for messages about a bad name.
std::string backend_names_text();

// Picks the backend for the request on this platform and opens it. Throws
// SystemError or InputError naming the device and the cause.
std::unique_ptr<Device> open_device(const DeviceRequest& request);

// Removes the tunnel pairs (veth on Linux, feth on macOS) that a process
// which died left behind: those with this host's MAC marks whose names no
// live process reserves; on Linux first the lock directories of network
// namespaces that are gone (device_lock::sweep_namespace_directories).
// feth-sshd and feth-ssh's root part call it when they start. Returns how
// many pairs went; never throws (logs instead).
std::size_t sweep_leftover_devices() noexcept;

// Descriptors of a device someone else opened (the privilege-separation
// monitor, which passes them over SCM_RIGHTS), with what that opener's
// Device reported: backend(), mode(), name(), io_name(), and read_fd()
// followed by write_fd() when it differs.
struct AdoptRequest {
    std::string backend;
    TunMode mode = TunMode::Ethernet;
    std::string name;
    std::string io_name;
    std::vector<UniqueFd> fds;
    // The opener's Device::read_buffer_size() (0: none). The descriptors
    // come configured completely, O_NONBLOCK included: a backend that
    // needs no ioctl to adopt them makes none (macOS: bpf, NDRV, utun).
    unsigned read_buffer_size = 0;
};

// Wraps adopted descriptors in the named backend's I/O, and nothing else:
// the device never configures or removes the interface (created() is
// false); the opener keeps it. Takes the descriptors out of `request`.
// Throws InputError for a backend unknown on this platform or a wrong
// descriptor count, SystemError when the kernel refuses a descriptor.
std::unique_ptr<Device> adopt_device(AdoptRequest request);

// Opens, once per process, what devices need later to answer mtu() (on
// Linux and macOS the AF_INET datagram socket SIOCGIFMTU goes through). A sandboxed
// process (server/sandbox.hpp) may not open sockets, so feth-sshd's network
// child calls this before it enters its sandbox; the socket is never bound
// or connected, and the sandbox refuses both. Elsewhere, or without it,
// mtu() opens a socket per call. Never throws.
void prepare_device_queries();

} // namespace feth
