// Network change under a live tunnel: an address or a route of the system
// came or went (another Wi-Fi, a cable, a VPN, a wake from sleep that
// renewed the lease). The client then probes its connection at once with a
// keepalive and a short deadline, instead of waiting for ServerAlive* or
// TCP, and reconnects over a new TCP connection if the server does not
// answer; while it waits to reconnect, a change ends the wait.
//
// Reading the socket is the same everywhere (network_watch.cpp); opening
// it and reading its messages is one file per platform
// (feth_platform_sources): network_watch_linux.cpp (rtnetlink address and
// route groups), network_watch_darwin.cpp (SystemConfiguration's dynamic
// store and IOKit's wake notification, delivered on a dispatch queue as
// datagrams on a socket pair, so that the event loop polls a descriptor
// there too).
#pragma once

#include <array>
#include <cstddef>
#include <memory>
#include <string>

#include "base/fd.hpp"

namespace feth::client {

class NetworkWatch {
public:
    // What writes to the other end of the socket, where the kernel does not
    // (macOS: the notifications' callbacks). It is stopped before the socket
    // is closed.
    class Feed {
    public:
        virtual ~Feed() = default;
    };

    NetworkWatch(UniqueFd fd, std::string ignored_interface, std::unique_ptr<Feed> feed = nullptr);
    // Readable when the system has something to say.
    int fd() const { return fd_.get(); }
    // Reads all that is pending; true when an address or a route changed on
    // an interface other than `ignored_interface` (the tunnel's own, whose
    // hooks add addresses and routes), or when the kernel dropped messages.
    bool changed();

private:
    UniqueFd fd_;
    std::string ignored_;
    std::unique_ptr<Feed> feed_; // after fd_: destroyed before it
    alignas(8) std::array<char, 16384> buf_{};
};

// Per platform: whether one read of the socket (`len` bytes) tells of a
// change on an interface other than `own` (0: none to ignore). Messages
// that are short, foreign or not about addresses and routes are skipped.
// (macOS: the notifications' callbacks have decided already, by the
// interface's name, and write only changes; each read is one.)
bool tells_of_change(const char* data, std::size_t len, unsigned own);

// nullptr when the system will not tell (the reason is logged): keepalives
// are then the only check.
std::unique_ptr<NetworkWatch> open_network_watch(const std::string& ignored_interface);

} // namespace feth::client
