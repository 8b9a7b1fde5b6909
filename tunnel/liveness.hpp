// Is the peer still there? sshd's ClientAlive* and ssh's ServerAlive*:
// every interval, a keepalive@openssh.com request that the peer must answer
// (any answer, even a failure, counts); after count_max intervals without a
// single packet from the peer, it is gone. Liveness is read from libssh's
// packet counter, so tunnel traffic counts too and no reply needs parsing.
// probe(): a keepalive now and a short deadline for any packet, whatever the
// interval (also with keepalives off), for when the network changed under
// the connection.
#pragma once

#include <libssh/libssh.h>
#include <libssh/server.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <optional>

namespace feth {

class PeerLiveness {
public:
    using Clock = std::chrono::steady_clock;

    // interval 0: no periodic keepalives. Installs a receive counter on
    // `session`.
    PeerLiveness(ssh_session session, unsigned interval_s, unsigned count_max)
        : session_(session), interval_(interval_s), count_max_(count_max)
    {
        ssh_set_counters(session_, nullptr, &rx_);
        if (interval_ != 0) next_ = Clock::now() + std::chrono::seconds(interval_);
    }
    ~PeerLiveness() { ssh_set_counters(session_, nullptr, nullptr); }
    PeerLiveness(const PeerLiveness&) = delete;
    PeerLiveness& operator=(const PeerLiveness&) = delete;

    // Milliseconds until the next check, for the event loop's poll; -1 when
    // disabled.
    int timeout_ms() const
    {
        if (interval_ == 0 && !probe_until_) return -1;
        const Clock::time_point at = interval_ == 0 ? *probe_until_
                                     : probe_until_ ? std::min(next_, *probe_until_)
                                                    : next_;
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(at - Clock::now()).count();
        return left < 0 ? 0 : static_cast<int>(left);
    }

    // A keepalive now; the peer is gone unless a packet arrives within
    // `deadline` (check() says so). A probe under way is not restarted.
    void probe(std::chrono::milliseconds deadline)
    {
        if (probe_until_) return;
        probe_seen_ = rx_.in_packets;
        probe_until_ = Clock::now() + deadline;
        ssh_send_keepalive(session_);
    }
    bool probing() const { return probe_until_.has_value(); }

    // Call after every poll. Returns false once the peer is gone.
    bool check()
    {
        if (probe_until_) {
            if (rx_.in_packets != probe_seen_) probe_until_.reset(); // it answered
            else if (Clock::now() >= *probe_until_) return false;
        }
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
    std::optional<Clock::time_point> probe_until_;
    std::uint64_t probe_seen_ = 0;
};

} // namespace feth
