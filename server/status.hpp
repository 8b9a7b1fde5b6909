// What `feth-sshd -S` shows: one line per live tunnel. The listener maps a
// table of slots shared with every process it forks; a connection process
// fills one slot per tunnel from its pump's counters after each wake-up
// (plain memory writes: no syscall, no extra wake-up), and the listener
// answers status requests on a root-only unix socket by reading the table.
// A connection process can only ever write wrong numbers into the table,
// so what it holds is printed escaped and treated as display data only.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "tunnel/fd.hpp"
#include "tunnel/pump.hpp"

namespace feth::server {

struct TunnelStatus {
    std::string user, remote_address, interface, io_interface, mode;
    unsigned remote_port = 0;
    std::int64_t started = 0; // unix seconds
    PumpStats stats;
};

// The listener creates the table once, before it forks anything.
void create_status_table();

// A connection process's claim on one slot, released when destroyed.
class StatusSlot {
public:
    StatusSlot(const std::string& user, const std::string& remote_address, unsigned remote_port,
               const Device& device);
    ~StatusSlot();
    StatusSlot(const StatusSlot&) = delete;
    StatusSlot& operator=(const StatusSlot&) = delete;
    void update(const PumpStats& stats);

private:
    int index_ = -1;
};

// Listener side: the root-only socket, and one answer per connection.
UniqueFd open_status_socket(const std::string& path);
void answer_status_request(int listen_fd);

// `feth-sshd -S`: asks the running server and prints its answer.
int print_status(const std::string& socket_path, bool json);

// For tests: the text and JSON renderings of a list of tunnels.
std::string render_status(const std::vector<TunnelStatus>& tunnels, bool json, std::int64_t now);

} // namespace feth::server
