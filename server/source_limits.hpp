// Per-source limits in the listener, as sshd 9.8's srclimit.c: at most
// PerSourceMaxStartups unauthenticated connections per source block
// (PerSourceNetBlockSize), and PerSourcePenalties: a block whose
// connections end badly (how is told by the monitor's exit status, below)
// is refused for a while. Pure bookkeeping over a clock the caller passes,
// so that the unit tests drive it.
#pragma once

#include <array>
#include <chrono>
#include <cstddef>
#include <map>
#include <optional>
#include <string>

#include "config/server_config.hpp"

namespace feth::server {

// How a connection ended: the monitor's exit status (run_monitor), read by
// the listener. sshd's own numbers where sshd has one (EXIT_LOGIN_GRACE 3,
// EXIT_CHILD_CRASH 4, EXIT_AUTH_ATTEMPTED 5); the rest are ours.
enum MonitorExit : int {
    kExitAuthenticated = 0, // the user logged in (however the session ended later)
    kExitError = 1,         // the monitor could not start the connection: nobody's fault
    kExitLoginGrace = 3,    // LoginGraceTime ran out before authentication
    kExitChildCrash = 4,    // the child died of a signal we did not send, or broke the protocol
    kExitAuthFailed = 5,    // at least one authentication attempt, none accepted
    kExitNoAuth = 7,        // ended without trying to authenticate
};

// What the listener's PerSourcePenalties makes of an exit status (or of a
// monitor killed by a signal: `signal` != 0). "" for no penalty.
enum class PenaltyKind { None, Crash, AuthFail, NoAuth, GraceExceeded };
PenaltyKind penalty_for_exit(int exit_status, int signal);

class SourceLimits {
public:
    using Clock = std::chrono::steady_clock;

    explicit SourceLimits(const config::ServerConfig& cfg) { configure(cfg); }
    // SIGHUP: new settings; the penalties already recorded stay.
    void configure(const config::ServerConfig& cfg);

    // A source block: the address masked to PerSourceNetBlockSize. nullopt
    // for an address that does not parse (never limited).
    struct Block {
        int af = 0;
        std::array<unsigned char, 16> bytes{};
        unsigned bits = 0;
        bool operator==(const Block&) const = default;
        // A map key. Spelled out: libc++ 14 (the Darwin check) has no
        // operator<=> for std::array.
        bool operator<(const Block& o) const
        {
            if (af != o.af) return af < o.af;
            if (bits != o.bits) return bits < o.bits;
            return bytes < o.bytes;
        }
        std::string str() const; // "198.18.0.2/32"
    };
    std::optional<Block> block_of(const std::string& address) const;

    // Whether a new connection from `address` is refused for a penalty:
    // sshd's reason ("penalty: failed authentication", "too many
    // penalised addresses"), or "" when allowed.
    std::string penalty_refusal(const std::string& address, Clock::time_point now);

    // PerSourceMaxStartups: whether one more unauthenticated connection
    // from a block that has `unauthenticated` of them now is allowed.
    bool startup_allowed(std::size_t unauthenticated) const;

    // Records a penalty against `address`'s block; logs as sshd does.
    void penalise(const std::string& address, PenaltyKind kind, Clock::time_point now);

    std::size_t penalised_blocks() const { return by_block_.size(); }

private:
    struct Penalty {
        Clock::time_point expiry;
        bool active = false;
        const char* reason = "";
    };
    void expire(Clock::time_point now);
    bool exempt(const std::string& address) const;

    config::PerSourcePenalties cfg_;
    std::string exempt_;
    unsigned masklen4_ = 32;
    unsigned masklen6_ = 128;
    unsigned per_source_max_startups_ = 0;
    std::map<Block, Penalty> by_block_;
};

} // namespace feth::server
