// feth-sshd-net: the unprivileged network program of one connection
// (network_child.hpp). Started by its monitor only.
#include <unistd.h>

#include <cstdio>

#include "network_child.hpp"

int main()
{
    const int status = feth::server::network_child_main();
    // _exit, as the forked child always did, not a return into exit(): the
    // sandbox is still on, and what exit() may run (a sanitizer's leak
    // check at exit calls prctl and ptrace) is outside it, so the monitor
    // would see its child killed by SIGSYS after a clean session.
    std::fflush(nullptr);
    ::_exit(status);
}
