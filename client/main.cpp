// feth-ssh: the tunnel client. Its real command line arrives with the client
// work; until then it says so instead of pretending.
#include <cstdio>

int main()
{
    std::fprintf(stderr, "feth-ssh: the client is not implemented yet; use stock ssh -w against feth-sshd.\n");
    return 255;
}
