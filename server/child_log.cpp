#include "child_log.hpp"

#include <algorithm>

#include "config/printable.hpp"

namespace feth::server {

ChildLogRelay::ChildLogRelay(std::function<void(const std::string&)> emit, std::string who)
    : emit_(std::move(emit)), who_(std::move(who))
{
}

void ChildLogRelay::feed(std::string_view bytes, Clock::time_point now)
{
    while (!bytes.empty()) {
        const auto nl = bytes.find('\n');
        const std::string_view part = bytes.substr(0, nl);
        if (!cut_) {
            const std::size_t room = kMaxChildLogLine - line_.size();
            line_.append(part.substr(0, room));
            if (part.size() > room) cut_ = true;
        }
        if (nl == std::string_view::npos) break;
        line_done(now);
        bytes.remove_prefix(nl + 1);
    }
}

void ChildLogRelay::finish(Clock::time_point now)
{
    if (!line_.empty() || cut_) line_done(now);
    if (unreported_lines_ > 0) {
        emit_(who_ + ": dropped " + std::to_string(unreported_lines_) + " lines (" +
              std::to_string(unreported_bytes_) + " bytes) of its log at its end (more than " +
              std::to_string(static_cast<unsigned>(kChildLogPerSecond)) + " bytes a second)");
        unreported_lines_ = unreported_bytes_ = 0;
    }
}

void ChildLogRelay::line_done(Clock::time_point now)
{
    if (!refilled_set_) {
        refilled_ = now;
        refilled_set_ = true;
    }
    tokens_ = std::min(kChildLogBurst,
                       tokens_ + std::chrono::duration<double>(now - refilled_).count() * kChildLogPerSecond);
    refilled_ = now;
    const double cost = static_cast<double>(line_.size() + 1);
    if (tokens_ < cost) {
        ++dropped_lines_;
        dropped_bytes_ += line_.size() + 1;
        ++unreported_lines_;
        unreported_bytes_ += line_.size() + 1;
    } else {
        tokens_ -= cost;
        if (unreported_lines_ > 0) {
            emit_(who_ + ": dropped " + std::to_string(unreported_lines_) + " lines (" +
                  std::to_string(unreported_bytes_) + " bytes) of its log (more than " +
                  std::to_string(static_cast<unsigned>(kChildLogPerSecond)) + " bytes a second)");
            unreported_lines_ = unreported_bytes_ = 0;
        }
        emit_(config::printable(line_, kMaxChildLogLine) + (cut_ ? " [line cut]" : ""));
    }
    line_.clear();
    cut_ = false;
}

} // namespace feth::server
