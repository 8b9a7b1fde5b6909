#include "child_log.hpp"

#include <string>
#include <vector>

#include "catch.hpp"

using feth::server::ChildLogRelay;
using feth::server::kChildLogBurst;
using feth::server::kChildLogPerSecond;
using feth::server::kMaxChildLogLine;
using namespace std::chrono_literals;

namespace {
struct Sink {
    std::vector<std::string> lines;
    ChildLogRelay relay{[this](const std::string& l) { lines.push_back(l); }, "child 7"};
};
} // namespace

TEST_CASE("the child's log: whole lines, split reads, a partial last line", "[child_log]")
{
    Sink s;
    const auto t = ChildLogRelay::Clock::now();
    s.relay.feed("error: one\nerr", t);
    REQUIRE(s.lines.size() == 1);
    CHECK(s.lines[0] == "error: one");
    s.relay.feed("or: two\nthree", t);
    REQUIRE(s.lines.size() == 2);
    CHECK(s.lines[1] == "error: two");
    s.relay.finish(t);
    REQUIRE(s.lines.size() == 3);
    CHECK(s.lines[2] == "three");
}

TEST_CASE("the child's log: control bytes and escapes made printable, no forged lines", "[child_log]")
{
    Sink s;
    const auto t = ChildLogRelay::Clock::now();
    s.relay.feed(std::string("a\rAccepted publickey for root\x1b[2J\0b\n", 36), t);
    REQUIRE(s.lines.size() == 1);
    CHECK(s.lines[0] == "a\\x0dAccepted publickey for root\\x1b[2J\\x00b");
}

TEST_CASE("the child's log: a line is cut at its bound, the rest up to its newline dropped", "[child_log]")
{
    Sink s;
    const auto t = ChildLogRelay::Clock::now();
    s.relay.feed(std::string(kMaxChildLogLine + 100, 'x'), t);
    s.relay.feed(std::string(5000, 'y') + "\nnext\n", t);
    REQUIRE(s.lines.size() == 2);
    CHECK(s.lines[0].substr(0, kMaxChildLogLine) == std::string(kMaxChildLogLine, 'x'));
    CHECK(s.lines[0].find('y') == std::string::npos);
    CHECK(s.lines[0].find("[line cut]") != std::string::npos);
    CHECK(s.lines[1] == "next");
}

TEST_CASE("the child's log: a flood past the byte rate is dropped and counted", "[child_log]")
{
    Sink s;
    const auto t = ChildLogRelay::Clock::now();
    const std::string line(999, 'z');
    const std::size_t n = 4 * static_cast<std::size_t>(kChildLogBurst) / 1000; // four times the burst
    for (std::size_t i = 0; i < n; ++i) s.relay.feed(line + "\n", t);
    const std::size_t passed = s.lines.size();
    CHECK(passed <= static_cast<std::size_t>(kChildLogBurst) / 1000);
    CHECK(passed >= static_cast<std::size_t>(kChildLogBurst) / 1000 - 1);
    CHECK(s.relay.dropped_lines() == n - passed);
    // A second later the bucket has room again: the next line passes after
    // one that says how many went.
    s.relay.feed("later\n", t + 1s);
    REQUIRE(s.lines.size() == passed + 2);
    CHECK(s.lines[passed] == "child 7: dropped " + std::to_string(n - passed) + " lines (" +
                                 std::to_string((n - passed) * 1000) + " bytes) of its log (more than " +
                                 std::to_string(static_cast<unsigned>(kChildLogPerSecond)) + " bytes a second)");
    CHECK(s.lines[passed + 1] == "later");
}
