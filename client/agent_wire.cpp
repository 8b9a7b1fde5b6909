// The ssh-agent protocol's framing (agent_wire.hpp).
#include "agent_wire.hpp"

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "base/error.hpp"
#include "base/log.hpp"

namespace feth::client::agent_wire {

UniqueFd connect_to_agent(const std::string& path, const char* who)
{
    sockaddr_un sun{};
    if (path.empty() || path.size() >= sizeof sun.sun_path) {
        LOG_DEBUG("%s: no usable agent path '%s'", who, path.c_str());
        return UniqueFd();
    }
    sun.sun_family = AF_UNIX;
    std::memcpy(sun.sun_path, path.c_str(), path.size());
    UniqueFd fd = open_socket(AF_UNIX, SOCK_STREAM, 0, IoMode::blocking);
    if (!fd || ::connect(fd.get(), reinterpret_cast<sockaddr*>(&sun), sizeof sun) != 0) {
        LOG_DEBUG("%s: cannot connect to the agent at %s: %s", who, path.c_str(), errno_text(errno).c_str());
        return UniqueFd();
    }
    return fd;
}

std::optional<std::string> exchange(int fd, std::string_view framed, std::string& error)
{
    std::size_t sent = 0;
    while (sent < framed.size()) {
        const ssize_t n = ::send(fd, framed.data() + sent, framed.size() - sent, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            error = "write to the agent: " + errno_text(errno);
            return std::nullopt;
        }
        sent += static_cast<std::size_t>(n);
    }
    std::string answer;
    std::size_t want = 4;
    while (answer.size() < want) {
        pollfd p{fd, POLLIN, 0};
        const int rc = ::poll(&p, 1, kAnswerTimeoutMs);
        if (rc < 0 && errno == EINTR) continue;
        if (rc <= 0) {
            error = rc == 0 ? "the agent did not answer" : "poll on the agent: " + errno_text(errno);
            return std::nullopt;
        }
        char buf[4096];
        const ssize_t n = ::read(fd, buf, std::min(sizeof buf, want - answer.size()));
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            error = n == 0 ? "the agent closed the connection" : "read from the agent: " + errno_text(errno);
            return std::nullopt;
        }
        answer.append(buf, static_cast<std::size_t>(n));
        if (want == 4 && answer.size() == 4) {
            std::uint32_t body = 0;
            for (int i = 0; i < 4; ++i) body = (body << 8) | static_cast<std::uint8_t>(answer[static_cast<std::size_t>(i)]);
            if (body == 0 || body > kMaxMessage) {
                error = "the agent's answer has length " + std::to_string(body);
                return std::nullopt;
            }
            want = 4 + body;
        }
    }
    return answer.substr(4);
}

} // namespace feth::client::agent_wire
