// Is the peer still there? sshd's ClientAlive* and ssh's ServerAlive*:
// every interval, a keepalive@openssh.com request that the peer must answer
// (any answer, even a failure, counts); after count_max intervals without a
// single packet from the peer, it is gone. Liveness is read from libssh's
// packet counter, so tunnel traffic counts too and no reply needs parsing.
#pragma once

#include <libssh/libssh.h>
#include <libssh/server.h>

#include <chrono>

namespace feth {

class PeerLiveness {
public:
    using Clock = std::chrono::steady_clock;

    // interval 0: disabled. Installs a receive counter on `session`.
    PeerLiveness(ssh_session session, unsigned interval_s, unsigned count_max)
        : session_(session), interval_(interval_s), count_max_(count_max)
    {
        if (interval_ == 0) return;
        ssh_set_counters(session_, nullptr, &rx_);
        next_ = Clock::now() + std::chrono::seconds(interval_);
    }
    ~PeerLiveness()
    {
        if (interval_ != 0) ssh_set_counters(session_, nullptr, nullptr);
    }
    PeerLiveness(const PeerLiveness&) = delete;
    PeerLiveness& operator=(const PeerLiveness&) = delete;

    // Milliseconds until the next check, for the event loop's poll; -1 when
    // disabled.
    int timeout_ms() const
    {
        if (interval_ == 0) return -1;
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(next_ - Clock::now()).count();
        return left < 0 ? 0 : static_cast<int>(left);
    }

    // Call after every poll. Returns false once the peer is gone.
    bool check()
    {
        if (interval_ == 0 || Clock::now() < next_) return true;
        if (rx_.in_packets != seen_) {
            seen_ = rx_.in_packets;
            missed_ = 0;
        } else if (++missed_ > count_max_) {
            return false;
        }
        ssh_send_keepalive(session_);
        next_ = Clock::now() + std::chrono::seconds(interval_);
        return true;
    }

private:
    ssh_session session_;
    unsigned interval_;
    unsigned count_max_;
    ssh_counter_struct rx_{};
    std::uint64_t seen_ = 0;
    unsigned missed_ = 0;
    Clock::time_point next_{};
};

} // namespace feth
