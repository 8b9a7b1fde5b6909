// feth-sshd-net: the unprivileged network program of one connection
// (network_child.hpp). Started by its monitor only.
#include "network_child.hpp"

int main()
{
    return feth::server::network_child_main();
}
