#include "goodbye.hpp"

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>

#include "base/fd.hpp"
#include "base/log.hpp"
#include "tunnel/ssh_handles.hpp"

namespace feth::client {

void disconnect_cleanly(ssh_session session, const char* reason, std::chrono::milliseconds bound)
{
    using Clock = std::chrono::steady_clock;
    const auto deadline = Clock::now() + bound;
    auto left_ms = [&] {
        const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
        return static_cast<int>(ms > 0 ? ms : 0);
    };
    if (reason != nullptr) ssh_session_set_disconnect_message(session, reason);
    // What the pump queued (a channel close among it) goes first, or the
    // disconnect would wait behind it in libssh's buffer and be lost.
    if (ssh_blocking_flush(session, left_ms()) != SSH_OK) LOG_DEBUG("goodbye: output not flushed in time");
    // libssh writes a packet at once only after the poll saw POLLOUT since
    // its last write; ssh_disconnect resets the socket right after queueing
    // the message, so one poll must come first or the message never leaves.
    EventPtr event(ssh_event_new());
    if (event && ssh_event_add_session(event.get(), session) == SSH_OK) {
        ssh_event_dopoll(event.get(), std::min(left_ms(), 100));
        ssh_event_remove_session(event.get(), session);
    }
    // A second reference keeps the socket open past libssh's close, so
    // that the end is a FIN after the disconnect, never a reset.
    UniqueFd sock(::dup(ssh_get_fd(session)));
    ssh_disconnect(session);
    if (!sock) return;
    ::shutdown(sock.get(), SHUT_WR);
    char buf[4096];
    for (;;) {
        struct pollfd p {sock.get(), POLLIN, 0};
        const int n = ::poll(&p, 1, left_ms());
        if (n <= 0) break; // the server kept the connection open: it is closed now anyway
        const ssize_t r = ::read(sock.get(), buf, sizeof buf);
        if (r <= 0) break; // the server closed its side
    }
}

} // namespace feth::client
