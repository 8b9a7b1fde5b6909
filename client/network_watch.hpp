// Network change under a live tunnel: an address or a route of the system
// came or went (another Wi-Fi, a cable, a VPN, a wake from sleep that
// renewed the lease). The client then probes its connection at once with a
// keepalive and a short deadline, instead of waiting for ServerAlive* or
// TCP, and reconnects over a new TCP connection if the server does not
// answer; while it waits to reconnect, a change ends the wait.
//
// One interface, one file per platform (feth_platform_sources):
// network_watch_linux.cpp (rtnetlink address and route groups),
// network_watch_darwin.cpp (the routing socket, as "route -n monitor").
#pragma once

#include <memory>
#include <string>

namespace feth::client {

class NetworkWatch {
public:
    virtual ~NetworkWatch() = default;
    // Readable when the system has something to say.
    virtual int fd() const = 0;
    // Reads all that is pending; true when an address or a route changed on
    // an interface other than `ignored_interface` (the tunnel's own, whose
    // hooks add addresses and routes).
    virtual bool changed() = 0;
};

// nullptr when the system will not tell (the reason is logged): keepalives
// are then the only check.
std::unique_ptr<NetworkWatch> open_network_watch(const std::string& ignored_interface);

} // namespace feth::client
