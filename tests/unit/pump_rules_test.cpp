// Each rule of tunnel/pump.hpp that a unit test can show, over a real
// libssh session pair (ssh_session_pair.hpp) and the in-memory device
// (fake_device.hpp). pump_test.cpp covers the rules of bpf bursts, the
// retry timer, the oversize rule and the output bound with devices that
// behave like macOS's; this file covers the rest: the window and its
// 4-byte charge, back-pressure and the bounded queues, drops, corking and
// re-key.
#include <libssh/libssh.h>

#include <cstdint>
#include <algorithm>
#include <cstring>
#include <limits>
#include <vector>

#include "catch.hpp"
#include "fake_device.hpp"
#include "ssh_session_pair.hpp"
#include "tunnel/pump.hpp"

using feth::PumpLimits;
using feth::TunnelPump;
using feth::test::FakeDevice;
using feth::test::SessionPair;
using Frame = FakeDevice::Frame;

namespace {

constexpr int kRounds = 500;

// An Ethernet frame of `size` bytes carrying `n`.
Frame frame(std::size_t size, std::uint32_t n)
{
    Frame f(size, static_cast<std::uint8_t>(n));
    const std::uint8_t head[14] = {0x02, 0, 0, 0, 0, 0x01, 0x02, 0, 0, 0, 0, 0x02, 0x88, 0xb5};
    std::memcpy(f.data(), head, std::min(size, sizeof head)); // a runt gets what fits
    if (size >= 18) std::memcpy(f.data() + 14, &n, sizeof n);
    return f;
}

std::vector<Frame> frames(std::size_t count, std::size_t size = 100, std::uint32_t first = 0)
{
    std::vector<Frame> out;
    for (std::size_t i = 0; i < count; ++i) out.push_back(frame(size + i % 50, first + static_cast<std::uint32_t>(i)));
    return out;
}

// No output bound in the way (the fillers below hold more than 1 MiB).
PumpLimits unbounded()
{
    PumpLimits l;
    l.pending_output_limit = std::numeric_limits<std::size_t>::max() / 2;
    return l;
}

// The peer's end: every CHANNEL_DATA kept as one frame.
struct Peer {
    explicit Peer(ssh_channel channel) : channel_(channel)
    {
        ssh_callbacks_init(&cb_);
        cb_.userdata = this;
        cb_.channel_data_function = [](ssh_session, ssh_channel, void* data, uint32_t len, int, void* self) {
            const auto* p = static_cast<const std::uint8_t*>(data);
            static_cast<Peer*>(self)->got.emplace_back(p, p + len);
            return static_cast<int>(len);
        };
        ssh_set_channel_callbacks(channel_, &cb_);
    }
    ~Peer() { ssh_remove_channel_callbacks(channel_, &cb_); }
    Peer(const Peer&) = delete;
    Peer& operator=(const Peer&) = delete;

    std::vector<Frame> after(std::size_t skip) const
    {
        return skip > got.size() ? std::vector<Frame>{} : std::vector<Frame>(got.begin() + static_cast<long>(skip), got.end());
    }

    std::vector<Frame> got;

private:
    ssh_channel channel_;
    ssh_channel_callbacks_struct cb_{};
};

// Uses up the server channel's window (before the pump takes it) until
// `left` bytes remain; returns the CHANNEL_DATA messages written.
std::size_t fill_window(ssh_channel channel, std::uint32_t left)
{
    const std::uint32_t window = ssh_channel_window_size(channel);
    REQUIRE(window > left);
    std::size_t filler = window - left, count = 0;
    const Frame chunk(16000, 0xff);
    while (filler > 0) {
        const std::size_t n = std::min(filler, chunk.size());
        REQUIRE(ssh_channel_write(channel, chunk.data(), static_cast<uint32_t>(n)) == static_cast<int>(n));
        filler -= n;
        ++count;
    }
    REQUIRE(ssh_channel_window_size(channel) == left);
    return count;
}

struct Run {
    SessionPair& pair;
    TunnelPump& pump;
    bool until(const std::function<bool()>& done, bool hold_client = false, int rounds = kRounds)
    {
        return pair.run(done, [&] { return pump.poll_timeout_ms(); }, [&] { pump.service(); }, rounds, hold_client);
    }
    void rounds(int n, bool hold_client) { (void)until([] { return false; }, hold_client, n); }
};

} // namespace

TEST_CASE("rule: a frame goes only when the window has room for it plus the 4 bytes OpenSSH charges", "[pump][rules]")
{
    SessionPair pair;
    Peer peer(pair.client_channel());
    // 1067 = 1000 + 63 + 4: the second frame fits exactly, a third does not.
    const std::size_t filler = fill_window(pair.server_channel(), 1067);
    FakeDevice device;
    TunnelPump pump(pair.server(), pair.take_server_channel(), device, "fake0 (test)", unbounded());
    pump.attach(pair.server_event());
    Run run{pair, pump};

    const std::vector<Frame> sent = {frame(1000, 1), frame(63, 2), frame(60, 3)};
    REQUIRE(device.push(sent) == 3);
    run.rounds(20, /*hold_client=*/true);
    CHECK(pump.stats().frames_to_peer == 2);
    CHECK(pump.stats().queued_to_peer == 1); // the third waits: 60 + 4 > 4 left
    CHECK(ssh_channel_window_size(pump.channel()) == 4);
    CHECK(pump.stats().dropped_from_device == 0);

    // The peer reads, its WINDOW_ADJUST arrives, the third follows.
    REQUIRE(run.until([&] { return peer.got.size() >= filler + 3; }));
    CHECK(peer.after(filler) == sent);
}

TEST_CASE("rule: with the window full the device is not read again; its own queue fills, nothing is dropped",
          "[pump][rules]")
{
    SessionPair pair;
    Peer peer(pair.client_channel());
    const std::size_t filler = fill_window(pair.server_channel(), 50);
    FakeDevice device(feth::TunMode::Ethernet, /*capacity=*/100);
    TunnelPump pump(pair.server(), pair.take_server_channel(), device, "fake0 (test)", unbounded());
    pump.attach(pair.server_event());
    Run run{pair, pump};

    const auto all = frames(150);
    std::size_t next = device.push(all);
    REQUIRE(next == 100); // the "kernel" queue is full: back-pressure starts there
    run.rounds(10, true);
    const std::size_t reads = device.read_calls;
    CHECK(reads >= 1);
    CHECK(pump.stats().queued_to_peer == 1); // one frame read past the window, no more
    CHECK(device.queued() == 99);
    run.rounds(20, true);
    CHECK(device.read_calls == reads); // not read again while that frame waits
    CHECK(device.queued() == 99);

    // The peer reads: everything arrives, in order; the test keeps the
    // kernel queue topped up as it drains.
    REQUIRE(run.until([&] {
        next += device.push(std::vector<Frame>(all.begin() + static_cast<long>(next), all.end()));
        return peer.got.size() >= filler + all.size();
    }));
    CHECK(peer.after(filler) == all);
    CHECK(pump.stats().dropped_from_device == 0);
    // The queue towards the peer never held more than one read batch.
    CHECK(pump.stats().queued_to_peer <= all.size());
}

TEST_CASE("rule: a full device queues up to device_queue_frames of the peer's frames, drops and counts the rest",
          "[pump][rules]")
{
    SessionPair pair;
    ssh_channel client = pair.client_channel();
    FakeDevice device;
    device.full = true;
    PumpLimits limits = unbounded();
    limits.device_queue_frames = 8;
    TunnelPump pump(pair.server(), pair.take_server_channel(), device, "fake0 (test)", limits);
    pump.attach(pair.server_event());
    Run run{pair, pump};

    const auto sent = frames(20);
    for (const auto& f : sent)
        REQUIRE(ssh_channel_write(client, f.data(), static_cast<uint32_t>(f.size())) == static_cast<int>(f.size()));
    REQUIRE(run.until([&] { return pump.stats().frames_from_peer == sent.size(); }));
    CHECK(pump.stats().dropped_device_full == 12);
    CHECK(pump.stats().device_busy >= 1);
    CHECK(device.refused >= 1);
    CHECK(device.written.empty());
    // Every frame was consumed at once: the peer's window is not held.
    CHECK(pump.stats().dropped_from_peer == 0);

    // Room again: the retry timer brings out the eight that were kept, in order.
    device.full = false;
    REQUIRE(run.until([&] { return device.written.size() >= 8; }));
    run.rounds(5, false);
    CHECK(device.written == std::vector<Frame>(sent.begin(), sent.begin() + 8));
}

TEST_CASE("rule: malformed frames are dropped and counted in both directions, never passed on", "[pump][rules]")
{
    SessionPair pair;
    Peer peer(pair.client_channel());
    ssh_channel client = pair.client_channel();
    FakeDevice device;
    TunnelPump pump(pair.server(), pair.take_server_channel(), device, "fake0 (test)", unbounded());
    pump.attach(pair.server_event());
    Run run{pair, pump};

    const Frame runt = frame(10, 9); // shorter than an Ethernet header
    const Frame good = frame(80, 1);
    REQUIRE(device.push({runt, good}) == 2);
    REQUIRE(ssh_channel_write(client, runt.data(), static_cast<uint32_t>(runt.size())) == 10);
    REQUIRE(ssh_channel_write(client, good.data(), static_cast<uint32_t>(good.size())) == 80);
    REQUIRE(run.until([&] { return !peer.got.empty() && !device.written.empty(); }));
    run.rounds(5, false);
    CHECK(peer.got == std::vector<Frame>{good});
    CHECK(device.written == std::vector<Frame>{good});
    CHECK(pump.stats().dropped_from_device == 1);
    CHECK(pump.stats().dropped_from_peer == 1);
    CHECK(pump.stats().frames_from_peer == 2); // counted as received, then dropped
}

TEST_CASE("rule: the frames of one wake-up stay corked in libssh and leave together", "[pump][rules]")
{
    SessionPair pair;
    Peer peer(pair.client_channel());
    FakeDevice device;
    TunnelPump pump(pair.server(), pair.take_server_channel(), device, "fake0 (test)", unbounded());
    pump.attach(pair.server_event());
    Run run{pair, pump};

    // libssh's output for the socket after each frame the pump took: corked,
    // it grows frame by frame inside the read (uncorked, each frame would
    // go to the idle socket at once and leave it at 0).
    std::vector<std::size_t> pending;
    device.on_frame_read = [&](std::size_t) { pending.push_back(ssh_session_get_pending_output(pair.server())); };
    const auto sent = frames(10);
    REQUIRE(device.push(sent) == sent.size());
    REQUIRE(run.until([&] { return peer.got.size() >= sent.size(); }));
    CHECK(peer.got == sent);
    REQUIRE(pending.size() == sent.size());
    for (std::size_t i = 1; i < pending.size(); ++i) {
        INFO("frame " << i << ": " << pending[i - 1] << " -> " << pending[i]);
        CHECK(pending[i] > pending[i - 1]);
    }
    CHECK(ssh_session_get_pending_output(pair.server()) == 0); // flushed once the wake-up ended
}

TEST_CASE("rule: frames held by the device are taken by service() without a POLLIN", "[pump][rules]")
{
    SessionPair pair;
    Peer peer(pair.client_channel());
    FakeDevice device;
    TunnelPump pump(pair.server(), pair.take_server_channel(), device, "fake0 (test)", unbounded());
    pump.attach(pair.server_event());
    Run run{pair, pump};

    const auto sent = frames(200);
    device.hold(sent); // read_fd() never becomes readable
    CHECK(pump.poll_timeout_ms() == 0); // the owner must not sleep on them
    REQUIRE(run.until([&] { return peer.got.size() >= sent.size(); }));
    CHECK(peer.got == sent);
    CHECK(device.held() == 0);
    CHECK(pump.poll_timeout_ms() == -1);
}

// libssh's own account of re-keys on the server, from its packet log (the
// log callback and level are process-wide: restored on every exit path).
struct RekeyLog {
    static inline int rekeys = 0;
    static inline int queued = 0;
    RekeyLog()
    {
        rekeys = queued = 0;
        old_level_ = ssh_get_log_level();
        old_cb_ = ssh_get_log_callback();
        ssh_set_log_callback(&RekeyLog::on_log);
        ssh_set_log_level(SSH_LOG_PACKET);
    }
    ~RekeyLog()
    {
        ssh_set_log_level(old_level_);
        ssh_set_log_callback(old_cb_);
    }
    RekeyLog(const RekeyLog&) = delete;
    RekeyLog& operator=(const RekeyLog&) = delete;

private:
    static void on_log(int, const char*, const char* message, void*)
    {
        if (std::strstr(message, "triggered rekey") != nullptr) ++rekeys;
        if (std::strstr(message, "Queuing packet") != nullptr) ++queued;
    }
    int old_level_;
    ssh_logging_callback old_cb_;
};

TEST_CASE("rule: frames sent across key re-exchanges are neither dropped nor reordered, and the pump lives on",
          "[pump][rules]")
{
    // A re-key every 16 KiB; 400 frames of about 225 bytes make several.
    SessionPair pair(feth::TunMode::Ethernet, 16384);
    Peer peer(pair.client_channel());
    FakeDevice device;
    TunnelPump pump(pair.server(), pair.take_server_channel(), device, "fake0 (test)", unbounded());
    pump.attach(pair.server_event());
    Run run{pair, pump};

    RekeyLog log;
    const auto sent = frames(400, 200);
    std::size_t next = device.push(sent);
    REQUIRE(run.until([&] {
        next += device.push(std::vector<Frame>(sent.begin() + static_cast<long>(next), sent.end()));
        return peer.got.size() >= sent.size() || pump.finished();
    }));
    INFO("re-keys " << RekeyLog::rekeys << ", packets libssh queued meanwhile " << RekeyLog::queued
                    << ", frames the pump queued " << pump.stats().queued_to_peer);
    CHECK(RekeyLog::rekeys >= 2); // the re-keys did happen
    CHECK(peer.got == sent);
    CHECK(pump.stats().frames_to_peer == sent.size());
    CHECK(pump.stats().dropped_from_device == 0);
    CHECK_FALSE(pump.finished());
}
