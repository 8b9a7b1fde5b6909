// An in-memory Device for the pump's tests, after wireguard-go's
// tun/tuntest: the test is the kernel on the other side of the device.
//
//  - frames in: push() queues frames the "kernel" has for the pump, up to
//    `capacity` (a full kernel queue refuses more: back-pressure that the
//    test can see); read_fd() is readable while any are queued.
//  - frames held: hold() gives frames the device has taken from the kernel
//    but not handed out (a bpf read's buffer): has_buffered_frames() is
//    true and read_fd() stays unreadable, so only service() finds them.
//  - frames out: every frame the pump writes lands in `written`, unless the
//    device is `full`, when write_frame says WouldBlock (counted). Its
//    POLLOUT means nothing (WriteRetry::OnTimer, as NDRV), so the pump's
//    retry timer is what brings the frames out once `full` is cleared.
//  - on_frame_read runs after each frame the pump took, with the frame's
//    index in this read: what a test watches inside one wake-up.
#pragma once

#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <span>
#include <string>
#include <vector>

#include "tunnel/device.hpp"
#include "base/error.hpp"
#include "base/fd.hpp"

namespace feth::test {

class FakeDevice final : public Device {
public:
    using Frame = std::vector<std::uint8_t>;

    explicit FakeDevice(TunMode mode = TunMode::Ethernet, std::size_t capacity = 1024)
        : mode_(mode), capacity_(capacity)
    {
        if (open_pipe(IoMode::nonblocking, ready_read_, ready_write_) != 0)
            throw_errno("fake device", "pipe");
    }

    // The kernel queues frames for the pump; returns how many it took.
    std::size_t push(const std::vector<Frame>& frames)
    {
        std::size_t taken = 0;
        for (const auto& f : frames) {
            if (inbound_.size() >= capacity_) break;
            inbound_.push_back(f);
            ++taken;
        }
        update_ready();
        return taken;
    }
    // Frames the device read from the kernel and holds (poll cannot see).
    void hold(const std::vector<Frame>& frames) { held_.insert(held_.end(), frames.begin(), frames.end()); }

    std::size_t queued() const { return inbound_.size(); }
    std::size_t held() const { return held_.size(); }

    const std::string& name() const override { return name_; }
    const std::string& io_name() const override { return name_; }
    TunMode mode() const override { return mode_; }
    const char* backend() const override { return "fake"; }
    bool created() const override { return false; }
    int read_fd() const override { return ready_read_.get(); }
    int write_fd() const override { return ready_read_.get(); }
    WriteRetry write_retry() const override { return WriteRetry::OnTimer; }
    bool has_buffered_frames() const override { return !held_.empty(); }
    unsigned mtu() const override { return mtu_now; }

    std::size_t read_frames(FrameSink& sink, std::size_t max_frames) override
    {
        ++read_calls;
        std::size_t count = 0;
        // What the device holds first, then the kernel's queue, as a bpf
        // reader walks its buffer before it reads again.
        for (auto* q : {&held_, &inbound_}) {
            while (count < max_frames && !q->empty()) {
                const Frame f = std::move(q->front());
                q->pop_front();
                const bool more = sink.on_frame(f);
                if (on_frame_read) on_frame_read(count);
                ++count;
                if (!more) {
                    update_ready();
                    return count;
                }
            }
        }
        update_ready();
        return count;
    }

    WriteResult write_frame(std::span<const std::uint8_t> frame) override
    {
        if (full) {
            ++refused;
            return WriteResult::WouldBlock;
        }
        written.emplace_back(frame.begin(), frame.end());
        return WriteResult::Written;
    }

    bool full = false;
    unsigned mtu_now = 0;
    std::size_t read_calls = 0;
    std::size_t refused = 0;
    std::vector<Frame> written;
    std::function<void(std::size_t)> on_frame_read;

private:
    // read_fd() readable exactly while the kernel queue has frames.
    void update_ready()
    {
        const bool want = !inbound_.empty();
        if (want == ready_) return;
        std::uint8_t byte = 0;
        if (want) {
            if (::write(ready_write_.get(), &byte, 1) != 1) throw_errno("fake device", "write");
        } else {
            if (::read(ready_read_.get(), &byte, 1) != 1) throw_errno("fake device", "read");
        }
        ready_ = want;
    }

    std::string name_ = "fake0";
    TunMode mode_;
    std::size_t capacity_;
    std::deque<Frame> inbound_;
    std::deque<Frame> held_;
    UniqueFd ready_read_;
    UniqueFd ready_write_;
    bool ready_ = false;
};

} // namespace feth::test
