#include "pump.hpp"

#include <poll.h>

#include <algorithm>
#include <exception>

#include "base/log.hpp"

namespace feth {
namespace {

// A device that cannot say when it has room again (WriteRetry::OnTimer) is
// retried after 1 ms, then 2 and 4 while it stays full: soon enough that a
// driver's queue, which drains in microseconds, does not idle the tunnel,
// and far from a busy loop.
constexpr std::chrono::milliseconds kFirstRetry{1};
constexpr std::chrono::milliseconds kLongestRetry{4};

// How often the device's MTU is asked again while frames come from the
// peer, and how soon again before a frame above it is dropped: an MTU set
// after the tunnel started (TunnelUpCommand, `ip link`) counts within
// these, for a system call or three per second.
constexpr std::chrono::seconds kMtuRefresh{1};
constexpr std::chrono::milliseconds kMtuRecheck{100};

} // namespace

TunnelPump::TunnelPump(ssh_session session, ChannelPtr channel, Device& device, std::string label,
                       PumpLimits limits)
    : session_(session), channel_(std::move(channel)), device_(device), label_(std::move(label)),
      limits_(limits)
{
    // Registered before control returns to the event loop, so no frame can
    // arrive unseen.
    ssh_callbacks_init(&callbacks_);
    callbacks_.userdata = this;
    callbacks_.channel_data_function = &TunnelPump::on_channel_data;
    callbacks_.channel_eof_function = &TunnelPump::on_channel_eof;
    callbacks_.channel_close_function = &TunnelPump::on_channel_close;
    ssh_set_channel_callbacks(channel_.get(), &callbacks_);
}

TunnelPump::~TunnelPump()
{
    unregister();
    ssh_remove_channel_callbacks(channel_.get(), &callbacks_);
    // channel_ is freed next, sending CLOSE if still needed.
}

void TunnelPump::attach(ssh_event event)
{
    event_ = event;
    update_registration();
}

bool TunnelPump::window_fits(std::size_t len) const
{
    // Towards OpenSSH the patched libssh charges len + 4 itself; asking for
    // the extra 4 bytes everywhere keeps the check simple and safe.
    return wire::fits_window(ssh_channel_window_size(channel_.get()), len);
}

// The output bound with its hysteresis: stop above the limit, resume below
// half, so that each pause lasts for many socket writes rather than one.
bool TunnelPump::output_full()
{
    const std::size_t pending = ssh_session_get_pending_output(session_);
    if (!output_full_ && pending >= limits_.pending_output_limit) {
        output_full_ = true;
        ++stats_.output_paused;
    } else if (output_full_ && pending <= limits_.pending_output_limit / 2) {
        output_full_ = false;
    }
    return output_full_;
}

// Whether a frame of `len` bytes from the peer is above what the device's
// MTU lets through. The MTU is asked again once a second, or before a drop
// once 100 ms have passed since the last time; a device that cannot tell
// (mtu() 0) leaves the last answer or PumpLimits::device_mtu.
bool TunnelPump::oversize(std::size_t len)
{
    const auto now = Clock::now();
    auto ask = [&] {
        mtu_asked_at_ = now;
        if (unsigned m = device_.mtu(); m != 0) mtu_ = m;
        else if (mtu_ == 0) mtu_ = limits_.device_mtu;
    };
    if (!mtu_asked_at_ || now - *mtu_asked_at_ >= kMtuRefresh) ask();
    if (len <= max_frame_for_mtu(device_.mode(), mtu_)) return false;
    if (now - *mtu_asked_at_ >= kMtuRecheck) ask();
    return len > max_frame_for_mtu(device_.mode(), mtu_);
}

// ---- peer -> device -------------------------------------------------------

int TunnelPump::on_channel_data(ssh_session, ssh_channel, void* data, uint32_t len, int is_stderr,
                                void* userdata)
{
    auto* self = static_cast<TunnelPump*>(userdata);
    if (is_stderr == 0) {
        self->frame_from_peer({static_cast<const std::uint8_t*>(data), len});
    } else {
        ++self->stats_.dropped_from_peer; // tunnels carry no extended data
    }
    // Always consume everything: libssh would glue a leftover to the next
    // frame, and a frame we drop must still open the window again.
    return static_cast<int>(len);
}

void TunnelPump::frame_from_peer(std::span<const std::uint8_t> frame)
{
    if (state_ != State::Running) return;
    ++stats_.frames_from_peer;
    stats_.bytes_from_peer += frame.size();
    if (wire::check_frame(device_.mode(), frame) != wire::Verdict::Ok) {
        ++stats_.dropped_from_peer;
        return;
    }
    if (oversize(frame.size())) {
        ++stats_.dropped_oversize;
        return;
    }
    if (to_device_.empty()) {
        try {
            switch (device_.write_frame(frame)) {
            case WriteResult::Written: return;
            case WriteResult::Rejected: ++stats_.dropped_from_peer; return;
            case WriteResult::WouldBlock: wait_for_device(false); break;
            }
        } catch (const std::exception& e) {
            fail(e.what());
            return;
        }
    }
    if (to_device_.size() >= limits_.device_queue_frames) {
        ++stats_.dropped_device_full;
        return;
    }
    to_device_.emplace_back(frame.begin(), frame.end());
}

void TunnelPump::flush_device_queue()
{
    bool made_progress = false;
    while (!to_device_.empty() && state_ == State::Running) {
        WriteResult r;
        try {
            r = device_.write_frame(to_device_.front());
        } catch (const std::exception& e) {
            fail(e.what());
            return;
        }
        if (r == WriteResult::WouldBlock) {
            wait_for_device(made_progress);
            return;
        }
        if (r == WriteResult::Rejected) ++stats_.dropped_from_peer;
        to_device_.pop_front();
        made_progress = true;
    }
    retry_at_.reset();
}

// The device is full: the frame stays queued. A device whose POLLOUT says
// when it has room is watched for it (update_registration); any other is
// retried on a timer that backs off while the retries fail.
void TunnelPump::wait_for_device(bool made_progress)
{
    ++stats_.device_busy;
    if (device_.write_retry() != WriteRetry::OnTimer) return;
    retry_delay_ = retry_at_ && !made_progress ? std::min(2 * retry_delay_, kLongestRetry) : kFirstRetry;
    retry_at_ = Clock::now() + retry_delay_;
}

bool TunnelPump::device_retry_due() const
{
    return device_.write_retry() == WriteRetry::OnPollout || !retry_at_ || Clock::now() >= *retry_at_;
}

// ---- device -> peer -------------------------------------------------------

namespace {

// Frames sent within one wake-up leave in one socket write instead of one
// send() (and a poll()) each: the per-frame system calls, not the cipher,
// are what a tunnel spends its CPU on (docs/performance.md).
class SessionCork {
public:
    explicit SessionCork(ssh_session session) : session_(session) { ssh_session_set_cork(session_, 1); }
    ~SessionCork() { ssh_session_set_cork(session_, 0); } // a failed flush surfaces on the next poll
    SessionCork(const SessionCork&) = delete;
    SessionCork& operator=(const SessionCork&) = delete;

private:
    ssh_session session_;
};

} // namespace

int TunnelPump::on_device_event(socket_t fd, int revents, void* userdata)
{
    auto* self = static_cast<TunnelPump*>(userdata);
    if ((revents & POLLNVAL) != 0) {
        self->fail("device " + self->device_.name() + ": descriptor no longer valid");
        return SSH_OK;
    }
    if (fd == self->device_.write_fd() && (revents & POLLOUT) != 0) self->flush_device_queue();
    if (fd == self->device_.read_fd() && (revents & (POLLIN | POLLERR | POLLHUP)) != 0) self->read_device();
    return SSH_OK;
}

void TunnelPump::read_device()
{
    if (state_ != State::Running || !to_peer_.empty() || output_full()) return;
    SessionCork cork(session_);
    try {
        device_.read_frames(*this, limits_.frames_per_wakeup);
    } catch (const std::exception& e) {
        fail(e.what());
    }
}

bool TunnelPump::on_frame(std::span<const std::uint8_t> frame)
{
    if (state_ != State::Running) return false;
    if (wire::check_frame(device_.mode(), frame) != wire::Verdict::Ok) {
        ++stats_.dropped_from_device;
        return true;
    }
    if (to_peer_.empty()) {
        switch (send_to_peer(frame)) {
        case SendResult::Sent: return true;
        case SendResult::Failed: return false;
        case SendResult::Later: break;
        }
    }
    // Keep it and stop reading until the window opens, the re-key ends or
    // libssh's output for the socket drains (send_to_peer says which).
    to_peer_.emplace_back(frame.begin(), frame.end());
    ++stats_.queued_to_peer;
    return false;
}

TunnelPump::SendResult TunnelPump::send_to_peer(std::span<const std::uint8_t> frame)
{
    if (state_ != State::Running) return SendResult::Failed;
    if (!window_fits(frame.size())) return SendResult::Later;
    // Kept (and the device left unread) while the TCP socket has not taken
    // what libssh holds already.
    if (output_full()) return SendResult::Later;
    int rc = ssh_channel_write(channel_.get(), frame.data(), static_cast<uint32_t>(frame.size()));
    if (rc == static_cast<int>(frame.size())) {
        ++stats_.frames_to_peer;
        stats_.bytes_to_peer += frame.size();
        return SendResult::Sent;
    }
    if (rc == 0) return SendResult::Later; // key re-exchange in progress
    if (state_ != State::Running) return SendResult::Failed; // closed while flushing
    if (rc > 0) {
        fail("libssh split a frame (" + std::to_string(rc) + " of " + std::to_string(frame.size()) + " bytes)");
    } else {
        fail(std::string("writing to the channel failed: ") + ssh_get_error(session_));
    }
    return SendResult::Failed;
}

void TunnelPump::flush_peer_queue()
{
    if (to_peer_.empty()) return;
    SessionCork cork(session_);
    while (!to_peer_.empty() && state_ == State::Running) {
        if (send_to_peer(to_peer_.front()) != SendResult::Sent) return;
        to_peer_.pop_front();
    }
}

// ---- lifecycle ------------------------------------------------------------

void TunnelPump::on_channel_eof(ssh_session, ssh_channel, void* userdata)
{
    auto* self = static_cast<TunnelPump*>(userdata);
    // A tunnel is useless half-open: OpenSSH sends EOF when its device
    // failed, so end ours too.
    self->peer_eof_ = true;
}

void TunnelPump::on_channel_close(ssh_session, ssh_channel, void* userdata)
{
    auto* self = static_cast<TunnelPump*>(userdata);
    if (self->state_ == State::Finished) return;
    self->state_ = State::Finished;
    self->end_reason_ = "closed by peer";
}

void TunnelPump::close(const std::string& why)
{
    if (state_ == State::Finished) return;
    state_ = State::Finished;
    end_reason_ = why;
    if (ssh_channel_is_open(channel_.get())) {
        ssh_channel_send_eof(channel_.get());
        ssh_channel_close(channel_.get());
    }
}

void TunnelPump::fail(const std::string& why)
{
    if (state_ == State::Finished) return;
    LOG_ERROR("tunnel %s: %s", label_.c_str(), why.c_str());
    close(why);
}

void TunnelPump::service()
{
    if (state_ == State::Running && peer_eof_) close("peer sent EOF");
    if (state_ == State::Running && ssh_channel_is_closed(channel_.get())) {
        state_ = State::Finished;
        end_reason_ = "channel closed";
    }
    if (state_ == State::Running) {
        if (!to_device_.empty() && device_retry_due()) flush_device_queue();
        flush_peer_queue();
        // A bpf read hands over many frames at once; those not taken yet
        // wait in user space, where POLLIN cannot announce them. Take the
        // next batch now, while the window has room (to_peer_ empty).
        if (to_peer_.empty() && device_.has_buffered_frames()) read_device();
        // Brings output_full_ up to date for update_registration(): after a
        // socket write drained the output, reading resumes here.
        output_full();
    }
    update_registration();
}

int TunnelPump::poll_timeout_ms() const
{
    if (state_ != State::Running) return -1;
    // Paused, but the output drained since our service(): another tunnel's
    // write on the same session flushed it, and no POLLOUT is left to wake
    // the owner. service() resumes reading at once.
    if (output_full_ && ssh_session_get_pending_output(session_) <= limits_.pending_output_limit / 2) return 0;
    if (to_peer_.empty() && !output_full_ && device_.has_buffered_frames()) return 0;
    if (to_device_.empty() || !retry_at_) return -1;
    auto left = *retry_at_ - Clock::now();
    if (left <= Clock::duration::zero()) return 0;
    // Rounded up: waking a little early would only poll again at once.
    return static_cast<int>(std::chrono::ceil<std::chrono::milliseconds>(left).count());
}

void TunnelPump::update_registration()
{
    if (event_ == nullptr) return;
    short want_read = 0;
    short want_write = 0;
    if (state_ == State::Running) {
        if (to_peer_.empty() && !output_full_) want_read = POLLIN;
        if (!to_device_.empty() && device_.write_retry() == WriteRetry::OnPollout) want_write = POLLOUT;
    }
    const int rfd = device_.read_fd();
    const int wfd = device_.write_fd();
    auto set = [this](int fd, short now, short want) {
        if (now == want) return;
        if (now != 0) ssh_event_remove_fd(event_, fd);
        if (want != 0 && ssh_event_add_fd(event_, fd, want, &TunnelPump::on_device_event, this) != SSH_OK)
            fail("cannot watch device " + device_.name());
    };
    if (rfd == wfd) {
        short now = static_cast<short>(read_events_ | write_events_);
        short want = static_cast<short>(want_read | want_write);
        read_events_ = want_read;
        write_events_ = want_write;
        set(rfd, now, want);
    } else {
        short now_r = read_events_, now_w = write_events_;
        read_events_ = want_read;
        write_events_ = want_write;
        set(rfd, now_r, want_read);
        set(wfd, now_w, want_write);
    }
}

void TunnelPump::unregister()
{
    if (event_ == nullptr) return;
    const int rfd = device_.read_fd();
    const int wfd = device_.write_fd();
    if (read_events_ != 0 || (rfd == wfd && write_events_ != 0)) ssh_event_remove_fd(event_, rfd);
    if (rfd != wfd && write_events_ != 0) ssh_event_remove_fd(event_, wfd);
    read_events_ = write_events_ = 0;
}

} // namespace feth
