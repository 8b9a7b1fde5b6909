// TunnelPump moves frames between one tun@openssh.com channel and one
// Device, inside the caller's ssh_event loop.
//
// Invariants it keeps, each of which an OpenSSH peer relies on:
//  - one frame per CHANNEL_DATA, never split: a frame is written only when
//    the peer's window has room for it plus the 4 bytes an OpenSSH receiver
//    charges per datagram, so ssh_channel_write never splits or blocks;
//  - frames that cannot go out now (window full, re-key in progress, output
//    full: see below) are queued, not dropped, and the device is not read
//    again until the queue drains, so the queue is bounded by one read
//    batch and the kernel's own device queue applies back-pressure;
//  - malformed or oversized frames are dropped and counted, in both
//    directions, and never reach the peer or the device; a frame from the
//    peer larger than the device's MTU plus its header (max_frame_for_mtu)
//    is dropped and counted in dropped_oversize: a Linux tap takes any size
//    and would hand a 16 KiB frame to the host stack of an MTU-1500 link.
//    The MTU is the device's own (Device::mtu()), asked again every second
//    while frames come and before a frame is dropped (at most every
//    100 ms), so an MTU the admin or a hook sets after the start counts;
//  - the device is not read while libssh holds more than
//    PumpLimits::pending_output_limit bytes of output the TCP socket has not
//    taken (ssh_session_get_pending_output, patch 0006), and reading
//    resumes below half of it, as OpenSSH's server loop reads no channel
//    while ssh_packet_not_very_much_data_to_write() is false: a peer that
//    grants a 4 GiB window and stops reading cannot grow our memory. A frame
//    read before the bound was reached waits in the peer queue, never
//    dropped. No busy loop: libssh polls its socket for POLLOUT while
//    output is pending, the owner's dopoll returns after each write, and
//    service() resumes reading once the output has drained (poll_timeout_ms()
//    is 0 when another tunnel's write on the session drained it);
//  - every frame the peer sends is consumed at once (libssh merges
//    unconsumed data with the next frame), queued for the device when the
//    device is full, dropped and counted only when that bounded queue is full;
//  - frames a device has read from the kernel but not handed out yet (a
//    bpf read() hands over hundreds: Device::has_buffered_frames) are taken
//    in service() whenever the window has room, without waiting for a
//    POLLIN that would never come (poll() sees only the kernel's buffers);
//    poll_timeout_ms() is 0 meanwhile, so the owner's dopoll does not
//    sleep. With the window full they wait, like the device's kernel
//    queue, until service() after libssh has taken the WINDOW_ADJUST;
//  - a full device (WouldBlock, counted in device_busy) is retried on
//    POLLOUT, or, where POLLOUT means nothing (NDRV: WriteRetry::OnTimer),
//    on a timer of 1, 2, then 4 ms that the owner's dopoll timeout honours
//    through poll_timeout_ms(): never a busy loop, never a thread.
//
// libssh may run callbacks of any channel while ssh_channel_write flushes,
// and an ssh_event must not gain or lose fds inside a callback. So callbacks
// only record what happened; the owner calls service() after every
// ssh_event_dopoll, outside callbacks, and the pump changes its fd
// registration there. The owner caps each dopoll's timeout by
// poll_timeout_ms() (sooner_timeout()).
#pragma once

#include <libssh/callbacks.h>
#include <libssh/libssh.h>

#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "device.hpp"
#include "ssh_handles.hpp"

namespace feth {

struct PumpStats {
    std::uint64_t frames_to_peer = 0;
    std::uint64_t bytes_to_peer = 0;
    std::uint64_t frames_from_peer = 0;
    std::uint64_t bytes_from_peer = 0;
    std::uint64_t dropped_from_device = 0; // malformed or oversized device frames
    std::uint64_t dropped_from_peer = 0;   // malformed peer frames
    std::uint64_t dropped_device_full = 0; // device queue full
    std::uint64_t queued_to_peer = 0;      // frames that waited for window or re-key
    std::uint64_t device_busy = 0;         // writes the device put off (ENOBUFS, EAGAIN): kept, retried
    std::uint64_t dropped_oversize = 0;    // peer frames above the device's MTU plus header
    std::uint64_t output_paused = 0;       // times the device was left unread: libssh's output was full
};

// How much output libssh may hold for the TCP socket before the pump stops
// reading the device (M3): about 0.3 s of a 25 Mbit/s link, ten times
// what one read batch of 64 MTU-1500 frames adds, so a link that is merely
// slower than the device is not held back while the socket drains.
inline constexpr std::size_t kPendingOutputLimit = std::size_t{1} << 20;

struct PumpLimits {
    std::size_t frames_per_wakeup = 64; // device frames per POLLIN or service()
    std::size_t device_queue_frames = 256;
    // Reading stops above this much pending output and resumes below half.
    std::size_t pending_output_limit = kPendingOutputLimit;
    // The device's MTU when Device::mtu() cannot tell (0: unknown, frames
    // from the peer are then only held to wire::kMaxFrame).
    unsigned device_mtu = 0;
};

// The largest frame in wire format a device of `mtu` takes from the peer.
// Ethernet: the MTU, the 14-byte header and a 4-byte 802.1Q tag, as Linux
// forwards into a device (is_skb_forwardable: mtu + hard_header_len +
// VLAN_HLEN). Point-to-point: the MTU and the 4-byte family header of the
// wire format. 0 (unknown MTU) gives wire::kMaxFrame.
constexpr std::size_t max_frame_for_mtu(TunMode mode, unsigned mtu)
{
    if (mtu == 0) return wire::kMaxFrame;
    const std::size_t header = mode == TunMode::Ethernet ? wire::kEthernetHeaderLen + 4 : wire::kAfHeaderLen;
    const std::size_t max = std::size_t{mtu} + header;
    return max < wire::kMaxFrame ? max : wire::kMaxFrame;
}

class TunnelPump final : private FrameSink {
public:
    // Takes the channel (already open) and drives `device`, which must
    // outlive the pump: a client keeps its device across reconnects, so the
    // pump does not own it. `label` names the tunnel in log lines, e.g.
    // "tap0 for alice from 198.18.0.2 port 4242".
    TunnelPump(ssh_session session, ChannelPtr channel, Device& device, std::string label,
               PumpLimits limits = {});
    ~TunnelPump();
    TunnelPump(const TunnelPump&) = delete;
    TunnelPump& operator=(const TunnelPump&) = delete;

    // Starts pumping in `event`. Call outside callbacks.
    void attach(ssh_event event);

    // Call after every ssh_event_dopoll, outside callbacks: moves queued
    // frames, takes frames the device still holds, retries a busy device,
    // updates fd interest, finishes a close.
    void service();

    // How long the owner's ssh_event_dopoll may sleep before service() has
    // work that no descriptor will announce: 0 while the device holds
    // frames that can go now, the time to the next retry of a device that
    // is full and cannot say when it is not (WriteRetry::OnTimer), -1 when
    // only descriptors matter.
    int poll_timeout_ms() const;

    // Sends EOF and CLOSE on the channel and stops reading the device.
    void close(const std::string& why);

    bool finished() const { return state_ == State::Finished; }
    const std::string& end_reason() const { return end_reason_; }
    const PumpStats& stats() const { return stats_; }
    const Device& device() const { return device_; }
    ssh_channel channel() const { return channel_.get(); }
    const std::string& label() const { return label_; }

private:
    enum class State { Running, Closing, Finished };

    // FrameSink: a frame read from the device.
    bool on_frame(std::span<const std::uint8_t> frame) override;

    static int on_channel_data(ssh_session, ssh_channel, void* data, uint32_t len, int is_stderr,
                               void* userdata);
    static void on_channel_eof(ssh_session, ssh_channel, void* userdata);
    static void on_channel_close(ssh_session, ssh_channel, void* userdata);
    static int on_device_event(socket_t fd, int revents, void* userdata);

    void frame_from_peer(std::span<const std::uint8_t> frame);
    enum class SendResult { Sent, Later, Failed };
    SendResult send_to_peer(std::span<const std::uint8_t> frame);
    void read_device();
    void flush_peer_queue();
    void flush_device_queue();
    void wait_for_device(bool made_progress);
    bool device_retry_due() const;
    void update_registration();
    void unregister();
    void fail(const std::string& why);
    bool window_fits(std::size_t len) const;
    bool output_full();
    bool oversize(std::size_t len);

    ssh_session session_;
    ChannelPtr channel_;
    Device& device_;
    std::string label_;
    PumpLimits limits_;
    ssh_channel_callbacks_struct callbacks_{};
    ssh_event event_ = nullptr;

    State state_ = State::Running;
    std::string end_reason_;
    bool peer_eof_ = false;
    // Set while libssh's pending output is above the limit, until it
    // drains below half of it.
    bool output_full_ = false;

    // What the fds are registered for in event_ (POLLIN/POLLOUT bits).
    short read_events_ = 0;
    short write_events_ = 0;

    std::deque<std::vector<std::uint8_t>> to_peer_;   // waiting for window/re-key
    std::deque<std::vector<std::uint8_t>> to_device_; // waiting for the device
    PumpStats stats_;

    // The retry timer of a full WriteRetry::OnTimer device: set while
    // to_device_ waits for it; the delay doubles while retries fail.
    using Clock = std::chrono::steady_clock;
    std::optional<Clock::time_point> retry_at_;
    std::chrono::milliseconds retry_delay_{1};

    // The device's MTU as last asked (or PumpLimits::device_mtu), and when.
    unsigned mtu_ = 0;
    std::optional<Clock::time_point> mtu_asked_at_;
};

// The sooner of two ssh_event_dopoll timeouts in milliseconds, -1 meaning
// none.
constexpr int sooner_timeout(int a_ms, int b_ms)
{
    if (a_ms < 0) return b_ms;
    if (b_ms < 0) return a_ms;
    return a_ms < b_ms ? a_ms : b_ms;
}

} // namespace feth
