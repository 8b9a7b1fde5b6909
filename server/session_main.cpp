// feth-sshd-session: one connection's root monitor, started by the listener
// (fork and exec, as sshd starts sshd-session) with the descriptors
// handover.hpp names. It reads its SessionSetup, loads the host keys from
// the text the listener read, and runs the monitor (privsep.hpp), which
// starts the network program. Its exit status tells the listener how the
// connection ended (source_limits.hpp).
#include <fcntl.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>

#include "handover.hpp"
#include "host_keys.hpp"
#include "privsep.hpp"
#include "source_limits.hpp"
#include "ssh_bind_setup.hpp"
#include "status.hpp"
#include "base/error.hpp"
#include "base/fd.hpp"
#include "base/log.hpp"

namespace {

// The client's socket, off fds 0 and 1 (the monitor never reads the
// peer's bytes; its stdio is /dev/null).
feth::UniqueFd take_client_socket()
{
    feth::UniqueFd conn(::fcntl(0, F_DUPFD_CLOEXEC, 3));
    if (!conn) feth::throw_errno("session program", "fcntl(F_DUPFD)");
    feth::UniqueFd null(::open("/dev/null", O_RDWR | O_CLOEXEC));
    if (!null || ::dup2(null.get(), 0) < 0 || ::dup2(null.get(), 1) < 0)
        feth::throw_errno("session program: /dev/null", "dup2");
    return conn;
}

} // namespace

int main()
{
    using namespace feth::server;
    ::signal(SIGPIPE, SIG_IGN);
    feth::log::Options opts;
    opts.ident = "feth-sshd";
    opts.to_stderr = true; // until the setup says where
    feth::log::configure(opts);
    try {
        SessionSetup setup = recv_session_setup(kSessionSetupFd, "session program: setup from the listener");
        ::close(kSessionSetupFd);
        opts.level = setup.log.level;
        opts.to_stderr = setup.log.to_stderr;
        feth::log::configure(opts);
        init_libssh();
        feth::UniqueFd startup(kSessionStartupFd);
        if (setup.status_table) attach_status_table(feth::UniqueFd(kSessionStatusFd));
        else ::close(kSessionStatusFd);
        const feth::config::ServerConfig cfg = parse_config(setup.config);
        HostKeys keys = HostKeys::from_texts(std::move(setup.host_keys));
        feth::UniqueFd conn = take_client_socket();
        NetworkLaunch launch{setup.config, setup.network_program};
        const int status =
            run_monitor(cfg, keys, std::move(conn), setup.peer, setup.identity, std::move(startup), launch);
        std::fflush(nullptr);
        return status;
    } catch (const std::exception& e) {
        LOG_ERROR("connection process: %s", e.what());
        return kExitError;
    }
}
