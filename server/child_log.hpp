// The child's log, through its monitor (as sshd's child logs through its
// monitor): the child's standard output and error are the writing end of a
// pipe whose reading end the monitor owns. The monitor copies what comes,
// line by line, to its own log sink (stderr or syslog), so that the child
// needs no file it could grow (RLIMIT_FSIZE 0, sandbox.cpp) and what a
// hostile child writes there is bounded and harmless:
//  - a line is cut at kMaxChildLogLine bytes (the rest, up to its newline,
//    is dropped);
//  - bytes are rate-bounded (a token bucket of kChildLogBurst bytes,
//    refilled at kChildLogPerSecond): past it, lines are dropped and
//    counted, and one line says how many once lines pass again;
//  - every byte that is not printable ASCII is shown as \xNN
//    (config::printable), so the child can neither split nor forge lines
//    with control characters nor send terminal escapes.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

namespace feth::server {

inline constexpr std::size_t kMaxChildLogLine = 4096;
inline constexpr double kChildLogBurst = 256 * 1024;
inline constexpr double kChildLogPerSecond = 64 * 1024;

class ChildLogRelay {
public:
    using Clock = std::chrono::steady_clock;
    // `emit` gets each line to log (printable, no newline).
    explicit ChildLogRelay(std::function<void(const std::string&)> emit, std::string who);

    // Bytes read from the pipe, at `now`.
    void feed(std::string_view bytes, Clock::time_point now = Clock::now());
    // The pipe's end: a partial last line is logged as a line.
    void finish(Clock::time_point now = Clock::now());

    std::uint64_t dropped_lines() const { return dropped_lines_; }
    std::uint64_t dropped_bytes() const { return dropped_bytes_; }

private:
    void line_done(Clock::time_point now);

    std::function<void(const std::string&)> emit_;
    std::string who_;
    std::string line_;
    bool cut_ = false; // the current line passed kMaxChildLogLine
    double tokens_ = kChildLogBurst;
    Clock::time_point refilled_;
    bool refilled_set_ = false;
    std::uint64_t dropped_lines_ = 0;
    std::uint64_t dropped_bytes_ = 0;
    std::uint64_t unreported_lines_ = 0;
    std::uint64_t unreported_bytes_ = 0;
};

} // namespace feth::server
