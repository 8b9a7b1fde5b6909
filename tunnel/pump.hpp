// TunnelPump moves frames between one tun@openssh.com channel and one
// Device, inside the caller's ssh_event loop.
//
// Invariants it keeps, each of which an OpenSSH peer relies on:
//  - one frame per CHANNEL_DATA, never split: a frame is written only when
//    the peer's window has room for it plus the 4 bytes an OpenSSH receiver
//    charges per datagram, so ssh_channel_write never splits or blocks;
//  - frames that cannot go out now (window full, re-key in progress) are
//    queued, not dropped, and the device is not read again until the queue
//    drains, so the queue is bounded by one read batch and the kernel's own
//    device queue applies back-pressure;
//  - malformed or oversized frames are dropped and counted, in both
//    directions, and never reach the peer or the device;
//  - every frame the peer sends is consumed at once (libssh merges
//    unconsumed data with the next frame), queued for the device when the
//    device is full, dropped and counted only when that bounded queue is full.
//
// libssh may run callbacks of any channel while ssh_channel_write flushes,
// and an ssh_event must not gain or lose fds inside a callback. So callbacks
// only record what happened; the owner calls service() after every
// ssh_event_dopoll, outside callbacks, and the pump changes its fd
// registration there.
#pragma once

#include <libssh/callbacks.h>
#include <libssh/libssh.h>

#include <cstdint>
#include <deque>
#include <memory>
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
};

struct PumpLimits {
    std::size_t frames_per_wakeup = 64; // device reads per readiness event
    std::size_t device_queue_frames = 256;
};

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
    // frames, updates fd interest, finishes a close.
    void service();

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
    void update_registration();
    void unregister();
    void fail(const std::string& why);
    bool window_fits(std::size_t len) const;

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

    // What the fds are registered for in event_ (POLLIN/POLLOUT bits).
    short read_events_ = 0;
    short write_events_ = 0;

    std::deque<std::vector<std::uint8_t>> to_peer_;   // waiting for window/re-key
    std::deque<std::vector<std::uint8_t>> to_device_; // waiting for the device
    PumpStats stats_;
};

} // namespace feth
