#include "source_limits.hpp"

#include <arpa/inet.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include <csignal>
#include <cstdio>

#include "config/key_options.hpp"
#include "base/log.hpp"

namespace feth::server {

PenaltyKind penalty_for_exit(int exit_status, int signal)
{
    // A monitor (root) killed by a fault is the worst sign of all; one we
    // or the administrator stopped (TERM, KILL) is not the peer's doing.
    if (signal != 0) return signal == SIGTERM || signal == SIGKILL ? PenaltyKind::None : PenaltyKind::Crash;
    switch (exit_status) {
    case kExitLoginGrace: return PenaltyKind::GraceExceeded;
    case kExitChildCrash: return PenaltyKind::Crash;
    case kExitAuthFailed: return PenaltyKind::AuthFail;
    case kExitNoAuth: return PenaltyKind::NoAuth;
    default: return PenaltyKind::None; // authenticated, or our own error
    }
}

void SourceLimits::configure(const config::ServerConfig& cfg)
{
    cfg_ = cfg.per_source_penalties;
    exempt_ = cfg.per_source_penalty_exempt;
    // A new block size makes the old keys meaningless.
    if (masklen4_ != cfg.per_source_masklen4 || masklen6_ != cfg.per_source_masklen6) by_block_.clear();
    masklen4_ = cfg.per_source_masklen4;
    masklen6_ = cfg.per_source_masklen6;
    per_source_max_startups_ = cfg.per_source_max_startups;
    if (!cfg_.enabled) by_block_.clear();
}

std::string SourceLimits::Block::str() const
{
    char text[INET6_ADDRSTRLEN] = "?";
    ::inet_ntop(af, bytes.data(), text, sizeof text);
    return std::string(text) + "/" + std::to_string(bits);
}

std::optional<SourceLimits::Block> SourceLimits::block_of(const std::string& address) const
{
    Block b;
    if (::inet_pton(AF_INET, address.c_str(), b.bytes.data()) == 1) {
        b.af = AF_INET;
        b.bits = masklen4_;
    } else if (::inet_pton(AF_INET6, address.substr(0, address.find('%')).c_str(), b.bytes.data()) == 1) {
        b.af = AF_INET6;
        b.bits = masklen6_;
    } else {
        return std::nullopt;
    }
    for (unsigned bit = b.bits; bit < 128; ++bit) b.bytes[bit / 8] &= static_cast<unsigned char>(~(0x80u >> (bit % 8)));
    return b;
}

bool SourceLimits::exempt(const std::string& address) const
{
    return !exempt_.empty() && config::addr_match_list(address, exempt_) == 1;
}

void SourceLimits::expire(Clock::time_point now)
{
    std::erase_if(by_block_, [now](const auto& kv) { return kv.second.expiry < now; });
}

std::string SourceLimits::penalty_refusal(const std::string& address, Clock::time_point now)
{
    if (!cfg_.enabled || exempt(address)) return {};
    auto b = block_of(address);
    if (!b) return {};
    expire(now);
    std::size_t n = 0;
    for (const auto& [k, p] : by_block_) n += k.af == b->af;
    const bool v4 = b->af == AF_INET;
    if (n >= (v4 ? cfg_.max_sources4 : cfg_.max_sources6) && (v4 ? cfg_.overflow_deny_all4 : cfg_.overflow_deny_all6))
        return "too many penalised addresses";
    auto it = by_block_.find(*b);
    if (it == by_block_.end() || !it->second.active) return {};
    return it->second.reason;
}

bool SourceLimits::startup_allowed(std::size_t unauthenticated) const
{
    return per_source_max_startups_ == 0 || unauthenticated < per_source_max_startups_;
}

void SourceLimits::penalise(const std::string& address, PenaltyKind kind, Clock::time_point now)
{
    if (!cfg_.enabled || kind == PenaltyKind::None) return;
    if (exempt(address)) {
        LOG_DEBUG("srclimit_penalise: address %s is exempt", address.c_str());
        return;
    }
    unsigned secs = 0;
    const char* reason = "";
    switch (kind) {
    case PenaltyKind::Crash: secs = cfg_.crash; reason = "penalty: caused crash"; break;
    case PenaltyKind::AuthFail: secs = cfg_.authfail; reason = "penalty: failed authentication"; break;
    case PenaltyKind::NoAuth: secs = cfg_.noauth; reason = "penalty: connections without attempting authentication"; break;
    case PenaltyKind::GraceExceeded: secs = cfg_.grace_exceeded; reason = "penalty: exceeded LoginGraceTime"; break;
    case PenaltyKind::None: return;
    }
    if (secs == 0) return;
    auto b = block_of(address);
    if (!b) return;
    expire(now);
    const bool v4 = b->af == AF_INET;
    const char* t = v4 ? "ipv4" : "ipv6";
    const std::string block = b->str();
    std::size_t n = 0;
    for (const auto& [k, p] : by_block_) n += k.af == b->af;
    const std::size_t max_sources = v4 ? cfg_.max_sources4 : cfg_.max_sources6;
    auto it = by_block_.find(*b);
    if (it == by_block_.end()) {
        if (n >= max_sources) {
            if (v4 ? cfg_.overflow_deny_all4 : cfg_.overflow_deny_all6) {
                LOG_VERBOSE("srclimit_penalise: %s penalty table full, cannot penalise %s for %s", t, block.c_str(),
                            reason);
                return;
            }
            // permissive: the penalty that ends soonest makes room.
            auto soonest = by_block_.end();
            for (auto i = by_block_.begin(); i != by_block_.end(); ++i)
                if (i->first.af == b->af && (soonest == by_block_.end() || i->second.expiry < soonest->second.expiry))
                    soonest = i;
            if (soonest != by_block_.end()) by_block_.erase(soonest);
        }
        Penalty p;
        p.expiry = now + std::chrono::seconds(secs);
        p.active = secs > cfg_.min;
        p.reason = reason;
        by_block_.emplace(*b, p);
        if (p.active)
            LOG_INFO("srclimit_penalise: %s: new %s active penalty of %u seconds for %s", t, block.c_str(), secs, reason);
        else
            LOG_VERBOSE("srclimit_penalise: %s: new %s deferred penalty of %u seconds for %s", t, block.c_str(), secs,
                        reason);
        return;
    }
    // Penalties add up, to `max` at most; past `min` they are enforced.
    Penalty& p = it->second;
    p.expiry += std::chrono::seconds(secs);
    if (p.expiry - now > std::chrono::seconds(cfg_.max)) p.expiry = now + std::chrono::seconds(cfg_.max);
    const double left = std::chrono::duration<double>(p.expiry - now).count();
    if (left > cfg_.min && !p.active) {
        LOG_INFO("srclimit_penalise: %s: activating %s penalty of %.3f seconds for %s", block.c_str(), t, left, reason);
        p.active = true;
    }
    p.reason = reason;
}

} // namespace feth::server
