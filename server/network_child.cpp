// The network program's life (feth-sshd-net, network_child.hpp): the
// setup from its monitor, the drop, the sandbox, then the connection.
#include "network_child.hpp"

#include <unistd.h>
#if defined(__linux__)
#include <sys/prctl.h>
#endif

#include <csignal>
#include <cstdio>

#include "handover.hpp"
#include "privsep.hpp"
#include "sandbox.hpp"
#include "ssh_bind_setup.hpp"
#include "status.hpp"
#include "base/error.hpp"
#include "base/log.hpp"
#include "tunnel/device.hpp"

namespace feth::server {
namespace {

// The child must not outlive its monitor, which alone removes its devices:
// Linux kills it when the monitor dies. The check of the parent closes the
// race with a monitor that died before prctl. Elsewhere the child watches
// its monitor socket instead (connection.cpp).
void die_with_monitor(pid_t monitor)
{
#if defined(__linux__)
    if (::prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) != 0) throw_errno("connection child", "prctl(PR_SET_PDEATHSIG)");
#endif
    if (::getppid() != monitor) ::_exit(1);
}

} // namespace

int network_child_main()
{
    ::signal(SIGPIPE, SIG_IGN);
    // Its only log is the pipe to its monitor (fd 2), whatever the
    // listener logs to: no syslog socket, and the monitor marks the lines.
    log::Options opts;
    opts.to_stderr = true;
    opts.ident = "feth-sshd-net";
    log::configure(opts);
    Peer peer;
    try {
        NetworkSetup setup = recv_network_setup(kNetworkMonitorFd, "network program: setup from the monitor");
        opts.level = setup.log_level;
        log::configure(opts);
        peer = setup.peer;
        const pid_t monitor = ::getppid();
        die_with_monitor(monitor);
        init_libssh();
        const config::ServerConfig cfg = parse_config(setup.config);
        BindPtr bind = make_bind(setup.host_public_keys, cfg);
        // Only a child forked without exec (the hostile-child tests) can
        // have the table; the network program never maps it.
        unmap_status_table();
        drop_privileges(setup.identity);
        // Again: changing the uid cleared PR_SET_PDEATHSIG.
        die_with_monitor(monitor);
        // What the pump asks its devices later (their MTU) needs a
        // socket, which the sandbox will not let it open.
        prepare_device_queries();
        // Last: from here on the child can do nothing but its job
        // (sandbox.hpp), whatever serve_connection turns out to be.
        enter_sandbox(kNetworkMonitorFd);
        MonitorClient client{UniqueFd(kNetworkMonitorFd)};
        const int status = serve_connection(cfg, bind.get(), kNetworkSocketFd, peer, client);
        std::fflush(nullptr);
        return status;
    } catch (const std::exception& e) {
        LOG_ERROR("connection from %s port %u: %s", peer.address.c_str(), peer.port, e.what());
        std::fflush(nullptr);
        return 1;
    }
}

} // namespace feth::server
