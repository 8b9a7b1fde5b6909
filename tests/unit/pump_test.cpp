// TunnelPump over a real libssh session pair (ssh_session_pair.hpp): the
// rules that no Linux device shows, with devices that behave like macOS's.
#include "tunnel/pump.hpp"

#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "bpf_record_builder.hpp"
#include "catch.hpp"
#include "ssh_session_pair.hpp"
#include "tunnel/bpf_records.hpp"
#include "base/error.hpp"

using feth::Device;
using feth::FrameSink;
using feth::TunMode;
using feth::TunnelPump;
using feth::UniqueFd;
using feth::WriteResult;
using feth::WriteRetry;
using feth::test::Bytes;
using feth::test::SessionPair;

namespace {

// Rounds of SessionPair::run, each at most 20 ms: generous bounds for what
// takes a few rounds, and a failure (not a hang) when frames stall.
constexpr int kRounds = 500;

// Ethernet frames of 60 to 1000 bytes, each carrying its number.
std::vector<Bytes> make_frames(std::size_t count)
{
    std::vector<Bytes> frames;
    for (std::size_t i = 0; i < count; ++i) {
        Bytes f(60 + (i * 157) % 941);
        const std::uint8_t head[14] = {0x02, 0, 0, 0, 0, 0x01, 0x02, 0, 0, 0, 0, 0x02, 0x88, 0xb5};
        std::memcpy(f.data(), head, sizeof head);
        const std::uint32_t n = static_cast<std::uint32_t>(i);
        std::memcpy(f.data() + 14, &n, sizeof n);
        for (std::size_t j = 18; j < f.size(); ++j) f[j] = static_cast<std::uint8_t>(i + j);
        frames.push_back(std::move(f));
    }
    return frames;
}

std::size_t total_size(const std::vector<Bytes>& frames)
{
    std::size_t n = 0;
    for (const auto& f : frames) n += f.size();
    return n;
}

// What a bpf read() hands over: one record per frame, the last unpadded.
Bytes bpf_buffer(const std::vector<Bytes>& frames)
{
    Bytes buf;
    for (std::size_t i = 0; i < frames.size(); ++i) feth::test::add_record(buf, frames[i], 18, i + 1 < frames.size());
    return buf;
}

// A feth pair's read side as macOS has it, but over a SOCK_SEQPACKET
// socket: each message the test feeds is one bpf hold buffer, which one
// read() returns whole, and the real bpf::ReadBuffer walks it. Writes are
// kept (this device's write side is not under test).
class BpfBurstDevice final : public Device {
public:
    BpfBurstDevice(std::size_t buffer_size, std::pair<UniqueFd, UniqueFd> fds)
        : device_(std::move(fds.first)), feed_(std::move(fds.second)), buffer_(buffer_size, "device feth5000 (bpf)")
    {
        int size = 1 << 20; // room for a whole buffer in one message (capped by net.core.wmem_max)
        ::setsockopt(feed_.get(), SOL_SOCKET, SO_SNDBUF, &size, sizeof size);
    }

    // The kernel's hold buffer becomes readable: one message.
    void deliver(const Bytes& hold_buffer)
    {
        ssize_t n = ::send(feed_.get(), hold_buffer.data(), hold_buffer.size(), MSG_NOSIGNAL);
        if (n != static_cast<ssize_t>(hold_buffer.size())) feth::throw_errno("test device", "send");
    }

    const std::string& name() const override { return name_; }
    const std::string& io_name() const override { return io_name_; }
    TunMode mode() const override { return TunMode::Ethernet; }
    const char* backend() const override { return "feth"; }
    bool created() const override { return false; }
    int read_fd() const override { return device_.get(); }
    int write_fd() const override { return device_.get(); }

    std::size_t read_frames(FrameSink& sink, std::size_t max_frames) override
    {
        ++read_calls;
        return buffer_.read(
            device_.get(), [&](std::span<const std::uint8_t> frame) { return sink.on_frame(frame); }, max_frames);
    }
    bool has_buffered_frames() const override { return buffer_.has_records(); }

    WriteResult write_frame(std::span<const std::uint8_t> frame) override
    {
        written.emplace_back(frame.begin(), frame.end());
        return WriteResult::Written;
    }

    std::size_t read_calls = 0;
    std::vector<Bytes> written;

private:
    std::string name_ = "feth0";
    std::string io_name_ = "feth5000";
    UniqueFd device_;
    UniqueFd feed_;
    feth::bpf::ReadBuffer buffer_;
};

// A device full now and then whose POLLOUT means nothing (NDRV): refuses
// the first three writes in a row, then every seventh.
class BusyDevice final : public Device {
public:
    using Clock = std::chrono::steady_clock;

    BusyDevice()
    {
        int sv[2]; // never readable, always writable
        if (::socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0) feth::throw_errno("test device", "socketpair");
        device_.reset(sv[0]);
        peer_.reset(sv[1]);
        feth::set_nonblocking_cloexec(device_.get(), "test device");
    }

    const std::string& name() const override { return name_; }
    const std::string& io_name() const override { return io_name_; }
    TunMode mode() const override { return TunMode::Ethernet; }
    const char* backend() const override { return "feth"; }
    bool created() const override { return false; }
    int read_fd() const override { return device_.get(); }
    int write_fd() const override { return device_.get(); }
    std::size_t read_frames(FrameSink&, std::size_t) override { return 0; }
    WriteRetry write_retry() const override { return WriteRetry::OnTimer; }

    WriteResult write_frame(std::span<const std::uint8_t> frame) override
    {
        const auto now = Clock::now();
        if (refused_at) {
            const auto gap = now - *refused_at;
            if (!shortest_retry || gap < *shortest_retry) shortest_retry = gap;
            refused_at.reset();
        }
        ++attempts;
        if (attempts <= 3 || attempts % 7 == 0) {
            ++refused;
            refused_at = now;
            return WriteResult::WouldBlock;
        }
        written.emplace_back(frame.begin(), frame.end());
        return WriteResult::Written;
    }

    std::size_t attempts = 0;
    std::size_t refused = 0;
    std::optional<Clock::time_point> refused_at; // the last refusal, until the next attempt
    std::optional<Clock::duration> shortest_retry;
    std::vector<Bytes> written;

private:
    std::string name_ = "feth0";
    std::string io_name_ = "feth5000";
    UniqueFd device_;
    UniqueFd peer_;
};

// A device like a tap: one frame per message on a non-blocking
// SOCK_SEQPACKET socketpair, which the test feeds as far as it takes them
// (feed()), as a kernel queue fills while nobody reads it. Writes are kept.
class FrameSocketDevice final : public Device {
public:
    FrameSocketDevice(TunMode mode = TunMode::Ethernet, unsigned mtu = 0) : mtu_now(mtu), mode_(mode)
    {
        int sv[2];
        if (::socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv) < 0) feth::throw_errno("test device", "socketpair");
        device_.reset(sv[0]);
        feed_.reset(sv[1]);
        feth::set_nonblocking_cloexec(device_.get(), "test device");
        feth::set_nonblocking_cloexec(feed_.get(), "test device feed");
    }

    // Hands the device as many of `frames` from `next` on as its queue
    // takes; returns the new `next`.
    std::size_t feed(const std::vector<Bytes>& frames, std::size_t next)
    {
        while (next < frames.size()) {
            ssize_t n = ::send(feed_.get(), frames[next].data(), frames[next].size(), MSG_NOSIGNAL);
            if (n < 0) {
                if (errno == EAGAIN || errno == EWOULDBLOCK) break;
                feth::throw_errno("test device", "send");
            }
            ++next;
        }
        return next;
    }

    const std::string& name() const override { return name_; }
    const std::string& io_name() const override { return io_name_; }
    TunMode mode() const override { return mode_; }
    const char* backend() const override { return "tap"; }
    bool created() const override { return false; }
    int read_fd() const override { return device_.get(); }
    int write_fd() const override { return device_.get(); }
    unsigned mtu() const override { return mtu_now; }

    std::size_t read_frames(FrameSink& sink, std::size_t max_frames) override
    {
        std::size_t count = 0;
        Bytes buf(feth::wire::kMaxFrame);
        while (count < max_frames) {
            ssize_t n = ::recv(device_.get(), buf.data(), buf.size(), 0);
            if (n < 0) {
                if (errno == EAGAIN || errno == EWOULDBLOCK) break;
                feth::throw_errno("test device", "recv");
            }
            ++count;
            if (!sink.on_frame({buf.data(), static_cast<std::size_t>(n)})) break;
        }
        return count;
    }

    WriteResult write_frame(std::span<const std::uint8_t> frame) override
    {
        written.emplace_back(frame.begin(), frame.end());
        return WriteResult::Written;
    }

    std::vector<Bytes> written;
    unsigned mtu_now; // what the "kernel" says; 0: cannot tell

private:
    std::string name_ = "tap0";
    std::string io_name_;
    TunMode mode_;
    UniqueFd device_;
    UniqueFd feed_;
};

// The peer's end of the channel: keeps every CHANNEL_DATA as one frame.
class PeerFrames {
public:
    explicit PeerFrames(ssh_channel channel) : channel_(channel)
    {
        ssh_callbacks_init(&callbacks_);
        callbacks_.userdata = this;
        callbacks_.channel_data_function = &PeerFrames::on_data;
        ssh_set_channel_callbacks(channel_, &callbacks_);
    }
    ~PeerFrames() { ssh_remove_channel_callbacks(channel_, &callbacks_); }
    PeerFrames(const PeerFrames&) = delete;
    PeerFrames& operator=(const PeerFrames&) = delete;

    std::vector<Bytes> frames;

private:
    static int on_data(ssh_session, ssh_channel, void* data, uint32_t len, int, void* userdata)
    {
        auto* self = static_cast<PeerFrames*>(userdata);
        const auto* p = static_cast<const std::uint8_t*>(data);
        self->frames.emplace_back(p, p + len);
        return static_cast<int>(len);
    }

    ssh_channel channel_;
    ssh_channel_callbacks_struct callbacks_{};
};

// The frames after the first `skip` the peer received.
std::vector<Bytes> received_after(const PeerFrames& peer, std::size_t skip)
{
    if (peer.frames.size() < skip) return {};
    return {peer.frames.begin() + static_cast<std::ptrdiff_t>(skip), peer.frames.end()};
}

} // namespace

TEST_CASE("a burst of bpf records from one read reaches the peer in full, without another POLLIN", "[pump]")
{
    auto fds = feth::test::hold_buffer_pair();
    if (!fds) {
        WARN("skipped: no AF_UNIX SOCK_SEQPACKET on this platform to stand in for bpf");
        return;
    }
    SessionPair pair;
    PeerFrames peer(pair.client_channel());
    BpfBurstDevice device(512 * 1024, std::move(*fds));
    TunnelPump pump(pair.server(), pair.take_server_channel(), device, "feth0 (test)");
    pump.attach(pair.server_event());

    const auto frames = make_frames(300);
    device.deliver(bpf_buffer(frames)); // the only time the device becomes readable

    const bool all = pair.run([&] { return peer.frames.size() >= frames.size() || pump.finished(); },
                              [&] { return pump.poll_timeout_ms(); }, [&] { pump.service(); }, kRounds);
    INFO("frames at the peer: " << peer.frames.size() << ", pump: " << pump.end_reason());
    REQUIRE(all);
    CHECK(peer.frames == frames); // in order, intact, one CHANNEL_DATA each
    CHECK(pump.stats().frames_to_peer == frames.size());
    CHECK(pump.stats().dropped_from_device == 0);
    // More than one batch of 64 came out of the one read: the pump went
    // back for them itself.
    CHECK(device.read_calls >= frames.size() / 64);
    CHECK_FALSE(device.has_buffered_frames());
    CHECK(pump.poll_timeout_ms() == -1); // nothing left: the owner may sleep
}

TEST_CASE("a burst of bpf records waits while the peer's window is full and resumes when it opens", "[pump]")
{
    auto fds = feth::test::hold_buffer_pair();
    if (!fds) {
        WARN("skipped: no AF_UNIX SOCK_SEQPACKET on this platform to stand in for bpf");
        return;
    }
    SessionPair pair;
    PeerFrames peer(pair.client_channel());
    const auto frames = make_frames(300);
    const std::size_t burst = total_size(frames);

    // Use up the window (past the pump) so that about half the burst fits.
    // The peer is libssh, which charges each datagram its length only.
    ssh_channel channel = pair.server_channel();
    const std::uint32_t window = ssh_channel_window_size(channel);
    REQUIRE(window > burst);
    std::size_t filler = window - burst / 2;
    std::size_t filler_frames = 0;
    const Bytes chunk(16000, 0xff);
    while (filler > 0) {
        const std::size_t n = std::min(filler, chunk.size());
        REQUIRE(ssh_channel_write(channel, chunk.data(), static_cast<uint32_t>(n)) == static_cast<int>(n));
        filler -= n;
        ++filler_frames;
    }

    BpfBurstDevice device(512 * 1024, std::move(*fds));
    // The filler waits in libssh's output (the peer does not read), above
    // the output bound: lift it, so that the window alone holds the pump
    // here (the bound has a test of its own below).
    feth::PumpLimits limits;
    limits.pending_output_limit = std::size_t{64} << 20;
    TunnelPump pump(pair.server(), pair.take_server_channel(), device, "feth0 (test)", limits);
    pump.attach(pair.server_event());
    device.deliver(bpf_buffer(frames));

    // The peer reads nothing yet: the pump sends until the window is full,
    // then holds the rest and asks for no early wake-up.
    const bool stuck = pair.run([&] { return pump.stats().frames_to_peer > 0 && pump.poll_timeout_ms() == -1; },
                                [&] { return pump.poll_timeout_ms(); }, [&] { pump.service(); }, kRounds,
                                /*hold_client=*/true);
    INFO("frames sent: " << pump.stats().frames_to_peer << ", pump: " << pump.end_reason());
    REQUIRE(stuck);
    CHECK(pump.stats().frames_to_peer > frames.size() / 4);
    CHECK(pump.stats().frames_to_peer < frames.size() * 3 / 4);
    CHECK(pump.stats().queued_to_peer >= 1);
    CHECK(device.has_buffered_frames()); // the rest of the read waits in user space
    CHECK_FALSE(pump.finished());

    // The peer reads and opens its window: the rest follows, still without
    // the device becoming readable again.
    const bool all = pair.run([&] { return peer.frames.size() >= filler_frames + frames.size() || pump.finished(); },
                              [&] { return pump.poll_timeout_ms(); }, [&] { pump.service(); }, kRounds);
    INFO("frames at the peer: " << peer.frames.size() << " (" << filler_frames << " filler)");
    REQUIRE(all);
    CHECK(received_after(peer, filler_frames) == frames);
    CHECK(pump.stats().frames_to_peer == frames.size());
    CHECK(pump.stats().dropped_from_device == 0);
    CHECK_FALSE(device.has_buffered_frames());
}

TEST_CASE("a full device that cannot signal room is retried on a short timer, counted, and loses nothing", "[pump]")
{
    SessionPair pair;
    BusyDevice device;
    TunnelPump pump(pair.server(), pair.take_server_channel(), device, "feth0 (test)");
    pump.attach(pair.server_event());

    const auto frames = make_frames(40);
    for (const auto& f : frames)
        REQUIRE(ssh_channel_write(pair.client_channel(), f.data(), static_cast<uint32_t>(f.size())) ==
                static_cast<int>(f.size()));

    // While a refused frame waits, the pump names its retry time (never
    // "only descriptors", which would stall it: nothing announces room).
    std::size_t waits_without_timer = 0;
    int longest_wait_ms = 0;
    const bool all = pair.run(
        [&] { return device.written.size() >= frames.size() || pump.finished(); },
        [&] { return pump.poll_timeout_ms(); },
        [&] {
            pump.service();
            if (!device.refused_at) return;
            const int t = pump.poll_timeout_ms();
            if (t < 0) ++waits_without_timer;
            longest_wait_ms = std::max(longest_wait_ms, t);
        },
        kRounds);
    INFO("frames at the device: " << device.written.size() << ", pump: " << pump.end_reason());
    REQUIRE(all);
    CHECK(device.written == frames);
    CHECK(device.refused >= 5);
    CHECK(pump.stats().device_busy == device.refused);
    CHECK(pump.stats().dropped_device_full == 0);
    CHECK(pump.stats().dropped_from_peer == 0);
    CHECK(waits_without_timer == 0);
    CHECK(longest_wait_ms <= 4); // the backoff is bounded
    // Retried on the timer, not at once (as waiting on an always-set POLLOUT
    // would): never sooner than the first delay.
    REQUIRE(device.shortest_retry);
    CHECK(*device.shortest_retry >= std::chrono::milliseconds(1));
}

TEST_CASE("the largest frame from the peer is the MTU plus the header, a VLAN tag on Ethernet", "[pump]")
{
    using feth::max_frame_for_mtu;
    CHECK(max_frame_for_mtu(TunMode::Ethernet, 1500) == 1518);
    CHECK(max_frame_for_mtu(TunMode::PointToPoint, 1500) == 1504);
    CHECK(max_frame_for_mtu(TunMode::Ethernet, 9000) == 9018);
    CHECK(max_frame_for_mtu(TunMode::Ethernet, 0) == feth::wire::kMaxFrame); // unknown
    CHECK(max_frame_for_mtu(TunMode::Ethernet, 16370) == feth::wire::kMaxFrame);
    CHECK(max_frame_for_mtu(TunMode::PointToPoint, 16380) == feth::wire::kMaxFrame);
}

TEST_CASE("frames from the peer above the device's MTU plus header are dropped and counted, the rest delivered",
          "[pump]")
{
    SessionPair pair;
    FrameSocketDevice device;
    feth::PumpLimits limits;
    limits.device_mtu = 1500;
    TunnelPump pump(pair.server(), pair.take_server_channel(), device, "tap0 (test)", limits);
    pump.attach(pair.server_event());

    auto frame = [](std::size_t size, std::uint8_t fill) {
        Bytes f(size, fill);
        const std::uint8_t head[14] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02, 0, 0, 0, 0, 0x02, 0x88, 0xb5};
        std::memcpy(f.data(), head, sizeof head);
        return f;
    };
    const std::vector<Bytes> sent = {frame(1519, 1), frame(1518, 2), frame(60, 3), frame(9018, 4), frame(1518, 5)};
    for (const auto& f : sent)
        REQUIRE(ssh_channel_write(pair.client_channel(), f.data(), static_cast<uint32_t>(f.size())) ==
                static_cast<int>(f.size()));
    const bool all = pair.run([&] { return pump.stats().frames_from_peer >= sent.size() || pump.finished(); },
                              [&] { return pump.poll_timeout_ms(); }, [&] { pump.service(); }, kRounds);
    INFO("pump: " << pump.end_reason());
    REQUIRE(all);
    CHECK(device.written == std::vector<Bytes>{sent[1], sent[2], sent[4]});
    CHECK(pump.stats().dropped_oversize == 2);
    CHECK(pump.stats().dropped_from_peer == 0);
    CHECK_FALSE(pump.finished()); // dropped, not a reason to end the tunnel
}

TEST_CASE("the oversize rule follows the device's MTU when it changes after the start", "[pump]")
{
    SessionPair pair;
    FrameSocketDevice device(TunMode::Ethernet, 1500);
    feth::PumpLimits limits;
    limits.device_mtu = 9000; // the stand-in: the device's own answer wins
    TunnelPump pump(pair.server(), pair.take_server_channel(), device, "tap0 (test)", limits);
    pump.attach(pair.server_event());

    Bytes jumbo(9018, 0x66);
    const std::uint8_t head[14] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02, 0, 0, 0, 0, 0x02, 0x88, 0xb5};
    std::memcpy(jumbo.data(), head, sizeof head);
    auto send_and_wait = [&] {
        const auto before = pump.stats().frames_from_peer;
        REQUIRE(ssh_channel_write(pair.client_channel(), jumbo.data(), static_cast<uint32_t>(jumbo.size())) ==
                static_cast<int>(jumbo.size()));
        REQUIRE(pair.run([&] { return pump.stats().frames_from_peer > before || pump.finished(); },
                         [&] { return pump.poll_timeout_ms(); }, [&] { pump.service(); }, kRounds));
    };
    send_and_wait(); // MTU 1500: dropped
    CHECK(pump.stats().dropped_oversize == 1);
    CHECK(device.written.empty());

    device.mtu_now = 9000; // a TunnelUpCommand raised it
    std::this_thread::sleep_for(std::chrono::milliseconds(150));
    send_and_wait(); // asked again before the drop: delivered
    CHECK(pump.stats().dropped_oversize == 1);
    CHECK(device.written.size() == 1);

    device.mtu_now = 1500; // lowered again: noticed within a second
    std::this_thread::sleep_for(std::chrono::milliseconds(1100));
    send_and_wait();
    CHECK(pump.stats().dropped_oversize == 2);
    CHECK(device.written.size() == 1);
}

TEST_CASE("the device is not read while libssh's output for the socket is above the limit, and nothing is lost",
          "[pump]")
{
    SessionPair pair;
    PeerFrames peer(pair.client_channel());
    FrameSocketDevice device;
    feth::PumpLimits limits;
    limits.pending_output_limit = 64 * 1024;
    // More than the socketpair's buffers and the limit together, less than
    // the window: only the bound can stop the pump.
    std::vector<Bytes> frames;
    const auto pool = make_frames(2000);
    std::size_t total = 0;
    for (const auto& f : pool) {
        if (total + f.size() > 900 * 1024) break;
        frames.push_back(f);
        total += f.size();
    }
    const std::uint32_t window = ssh_channel_window_size(pair.server_channel());
    INFO("window " << window << ", frames " << frames.size() << " (" << total << " bytes)");
    REQUIRE(window > total + 4 * frames.size());
    TunnelPump pump(pair.server(), pair.take_server_channel(), device, "tap0 (test)", limits);
    pump.attach(pair.server_event());

    std::size_t fed = 0;
    std::size_t largest_pending = 0;
    auto after_server = [&] {
        pump.service();
        largest_pending = std::max(largest_pending, ssh_session_get_pending_output(pair.server()));
        fed = device.feed(frames, fed);
    };
    fed = device.feed(frames, fed);

    // The peer reads nothing: the pump fills the socket, then libssh's
    // buffer up to the limit, then stops reading the device and asks for no
    // early wake-up.
    const bool stuck = pair.run(
        [&] { return pump.stats().output_paused > 0 && pump.poll_timeout_ms() == -1; },
        [&] { return pump.poll_timeout_ms(); }, after_server, kRounds, /*hold_client=*/true);
    INFO("sent " << pump.stats().frames_to_peer << ", fed " << fed << ", pending "
                 << ssh_session_get_pending_output(pair.server()) << ", pump: " << pump.end_reason());
    REQUIRE(stuck);
    // More rounds change nothing: the pump waits without reading.
    const auto sent_when_stuck = pump.stats().frames_to_peer;
    const auto fed_when_stuck = fed;
    pair.run([] { return false; }, [&] { return pump.poll_timeout_ms(); }, after_server, 10, /*hold_client=*/true);
    CHECK(pump.stats().frames_to_peer == sent_when_stuck);
    CHECK(fed == fed_when_stuck);
    // At most the frame that crossed the limit beyond it (frames are at
    // most 1000 bytes here, with SSH framing and MAC around them).
    CHECK(largest_pending < limits.pending_output_limit + 2048);
    CHECK(pump.stats().dropped_from_device == 0);

    // The peer reads again: the output drains, the pump resumes, every
    // frame arrives in order.
    const bool all = pair.run(
        [&] { return peer.frames.size() >= frames.size() || pump.finished(); },
        [&] { return pump.poll_timeout_ms(); }, after_server, kRounds * 4);
    INFO("frames at the peer: " << peer.frames.size());
    REQUIRE(all);
    CHECK(peer.frames == frames);
    CHECK(pump.stats().frames_to_peer == frames.size());
    CHECK(pump.stats().dropped_from_device == 0);
    CHECK(largest_pending < limits.pending_output_limit + 2048);
}
