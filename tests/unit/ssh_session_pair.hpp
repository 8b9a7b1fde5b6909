// A libssh server and client in one process, joined by a socketpair, with
// a tun@openssh.com channel open between them: what the pump tests drive a
// real TunnelPump over. The server's host key is made for the test; the
// client logs in with "none", which this server accepts. Both sessions are
// non-blocking, each in an ssh_event of its own, so that a test can run one
// side and hold the other (a peer that does not read fills its window).
#pragma once

#include <libssh/callbacks.h>
#include <libssh/libssh.h>
#include <libssh/server.h>

#include <cstdint>
#include <functional>

#include "tunnel/ssh_handles.hpp"
#include "tunnel/wire.hpp"

namespace feth::test {

class SessionPair {
public:
    // Throws std::runtime_error naming the step that failed.
    // `server_rekey_data` (0: libssh's default): the server re-keys after
    // that many bytes, counted from the first key exchange (libssh fixes
    // the limit when the keys are taken into use).
    explicit SessionPair(TunMode mode = TunMode::Ethernet, std::uint64_t server_rekey_data = 0);
    ~SessionPair();
    SessionPair(const SessionPair&) = delete;
    SessionPair& operator=(const SessionPair&) = delete;

    ssh_session server() const { return server_.get(); }
    ssh_session client() const { return client_.get(); }
    ssh_event server_event() const { return server_event_.get(); }
    ssh_event client_event() const { return client_event_.get(); }

    // The channel's two ends; take_*() hands one over (to a TunnelPump).
    ssh_channel server_channel() const { return server_channel_.get(); }
    ssh_channel client_channel() const { return client_channel_.get(); }
    ChannelPtr take_server_channel() { return std::move(server_channel_); }
    ChannelPtr take_client_channel() { return std::move(client_channel_); }

    // Runs ssh_event_dopoll on the server's event (waiting at most
    // `server_timeout_ms()`, a pump's poll_timeout_ms(), and never more than
    // 20 ms), then `after_server` (a pump's service()), then, unless
    // `hold_client`, the client's event without waiting; until `done`
    // returns true or `max_rounds` rounds have run. Returns done().
    bool run(const std::function<bool()>& done, const std::function<int()>& server_timeout_ms,
             const std::function<void()>& after_server, int max_rounds, bool hold_client = false);

private:
    static int on_auth_none(ssh_session, const char*, void*) { return SSH_AUTH_SUCCESS; }
    static int on_message(ssh_session, ssh_message msg, void* userdata);

    BindPtr bind_;
    SessionPtr server_;
    SessionPtr client_;
    ssh_server_callbacks_struct server_cb_{};
    ChannelPtr server_channel_;
    ChannelPtr client_channel_;
    EventPtr server_event_;
    EventPtr client_event_;
};

} // namespace feth::test
