#include "source_limits.hpp"

#include <csignal>

#include "catch.hpp"

using feth::server::PenaltyKind;
using feth::server::SourceLimits;
using namespace std::chrono_literals;

TEST_CASE("monitor exit statuses map to sshd's penalties", "[source_limits]")
{
    using namespace feth::server;
    CHECK(penalty_for_exit(kExitAuthenticated, 0) == PenaltyKind::None);
    CHECK(penalty_for_exit(kExitError, 0) == PenaltyKind::None);
    CHECK(penalty_for_exit(kExitLoginGrace, 0) == PenaltyKind::GraceExceeded);
    CHECK(penalty_for_exit(kExitChildCrash, 0) == PenaltyKind::Crash);
    CHECK(penalty_for_exit(kExitAuthFailed, 0) == PenaltyKind::AuthFail);
    CHECK(penalty_for_exit(kExitNoAuth, 0) == PenaltyKind::NoAuth);
    CHECK(penalty_for_exit(0, SIGSEGV) == PenaltyKind::Crash);
    CHECK(penalty_for_exit(0, SIGTERM) == PenaltyKind::None);
    CHECK(penalty_for_exit(0, SIGKILL) == PenaltyKind::None);
}

TEST_CASE("penalties add up past min, to max, per block, and expire", "[source_limits]")
{
    feth::config::ServerConfig cfg; // sshd's defaults: authfail 5s, min 15s, max 600s
    SourceLimits limits(cfg);
    auto t = SourceLimits::Clock::now();
    const std::string a = "198.18.0.2";
    // 5, 10, 15 s: not more than min yet.
    for (int i = 0; i < 3; ++i) limits.penalise(a, PenaltyKind::AuthFail, t);
    CHECK(limits.penalty_refusal(a, t).empty());
    limits.penalise(a, PenaltyKind::AuthFail, t); // 20 s > 15 s
    CHECK(limits.penalty_refusal(a, t) == "penalty: failed authentication");
    CHECK(limits.penalty_refusal("198.18.0.3", t).empty()); // /32 blocks: another address is free
    CHECK(limits.penalty_refusal(a, t + 19s) == "penalty: failed authentication");
    CHECK(limits.penalty_refusal(a, t + 21s).empty()); // expired
    CHECK(limits.penalised_blocks() == 0);
    // A crash (90 s) is enforced at once; penalties stop at max.
    limits.penalise(a, PenaltyKind::Crash, t);
    CHECK(limits.penalty_refusal(a, t) == "penalty: caused crash");
    for (int i = 0; i < 20; ++i) limits.penalise(a, PenaltyKind::Crash, t);
    CHECK(!limits.penalty_refusal(a, t + 599s).empty());
    CHECK(limits.penalty_refusal(a, t + 601s).empty());
    // Nothing for an authenticated connection.
    limits.penalise("198.18.0.4", PenaltyKind::None, t);
    CHECK(limits.penalised_blocks() == 0);
}

TEST_CASE("PerSourceNetBlockSize groups addresses; the exempt list and 'no' spare them", "[source_limits]")
{
    feth::config::ServerConfig cfg;
    cfg.per_source_masklen4 = 24;
    cfg.per_source_masklen6 = 64;
    cfg.per_source_penalty_exempt = "198.18.1.0/24";
    SourceLimits limits(cfg);
    auto t = SourceLimits::Clock::now();
    limits.penalise("198.18.0.2", PenaltyKind::Crash, t);
    CHECK(!limits.penalty_refusal("198.18.0.200", t).empty());
    CHECK(limits.penalty_refusal("198.18.2.1", t).empty());
    limits.penalise("198.18.1.5", PenaltyKind::Crash, t);
    CHECK(limits.penalty_refusal("198.18.1.5", t).empty());
    limits.penalise("2001:db8::1", PenaltyKind::Crash, t);
    CHECK(!limits.penalty_refusal("2001:db8::ffff:1", t).empty());
    CHECK(limits.penalty_refusal("2001:db8:0:1::1", t).empty());
    REQUIRE(limits.block_of("198.18.0.77"));
    CHECK(limits.block_of("198.18.0.77")->str() == "198.18.0.0/24");
    CHECK(!limits.block_of("not an address"));
    cfg.per_source_penalties.enabled = false;
    limits.configure(cfg);
    CHECK(limits.penalty_refusal("198.18.0.2", t).empty());
    limits.penalise("198.18.0.2", PenaltyKind::Crash, t);
    CHECK(limits.penalised_blocks() == 0);
}

TEST_CASE("max-sources: permissive forgets the soonest, deny-all refuses everyone", "[source_limits]")
{
    feth::config::ServerConfig cfg;
    cfg.per_source_penalties.max_sources4 = 2;
    SourceLimits limits(cfg);
    auto t = SourceLimits::Clock::now();
    limits.penalise("198.18.0.1", PenaltyKind::Crash, t);
    limits.penalise("198.18.0.2", PenaltyKind::Crash, t + 1s);
    limits.penalise("198.18.0.3", PenaltyKind::Crash, t + 2s);
    CHECK(limits.penalised_blocks() == 2);
    CHECK(limits.penalty_refusal("198.18.0.1", t + 2s).empty()); // the soonest to end went
    CHECK(!limits.penalty_refusal("198.18.0.3", t + 2s).empty());
    cfg.per_source_penalties.overflow_deny_all4 = true;
    limits.configure(cfg);
    CHECK(limits.penalty_refusal("198.18.0.9", t + 2s) == "too many penalised addresses");
    CHECK(limits.penalty_refusal("2001:db8::9", t + 2s).empty()); // IPv6 has its own table
}

TEST_CASE("PerSourceMaxStartups", "[source_limits]")
{
    feth::config::ServerConfig cfg;
    SourceLimits none(cfg);
    CHECK(none.startup_allowed(1000));
    cfg.per_source_max_startups = 2;
    SourceLimits two(cfg);
    CHECK(two.startup_allowed(1));
    CHECK(!two.startup_allowed(2));
}
