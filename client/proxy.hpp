// ProxyCommand and ProxyJump, as ssh runs them: the proxy is a process
// whose stdin and stdout are the transport (one end of a socketpair; the
// other end goes to libssh as its socket). ProxyCommand runs as
// `/bin/sh -c "exec <command>"` after %h %n %p %r expansion; ProxyJump runs
// the stock `ssh` from PATH as ssh.c builds it:
// `ssh [-l user] [-p port] [-J <earlier hops>] [-F file] [-v...] -W [%h]:%p <last hop>`.
// The proxy runs in the SSH part (as the user), one per connection
// attempt; it is killed (its pid only: it keeps the terminal's process
// group so that ssh can still prompt) and reaped when the attempt's session
// ends. stderr is inherited, so ssh's own messages reach the user.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "client/connect.hpp"
#include "base/fd.hpp"

namespace feth::client {

// Whether ProxyJump or ProxyCommand is set to something other than "none".
bool uses_proxy(const config::ClientConfig& c);

// The user each hop of a ProxyJump list logs in as: its own, or
// `default_user` for a hop that names none.
std::vector<std::string> jump_hop_users(const std::string& jump, const std::string& default_user);

// The argv of the proxy for `d` (resolved config): {"/bin/sh", "-c",
// "exec <expanded command>"} or {"ssh", ...}. Throws InputError for a
// ProxyJump that loops onto the destination itself.
std::vector<std::string> proxy_argv(const Destination& d);

// A running proxy; the destructor kills (SIGTERM, then SIGKILL) and reaps it.
class ProxyProcess {
public:
    // Starts argv with `transport` as stdin and stdout. `what` names it in
    // messages ("ProxyCommand 'nc %h %p'"). Throws SystemError.
    ProxyProcess(std::vector<std::string> argv, int transport, std::string what);
    ProxyProcess(const ProxyProcess&) = delete;
    ProxyProcess& operator=(const ProxyProcess&) = delete;
    ~ProxyProcess();

    pid_t pid() const { return pid_; }
    // "" while it runs; else "<what> exited with status N" or "... killed
    // by signal N". Reaps it if it ended.
    std::string failure();

private:
    pid_t pid_ = -1;
    bool reaped_ = false;
    int status_ = 0;
    std::string what_;
};

// For connect_session(): starts the proxy of this connection attempt
// (stopping the previous one) and returns our end of its transport.
// Throws ConnectError (Network).
UniqueFd start_proxy(const Destination& d);
// How the current proxy ended ("" if none or still running), waiting
// briefly for its exit: appended to a failed handshake's message.
std::string proxy_failure();
// Stops (kills and reaps) the current proxy, if any.
void stop_proxy();

// Stops the current proxy when a connection attempt's scope ends.
struct ProxyScope {
    ProxyScope() = default;
    ProxyScope(const ProxyScope&) = delete;
    ProxyScope& operator=(const ProxyScope&) = delete;
    ~ProxyScope() { stop_proxy(); }
};

} // namespace feth::client
